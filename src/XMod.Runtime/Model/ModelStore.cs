using XMod.Packaging.Checkpoints;
using XMod.Packaging.SafeTensors;
using XMod.Runtime.Tokenization;
using XMod.Tensors;

namespace XMod.Runtime.Model;

/// <summary>
/// The on-disk layout of a model: the trunk ships once, each language separately.
/// <code>
/// DIR/config.json                 XmodConfig (Hugging Face fields)
/// DIR/trunk.safetensors           every non-module tensor, Hugging Face names
/// DIR/modules/{lang}.safetensors  one language's modules, Hugging Face names
/// DIR/tokenizer/                  the SentencePiece model and its id scheme
/// </code>
/// </summary>
public static class ModelStore
{
    public const string ConfigFile = ModelFiles.Config;
    public const string TrunkFile = ModelFiles.Trunk;
    public const string ModulesDir = ModelFiles.ModulesDir;
    public const string TokenizerDir = ModelFiles.TokenizerDir;

    public static string ModuleFile(string dir, string key) => ModelFiles.Module(dir, key);

    /// <summary>
    /// Writes the model (and tokenizer) into <paramref name="dir"/>, replacing what was there only
    /// once everything is written: a crash leaves the previous model intact.
    /// </summary>
    public static void Save(XModModel model, XModTokenizer? tokenizer, string dir)
    {
        if (model.LoadsOnDemand && model.Config.ModuleKeys.Any(k => !model.Modules.ContainsKey(k)))
        {
            throw new XModException("this model loads its languages on demand and has not loaded them all: open it with ModelLoadOptions.Default to save it");
        }
        var full = Path.GetFullPath(dir);
        var parent = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(parent);
        var temp = Path.Combine(parent, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(temp);
            model.Config.Save(Path.Combine(temp, ConfigFile));
            WriteTensors(Path.Combine(temp, TrunkFile), model.Trunk.OrderBy(kv => kv.Key, StringComparer.Ordinal), new Dictionary<string, string> { ["format"] = "xmod-trunk" });
            foreach (var m in model.Modules.Values)
            {
                SaveModule(m, ModuleFile(temp, m.Key));
            }
            tokenizer?.Save(Path.Combine(temp, TokenizerDir));
            ReplaceDirectory(temp, full);
        }
        finally
        {
            if (Directory.Exists(temp))
            {
                Directory.Delete(temp, recursive: true);
            }
        }
    }

    /// <summary>Swaps a fully written directory into place (the old one is removed afterwards).</summary>
    public static void ReplaceDirectory(string written, string target)
    {
        string? old = null;
        if (Directory.Exists(target))
        {
            old = target + $".old-{Guid.NewGuid():N}";
            Directory.Move(target, old);
        }
        Directory.Move(written, target);
        if (old is not null)
        {
            Directory.Delete(old, recursive: true);
        }
    }

