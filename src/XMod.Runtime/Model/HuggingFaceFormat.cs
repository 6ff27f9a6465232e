using XMod.Packaging;
using XMod.Packaging.Checkpoints;
using XMod.Runtime.Formats;
using XMod.Runtime.Tokenization;
using XMod.Tensors;
using XMod.Tensors.SentencePiece;

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

    /// <summary>
    /// Imports <paramref name="hfDir"/> into a model directory (see <see cref="ModelStore"/>): a Hugging
    /// Face folder, or fairseq's release (model.pt, dict.txt, sentencepiece.bpe.model; no config.json).
    /// </summary>
    public static (XModConfig Config, bool HasTokenizer) Import(string hfDir, string outDir)
    {
        XModTokenizer? tokenizer;
        using var model = FairseqFormat.IsFairseqFolder(hfDir) ? FairseqFormat.Read(hfDir, out tokenizer) : Read(hfDir, out tokenizer);
        using (tokenizer)
        {
            ModelStore.Save(model, tokenizer, outDir);
            return (model.Config, tokenizer is not null);
        }
    }

    /// <summary>
    /// Reads a Hugging Face folder. Every key of its weights must be a parameter the config
    /// implies (or a known buffer, or a tied duplicate equal to its twin), every parameter must be
    /// present with its shape; the first problem is named and nothing is loaded. The weights may be
    /// model.safetensors, pytorch_model.bin (read without unpickling) or either sharded; the
    /// tokenizer sentencepiece.bpe.model or tokenizer.json.
    /// </summary>
    public static XModModel Read(string hfDir, out XModTokenizer? tokenizer)
    {
        if (!Directory.Exists(hfDir))
        {
            throw new XModException($"{hfDir} does not exist");
        }
        if (!CheckpointWeights.Candidates.Any(c => File.Exists(Path.Combine(hfDir, c))))
        {
            throw new XModException($"{hfDir} has no {WeightsFile} (nor {string.Join(", ", CheckpointWeights.Candidates.Skip(1))})");
        }
        var config = XModConfig.Load(Path.Combine(hfDir, ModelStore.ConfigFile));
        tokenizer = ReadTokenizer(hfDir, ref config);
        try
        {
            using var weights = CheckpointWeights.OpenFolder(hfDir);
            return FromWeights(config, weights);
        }
        catch
        {
            tokenizer?.Dispose();
            tokenizer = null;
            throw;
        }
    }

    /// <summary>The folder's tokenizer (ours, sentencepiece.bpe.model or tokenizer.json), checked against config.json.</summary>
    internal static XModTokenizer? ReadTokenizer(string dir, ref XModConfig config)
    {
        XModTokenizer? tokenizer = null;
        var spmPath = Path.Combine(dir, XlmRTokenizerFile);
        var jsonPath = Path.Combine(dir, HfTokenizerFiles.TokenizerJson);
        if (File.Exists(Path.Combine(dir, XModTokenizer.MetadataFile)))
        {
            tokenizer = XModTokenizer.Load(dir); // exported by XModHub with its own vocabulary
        }
        else if (File.Exists(spmPath) || File.Exists(jsonPath))
        {
            // Both are untrusted: the charsmap is checked before the native normalizer sees it.
            var source = File.Exists(spmPath) ? spmPath : jsonPath;
            var bytes = File.Exists(spmPath) ? File.ReadAllBytes(spmPath) : HfTokenizerFiles.SentencePieceFromTokenizerJson(jsonPath);
            var proto = SentencePieceProto.Parse(bytes);
            if (proto.NormalizerBytes(SentencePieceProto.CharsMapField) is { Length: > 0 } charsMap)
            {
                HfTokenizerFiles.ValidateCharsMap(charsMap, source);
            }
            tokenizer = XModTokenizer.FromModel(SentencePieceModel.FromBytes(bytes), TokenIdScheme.XlmR, XlmRTokenizerFile);
            if (tokenizer.VocabSize != config.VocabSize)
            {
                var (v, t) = (config.VocabSize, tokenizer.VocabSize);
                tokenizer.Dispose();
                throw new XModException($"{source} gives a vocabulary of {t}, config.json says {v}");
            }
        }
        if (tokenizer is not null)
        {
            config = config with { MaskTokenId = tokenizer.MaskId };
        }
        return tokenizer;
    }

    /// <summary>An X-MOD model from checkpoint weights under Hugging Face's names, checked strictly against the config.</summary>
    internal static XModModel FromWeights(XModConfig config, ICheckpointWeights st)
    {
        var weights = st.Source;
        CheckNames(config, st, weights);
        var trunk = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var modules = new Dictionary<string, Dictionary<string, Tensor>>(StringComparer.Ordinal);
        try
        {
            foreach (var name in st.Names.Order(StringComparer.Ordinal))
            {
                if (XModLayout.IgnoredBuffers.Contains(name) || XModLayout.TiedDuplicates.ContainsKey(name))
                {
                    continue;
                }
                var tensor = Read(st, name);
                if (XModLayout.ModuleKeyOf(name) is { } key)
                {
                    if (!modules.TryGetValue(key, out var m))
                    {
                        modules[key] = m = new Dictionary<string, Tensor>(StringComparer.Ordinal);
                    }
                    m[name] = tensor;
                }
                else
                {
                    trunk[name] = tensor;
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

    private static Tensor Read(ICheckpointWeights st, string name)
    {
        var (dtype, shape) = st.Info(name);
        return AsFloat32(Tensor.FromBytes(st.Data(name), ModelStore.FromSafeTensors(dtype), shape));
    }

    /// <summary>Names and shapes from the header alone, before any data is copied.</summary>
    private static void CheckNames(XModConfig config, ICheckpointWeights st, string source)
    {
        var expected = XModLayout.Trunk(config).Concat(config.ModuleKeys.SelectMany(k => XModLayout.Module(config, k)))
            .ToDictionary(s => s.Name, StringComparer.Ordinal);
        foreach (var spec in expected.Values)
        {
            if (!st.Contains(spec.Name))
            {
                throw new XModException($"{source}: missing tensor {spec.Name} {spec.ShapeString}");
            }
            var shape = st.Info(spec.Name).Shape;
            if (!shape.SequenceEqual(spec.Shape))
            {
                throw new XModException($"{source}: tensor {spec.Name} has shape {CheckpointWeights.ShapeString(shape)}, config.json needs {spec.ShapeString}");
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
                    throw new XModException($"{source}: {name} {CheckpointWeights.ShapeString(st.Info(name).Shape)} should be tied to {twin} {CheckpointWeights.ShapeString(st.Info(twin).Shape)}");
                }
                continue;
            }
            var key = XModLayout.ModuleKeyOf(name);
            throw new XModException(key is not null && !config.ModuleKeys.Contains(key)
                ? $"{source}: tensor {name} belongs to language '{key}', which config.json does not list"
                : $"{source}: unexpected tensor {name}");
        }
    }

    private static void CheckTiedDuplicates(ICheckpointWeights st, Dictionary<string, Tensor> trunk, string source)
    {
        foreach (var (name, twin) in XModLayout.TiedDuplicates)
        {
            if (!st.Contains(name))
            {
                continue;
            }
            using var scope = DisposeScope.Begin();
            var copy = Read(st, name);
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

    /// <summary>
    /// Writes a Hugging Face folder that transformers loads as it is: config.json,
    /// model.safetensors and, with a tokenizer, sentencepiece.bpe.model in XLM-R's layout (our
    /// fairseq-layout vocabularies are rewritten into it, keeping every model id),
    /// tokenizer_config.json and special_tokens_map.json.
    /// </summary>
    public static void Export(XModModel model, XModTokenizer? tokenizer, string outDir)
    {
        Directory.CreateDirectory(outDir);
        model.Config.Save(Path.Combine(outDir, ModelStore.ConfigFile));
        ModelStore.WriteTensors(Path.Combine(outDir, WeightsFile), model.NamedParameters, new Dictionary<string, string> { ["format"] = "pt" });
        if (tokenizer is null)
        {
            return;
        }
        var spm = tokenizer.Scheme == TokenIdScheme.XlmR ? tokenizer.Spm.ToBytes() : HfTokenizerFiles.ToXlmRLayout(tokenizer.Spm.ToBytes());
        AtomicFile.WriteAllBytes(Path.Combine(outDir, XlmRTokenizerFile), spm);
        HfTokenizerFiles.WriteConfigs(outDir, model.Config.MaxSequenceLength);
    }
}
