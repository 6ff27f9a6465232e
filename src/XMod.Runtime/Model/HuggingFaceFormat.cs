using XMod.Tensors.SentencePiece;
using XMod.Packaging;
using XMod.Packaging.Checkpoints;
using XMod.Packaging.SafeTensors;
using XMod.Tensors;
using XMod.Runtime.Tokenization;

namespace XMod.Runtime.Model;

/// <summary>
/// A Hugging Face X-MOD folder (config.json, model.safetensors, sentencepiece.bpe.model), as the
/// released checkpoints (facebook/xmod-base) ship: imported strictly into a trunk plus one module
/// per language, and exported back under the same names.
/// </summary>
public static class HuggingFaceFormat
{
    public const string WeightsFile = "model.safetensors";
    public const string XlmRTokenizerFile = "sentencepiece.bpe.model";

    /// <summary>Imports <paramref name="hfDir"/> into a model directory (see <see cref="ModelStore"/>).</summary>
    public static (XModConfig Config, bool HasTokenizer) Import(string hfDir, string outDir)
    {
        using var model = Read(hfDir, out var tokenizer);
        using (tokenizer)
        {
            ModelStore.Save(model, tokenizer, outDir);
            return (model.Config, tokenizer is not null);
        }
    }

    /// <summary>
    /// Reads a Hugging Face folder. Every key of its weights must be a parameter the config
    /// implies (or a known buffer, or a tied duplicate equal to its twin), every parameter must be
    /// present with its shape; the first problem is named and nothing is loaded.
    /// </summary>
    public static XModModel Read(string hfDir, out XModTokenizer? tokenizer)
    {
        if (!Directory.Exists(hfDir))
        {
            throw new XModException($"{hfDir} does not exist");
        }
        var weights = Path.Combine(hfDir, WeightsFile);
        if (!File.Exists(weights))
        {
            throw new XModException(File.Exists(Path.Combine(hfDir, "pytorch_model.bin"))
                ? $"{hfDir} has only pytorch_model.bin: pickle files can run code and are not read; convert it to {WeightsFile} (safetensors) first"
                : $"{hfDir} has no {WeightsFile}");
        }
        var config = XModConfig.Load(Path.Combine(hfDir, ModelStore.ConfigFile));
        tokenizer = null;
        var spmPath = Path.Combine(hfDir, XlmRTokenizerFile);
        if (File.Exists(Path.Combine(hfDir, XModTokenizer.MetadataFile)))
        {
            tokenizer = XModTokenizer.Load(hfDir); // exported by XModHub with its own vocabulary
            config = config with { MaskTokenId = tokenizer.MaskId };
        }
        else if (File.Exists(spmPath))
        {
            tokenizer = XModTokenizer.FromModel(SentencePieceModel.Load(spmPath), TokenIdScheme.XlmR, XlmRTokenizerFile);
            if (tokenizer.VocabSize != config.VocabSize)
            {
                var (v, t) = (config.VocabSize, tokenizer.VocabSize);
                tokenizer.Dispose();
                throw new XModException($"{spmPath} gives a vocabulary of {t}, config.json says {v}");
            }
            config = config with { MaskTokenId = tokenizer.MaskId };
        }
        try
        {
            using var st = SafeTensorsFile.Open(weights);
            CheckNames(config, st, weights);
            var trunk = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            var modules = new Dictionary<string, Dictionary<string, Tensor>>(StringComparer.Ordinal);
            try
            {
                foreach (var info in st.Tensors)
                {
                    if (XModLayout.IgnoredBuffers.Contains(info.Name) || XModLayout.TiedDuplicates.ContainsKey(info.Name))
                    {
                        continue;
                    }
                    var tensor = AsFloat32(Tensor.FromBytes(st.Data(info.Name), ModelStore.FromSafeTensors(info.DType), info.Shape));
                    if (XModLayout.ModuleKeyOf(info.Name) is { } key)
                    {
                        if (!modules.TryGetValue(key, out var m))
                        {
                            modules[key] = m = new Dictionary<string, Tensor>(StringComparer.Ordinal);
                        }
                        m[info.Name] = tensor;
                    }
                    else
                    {
                        trunk[info.Name] = tensor;
                    }
                }
                CheckTiedDuplicates(st, trunk, weights);
                return XModModel.FromTensors(config, trunk,
                    modules.ToDictionary(kv => kv.Key, kv => (IReadOnlyDictionary<string, Tensor>)kv.Value, StringComparer.Ordinal), weights);
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
        catch
        {
            tokenizer?.Dispose();
            tokenizer = null;
            throw;
        }
    }

    /// <summary>Names and shapes from the header alone, before any data is copied.</summary>
    private static void CheckNames(XModConfig config, SafeTensorsFile st, string source)
    {
        var expected = XModLayout.Trunk(config).Concat(config.ModuleKeys.SelectMany(k => XModLayout.Module(config, k)))
            .ToDictionary(s => s.Name, StringComparer.Ordinal);
        foreach (var spec in expected.Values)
        {
            if (!st.Contains(spec.Name))
            {
                throw new XModException($"{source}: missing tensor {spec.Name} {spec.ShapeString}");
            }
            var info = st.Info(spec.Name);
            if (!info.Shape.SequenceEqual(spec.Shape))
            {
                throw new XModException($"{source}: tensor {spec.Name} has shape {info.ShapeString}, config.json needs {spec.ShapeString}");
            }
        }
        foreach (var name in st.Names.Order(StringComparer.Ordinal))
        {
            if (expected.ContainsKey(name) || XModLayout.IgnoredBuffers.Contains(name))
            {
                continue;
            }
            if (XModLayout.TiedDuplicates.TryGetValue(name, out var twin))
            {
                if (!st.Info(name).Shape.SequenceEqual(st.Info(twin).Shape))
                {
                    throw new XModException($"{source}: {name} {st.Info(name).ShapeString} should be tied to {twin} {st.Info(twin).ShapeString}");
                }
                continue;
            }
            var key = XModLayout.ModuleKeyOf(name);
            throw new XModException(key is not null && !config.ModuleKeys.Contains(key)
                ? $"{source}: tensor {name} belongs to language '{key}', which config.json does not list"
                : $"{source}: unexpected tensor {name}");
        }
    }

    private static void CheckTiedDuplicates(SafeTensorsFile st, Dictionary<string, Tensor> trunk, string source)
    {
        foreach (var (name, twin) in XModLayout.TiedDuplicates)
        {
            if (!st.Contains(name))
            {
                continue;
            }
            using var scope = DisposeScope.Begin();
            var copy = AsFloat32(Tensor.FromBytes(st.Data(name), ModelStore.FromSafeTensors(st.Info(name).DType), st.Info(name).Shape));
            if (!copy.DataBytes().SequenceEqual(trunk[twin].DataBytes()))
            {
                throw new XModException($"{source}: {name} differs from {twin}; X-MOD ties them, so this checkpoint is not an X-MOD MLM");
            }
        }
    }

    private static Tensor AsFloat32(Tensor t)
    {
        if (t.DType == DType.Float32)
        {
            return t;
        }
        using (t)
        {
            return t.To(DType.Float32);
        }
    }

    /// <summary>Writes a Hugging Face folder: config.json, model.safetensors, the tokenizer.</summary>
    public static void Export(XModModel model, XModTokenizer? tokenizer, string outDir)
    {
        Directory.CreateDirectory(outDir);
        model.Config.Save(Path.Combine(outDir, ModelStore.ConfigFile));
        ModelStore.WriteTensors(Path.Combine(outDir, WeightsFile), model.NamedParameters, new Dictionary<string, string> { ["format"] = "pt" });
        if (tokenizer is { Scheme: TokenIdScheme.XlmR })
        {
            AtomicFile.WriteAllBytes(Path.Combine(outDir, XlmRTokenizerFile), tokenizer.Spm.ToBytes());
        }
        else
        {
            tokenizer?.Save(outDir); // our own vocabulary: its id scheme travels with it
        }
    }
}