    public static void SaveModule(LanguageModule module, string file) =>
        WriteTensors(file, module.Tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal),
            new Dictionary<string, string> { ["format"] = "xmod-module", ["language"] = module.Key });

    /// <summary>Loads config, trunk and the modules of <paramref name="languages"/> (all by default).</summary>
    /// <param name="options">How weights are loaded (default: read into memory, every module now).</param>
    public static XModModel Load(string dir, IReadOnlyCollection<string>? languages = null, ModelLoadOptions? options = null)
    {
        options ??= ModelLoadOptions.Default;
        if (!Directory.Exists(dir))
        {
            throw new XModException($"model directory {dir} does not exist");
        }
        var config = XModConfig.Load(Path.Combine(dir, ConfigFile));
        var keys = languages is null ? config.ModuleKeys : languages.Select(config.ModuleKeyFor).Distinct().ToList();
        if (languages is not null)
        {
            config = config with { Languages = config.SharedModule ? config.Languages : [.. languages] };
        }
        foreach (var key in keys)
        {
            if (!File.Exists(ModuleFile(dir, key)))
            {
                throw new XModException($"{dir} has no module for '{key}' ({ModuleFile(dir, key)} is missing)");
            }
        }
        var trunk = LoadWeights(Path.Combine(dir, TrunkFile), options.Map);
        var modules = new Dictionary<string, IReadOnlyDictionary<string, Tensor>>(StringComparer.Ordinal);
        try
        {
            if (options.LazyLanguages && !config.SharedModule)
            {
                // Modules come on first use of their language (and may be evicted again).
                var lazy = XModModel.FromTrunk(config, trunk, dir);
                var mapModules = options.Map;
                lazy.LoadModulesOnDemand(key => LoadModule(ModuleFile(dir, key), config, key, mapModules), options.MaxLoadedLanguages);
                return lazy;
            }
            foreach (var key in keys)
            {
                modules[key] = LoadWeights(ModuleFile(dir, key), options.Map);
            }
            return XModModel.FromTensors(config, trunk, modules, dir);
        }
        catch
        {
            foreach (var t in trunk.Values.Concat(modules.Values.SelectMany(m => m.Values)))
            {
                t.Dispose();
            }
            throw;
        }
    }

    /// <summary>
    /// The trunk alone (config, trunk tensors), with no language loaded yet: languages come from
    /// their own packages (<see cref="LanguagePackages"/>).
    /// </summary>
    public static XModModel LoadTrunk(string dir, ModelLoadOptions? options = null)
    {
        options ??= ModelLoadOptions.Default;
        var config = XModConfig.Load(Path.Combine(dir, ConfigFile));
        var trunk = LoadWeights(Path.Combine(dir, TrunkFile), options.Map);
        try
        {
            return XModModel.FromTensors(config with { Languages = config.SharedModule ? config.Languages : [] }, trunk,
                config.SharedModule ? new Dictionary<string, IReadOnlyDictionary<string, Tensor>> { [XModConfig.SharedModuleName] = LoadWeights(ModuleFile(dir, XModConfig.SharedModuleName), options.Map) }
                    : new Dictionary<string, IReadOnlyDictionary<string, Tensor>>(), dir);
        }
        catch
        {
            foreach (var t in trunk.Values)
            {
                t.Dispose();
            }
            throw;
        }
    }

    /// <summary>Reads one module file for a model with <paramref name="config"/>, checked strictly.</summary>
    public static LanguageModule LoadModule(string file, XModConfig config, string key, bool map = false)
    {
        if (!File.Exists(file))
        {
            throw new XModException($"no module for '{key}': {file} is missing");
        }
        var tensors = LoadWeights(file, map);
        try
        {
            XModModel.CheckExactly(XModLayout.Module(config, key), tensors, file);
        }
        catch
        {
            foreach (var t in tensors.Values)
            {
                t.Dispose();
            }
            throw;
        }
        return new LanguageModule(key, tensors.ToDictionary(kv => kv.Key, kv => kv.Value.AsParameter(requiresGrad: !map), StringComparer.Ordinal), config.NumLayers);
    }

    // ---- safetensors <-> tensors ----------------------------------------------------------

    public static void WriteTensors(string file, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var entries = tensors.Select(kv =>
        {
            var t = kv.Value;
            return new TensorEntry(kv.Key, ToSafeTensors(t.DType), t.Shape, stream =>
            {
                using var scope = DisposeScope.Begin();
                var cpu = t.Device.Type == DeviceType.Cpu ? t.Detach().Contiguous() : t.To(Device.Cpu).Contiguous();
                stream.Write(cpu.DataBytes());
            });
        }).ToList();
        SafeTensorsWriter.Write(file, entries, metadata);
    }

    /// <summary>
    /// The weights of a safetensors file for a model (the caller owns them): float16 and bfloat16
    /// are upcast to float32 (half-precision packages are a download format; every op runs in
    /// float32). With <paramref name="map"/>, tensors stored in their compute dtype at an offset
    /// aligned to their element size are views of a copy-on-write mapping of the file (no copy;
    /// pages are read when touched and shared with the page cache; the mapping goes when the last
    /// of them is freed); the rest are read. Map only files that are never rewritten in place: the
    /// package cache and model directories are written by temp file + rename.
    /// </summary>
    public static Dictionary<string, Tensor> LoadWeights(string file, bool map)
    {
        if (!map)
        {
            return ReadTensors(file, upcastHalf: true);
        }
        if (!File.Exists(file))
        {
            throw new XModException($"{file} does not exist");
        }
        using var st = OpenChecked(file);
        using var mapping = MappedFile.Open(file);
        if (mapping.Length != new FileInfo(file).Length || mapping.Length != st.DataStart + st.Tensors.Sum(t => t.ByteLength))
        {
            throw new XModException($"{file} changed while it was being opened; files that are loaded must not be rewritten in place");
        }
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var info in st.Tensors)
            {
                var dtype = FromSafeTensors(info.DType);
                var offset = st.DataStart + info.Begin;
                result[info.Name] = dtype is DType.Float16 or DType.BFloat16 || offset % dtype.ElementSize() != 0
                    ? Copy(st, info, upcastHalf: true)
                    : mapping.Tensor(offset, dtype, info.Shape).DetachFromScope();
            }
            return result;
        }
        catch
        {
            foreach (var t in result.Values)
            {
                t.Dispose();
            }
            throw;
        }
    }

    /// <summary>Every tensor of a safetensors file, copied out of the mapping (the caller owns them).</summary>
    public static Dictionary<string, Tensor> ReadTensors(string file) => ReadTensors(file, upcastHalf: false);

    private static Dictionary<string, Tensor> ReadTensors(string file, bool upcastHalf)
    {
        if (!File.Exists(file))
        {
            throw new XModException($"{file} does not exist");
        }
        using var st = OpenChecked(file);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var info in st.Tensors)
            {
                result[info.Name] = Copy(st, info, upcastHalf);
            }
            return result;
        }
        catch
        {
            foreach (var t in result.Values)
            {
                t.Dispose();
            }
            throw;
        }
    }

    private static Tensor Copy(SafeTensorsFile st, TensorInfo info, bool upcastHalf)
    {
        var dtype = FromSafeTensors(info.DType);
        var t = Tensor.FromBytes(st.Data(info.Name), dtype, info.Shape).DetachFromScope();
        if (!upcastHalf || dtype is not (DType.Float16 or DType.BFloat16))
        {
            return t;
        }
        using (t)
        {
            return t.To(DType.Float32).DetachFromScope();
        }
    }

    /// <summary>Opens and validates a safetensors file: a hostile header is refused with one line naming the problem.</summary>
    private static SafeTensorsFile OpenChecked(string file) => SafeTensorsFile.Open(file);

    public static SafeTensorsDType ToSafeTensors(DType t) => t switch
    {
        DType.Float32 => SafeTensorsDType.F32,
        DType.Float64 => SafeTensorsDType.F64,
        DType.Float16 => SafeTensorsDType.F16,
        DType.BFloat16 => SafeTensorsDType.BF16,
        DType.Int64 => SafeTensorsDType.I64,
        DType.Int32 => SafeTensorsDType.I32,
        DType.Int16 => SafeTensorsDType.I16,
        DType.Int8 => SafeTensorsDType.I8,
        DType.UInt8 => SafeTensorsDType.U8,
        DType.Bool => SafeTensorsDType.BOOL,
        _ => throw new XModException($"dtype {t} cannot be stored in safetensors"),
    };

    public static DType FromSafeTensors(SafeTensorsDType t) => t switch
    {
        SafeTensorsDType.F32 => DType.Float32,
        SafeTensorsDType.F64 => DType.Float64,
        SafeTensorsDType.F16 => DType.Float16,
        SafeTensorsDType.BF16 => DType.BFloat16,
        SafeTensorsDType.I64 => DType.Int64,
        SafeTensorsDType.I32 => DType.Int32,
        SafeTensorsDType.I16 => DType.Int16,
        SafeTensorsDType.I8 => DType.Int8,
        SafeTensorsDType.U8 => DType.UInt8,
        SafeTensorsDType.BOOL => DType.Bool,
        _ => throw new XModException($"safetensors dtype {t} is not supported"),
    };
}
