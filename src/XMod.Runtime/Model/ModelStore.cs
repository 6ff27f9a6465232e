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
    public static XModModel Load(string dir, IReadOnlyCollection<string>? languages = null)
    {
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
        var trunk = ReadTensors(Path.Combine(dir, TrunkFile));
        var modules = new Dictionary<string, IReadOnlyDictionary<string, Tensor>>(StringComparer.Ordinal);
        try
        {
            foreach (var key in keys)
            {
                var file = ModuleFile(dir, key);
                if (!File.Exists(file))
                {
                    throw new XModException($"{dir} has no module for '{key}' ({file} is missing)");
                }
                modules[key] = ReadTensors(file);
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
    public static XModModel LoadTrunk(string dir)
    {
        var config = XModConfig.Load(Path.Combine(dir, ConfigFile));
        var trunk = ReadTensors(Path.Combine(dir, TrunkFile));
        try
        {
            return XModModel.FromTensors(config with { Languages = config.SharedModule ? config.Languages : [] }, trunk,
                config.SharedModule ? new Dictionary<string, IReadOnlyDictionary<string, Tensor>> { [XModConfig.SharedModuleName] = ReadTensors(ModuleFile(dir, XModConfig.SharedModuleName)) }
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
    public static LanguageModule LoadModule(string file, XModConfig config, string key)
    {
        var tensors = ReadTensors(file);
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
        return new LanguageModule(key, tensors.ToDictionary(kv => kv.Key, kv => kv.Value.AsParameter(), StringComparer.Ordinal), config.NumLayers);
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

    /// <summary>Every tensor of a safetensors file, copied out of the mapping (the caller owns them).</summary>
    public static Dictionary<string, Tensor> ReadTensors(string file)
    {
        if (!File.Exists(file))
        {
            throw new XModException($"{file} does not exist");
        }
        using var st = SafeTensorsFile.Open(file);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var info in st.Tensors)
        {
            result[info.Name] = Tensor.FromBytes(st.Data(info.Name), FromSafeTensors(info.DType), info.Shape).DetachFromScope();
        }
        return result;
    }

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
