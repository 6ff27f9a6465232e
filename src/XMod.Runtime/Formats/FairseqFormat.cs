using System.Text.RegularExpressions;
using XMod.Packaging.Checkpoints;
using XMod.Packaging.PyTorch;
using XMod.Runtime.Model;
using XMod.Runtime.Tokenization;

namespace XMod.Runtime.Formats;

/// <summary>
/// fairseq's own X-MOD release (the xmod.base archive): model.pt, dict.txt, sentencepiece.bpe.model.
/// Only the "model" entry of model.pt is read (see <see cref="TorchCheckpoint.OpenEntry"/>); its
/// fairseq names are mapped to Hugging Face's as transformers' conversion script maps them.
/// </summary>
/// <remarks>
/// The architecture is read from the weights, not from the pickled args/cfg (objects of argparse and
/// omegaconf that only Python could rebuild): sizes from shapes, languages from the adapter names in
/// the order fairseq created them, pre-norm from the final encoder LayerNorm, and the adapter
/// LayerNorm variant of the two released architectures (xmod_base: no adapter LayerNorm, reuse the
/// output one, norm before the adapter; xmod_large_prenorm: its own adapter LayerNorm, norm after).
/// Heads are hidden / 64, as in both released sizes.
/// </remarks>
public static partial class FairseqFormat
{
    public const string CheckpointFile = "model.pt";
    public const string DictFile = "dict.txt";
    public const int HeadSize = 64;

    private const string Enc = "encoder.sentence_encoder.";

    public static bool IsFairseqFolder(string dir) =>
        File.Exists(Path.Combine(dir, CheckpointFile)) && File.Exists(Path.Combine(dir, DictFile)) && !File.Exists(Path.Combine(dir, ModelStore.ConfigFile));

    public static XModModel Read(string dir, out XModTokenizer? tokenizer)
    {
        var path = Path.Combine(dir, CheckpointFile);
        using var checkpoint = TorchCheckpoint.OpenEntry(path, "model");
        var (config, renamed) = Map(checkpoint);
        tokenizer = ReadTokenizer(dir, config);
        try
        {
            using var weights = new TorchWeights(checkpoint, renamed);
            using var zeros = new ZeroTokenTypes(weights, config);
            return HuggingFaceFormat.FromWeights(config with { MaskTokenId = tokenizer?.MaskId }, zeros);
        }
        catch
        {
            tokenizer?.Dispose();
            tokenizer = null;
            throw;
        }
    }

    [GeneratedRegex(@"^encoder\.sentence_encoder\.layers\.(\d+)\.adapter_modules\.([^.]+)\.fc1\.weight$")]
    private static partial Regex AdapterName();

    /// <summary>The config the weights imply and the HF name of every fairseq tensor (buffers dropped).</summary>
    internal static (XModConfig Config, Dictionary<string, string> Renamed) Map(TorchCheckpoint ck)
    {
        long[] Shape(string name) => ck.Contains(name) ? ck.Info(name).Shape
            : throw new XModException($"{ck.Path}: missing tensor {name}; is this a fairseq X-MOD (RoBERTa) checkpoint?");
        var embed = Shape(Enc + "embed_tokens.weight");
        var hidden = (int)embed[1];
        var layers = 0;
        while (ck.Contains($"{Enc}layers.{layers}.fc1.weight"))
        {
            layers++;
        }
        if (layers == 0 || hidden % HeadSize != 0)
        {
            throw new XModException($"{ck.Path}: {layers} layers of width {hidden}: not an X-MOD encoder this importer knows (width a multiple of {HeadSize})");
        }
        var languages = ck.Names.Select(n => AdapterName().Match(n)).Where(m => m.Success && m.Groups[1].Value == "0").Select(m => m.Groups[2].Value).ToList();
        if (languages.Count == 0)
        {
            throw new XModException($"{ck.Path}: no adapter_modules: a RoBERTa/XLM-R checkpoint, not X-MOD");
        }
        var bottleneck = Shape($"{Enc}layers.0.adapter_modules.{languages[0]}.fc1.weight")[0];
        var adapterLn = ck.Contains($"{Enc}layers.0.adapter_layer_norm.weight");
        var preNorm = ck.Contains(Enc + "layer_norm.weight");
        var config = new XModConfig
        {
            VocabSize = (int)embed[0],
            HiddenSize = hidden,
            NumLayers = layers,
            NumHeads = hidden / HeadSize,
            IntermediateSize = (int)Shape($"{Enc}layers.0.fc1.weight")[0],
            MaxPositions = (int)Shape(Enc + "embed_positions.weight")[0],
            TypeVocabSize = 1,
            LayerNormEps = 1e-5, // PyTorch's default, which fairseq uses
            PreNorm = preNorm,
            AdapterReductionFactor = bottleneck > 0 && hidden % bottleneck == 0 ? (int)(hidden / bottleneck) : throw new XModException($"{ck.Path}: adapter width {bottleneck} does not divide {hidden}"),
            AdapterLayerNorm = adapterLn,
            AdapterReuseLayerNorm = !adapterLn,
            LnBeforeAdapter = !adapterLn,
            Languages = languages,
        };

        var map = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [Enc + "embed_tokens.weight"] = XModLayout.WordEmbeddings,
            [Enc + "embed_positions.weight"] = XModLayout.PositionEmbeddings,
            [Enc + "layernorm_embedding.weight"] = "roberta.embeddings.LayerNorm.weight",
            [Enc + "layernorm_embedding.bias"] = "roberta.embeddings.LayerNorm.bias",
            [Enc + "layer_norm.weight"] = "roberta.encoder.LayerNorm.weight",
            [Enc + "layer_norm.bias"] = "roberta.encoder.LayerNorm.bias",
            ["encoder.lm_head.dense.weight"] = "lm_head.dense.weight",
            ["encoder.lm_head.dense.bias"] = "lm_head.dense.bias",
            ["encoder.lm_head.layer_norm.weight"] = "lm_head.layer_norm.weight",
            ["encoder.lm_head.layer_norm.bias"] = "lm_head.layer_norm.bias",
            ["encoder.lm_head.weight"] = "lm_head.decoder.weight", // tied to the embeddings: checked equal
            ["encoder.lm_head.bias"] = XModLayout.LmBias,
        };
        (string From, string To)[] perLayer =
        [
            ("self_attn.q_proj", "attention.self.query"), ("self_attn.k_proj", "attention.self.key"), ("self_attn.v_proj", "attention.self.value"),
            ("self_attn.out_proj", "attention.output.dense"), ("self_attn_layer_norm", "attention.output.LayerNorm"),
            ("fc1", "intermediate.dense"), ("fc2", "output.dense"), ("final_layer_norm", "output.LayerNorm"), ("adapter_layer_norm", "output.adapter_layer_norm"),
        ];
        for (var i = 0; i < layers; i++)
        {
            foreach (var (from, to) in perLayer)
            {
                foreach (var p in new[] { "weight", "bias" })
                {
                    map[$"{Enc}layers.{i}.{from}.{p}"] = $"{XModLayout.Layer(i)}{to}.{p}";
                }
            }
            foreach (var lang in languages)
            {
                foreach (var (from, to) in new[] { ("fc1", "dense1"), ("fc2", "dense2") })
                {
                    foreach (var p in new[] { "weight", "bias" })
                    {
                        map[$"{Enc}layers.{i}.adapter_modules.{lang}.{from}.{p}"] = $"{XModLayout.ModulePrefix(i, lang)}{to}.{p}";
                    }
                }
            }
        }
        var renamed = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in ck.Names)
        {
            if (name.EndsWith(".version", StringComparison.Ordinal) || name.EndsWith("._float_tensor", StringComparison.Ordinal))
            {
                continue; // fairseq's bookkeeping buffers
            }
            // Unknown names keep their fairseq name, so the strict check names them.
            renamed[map.TryGetValue(name, out var hf) ? hf : name] = name;
        }
        return (config.Validate(), renamed);
    }

    /// <summary>
    /// sentencepiece.bpe.model with dict.txt checked against it: fairseq's dictionary (&lt;s&gt;
    /// &lt;pad&gt; &lt;/s&gt; &lt;unk&gt;, dict.txt's pieces, &lt;mask&gt;) must be XLM-R's id layout of that model.
    /// </summary>
    private static XModTokenizer? ReadTokenizer(string dir, XModConfig config)
    {
        var spmPath = Path.Combine(dir, HuggingFaceFormat.XlmRTokenizerFile);
        if (!File.Exists(spmPath))
        {
            return null;
        }
        var c = config;
        var tokenizer = HuggingFaceFormat.ReadTokenizer(dir, ref c);
        if (tokenizer is null)
        {
            return null;
        }
        try
        {
            var dictPath = Path.Combine(dir, DictFile);
            var id = 4;
            foreach (var line in File.ReadLines(dictPath))
            {
                var piece = line.Split(' ', 2)[0];
                if (piece.Length == 0)
                {
                    throw new XModException($"{dictPath}: line {id - 3} has no symbol");
                }
                if (id >= tokenizer.MaskId || tokenizer.PieceOf(id) != piece)
                {
                    if (piece.StartsWith("madeupword", StringComparison.Ordinal) && id >= tokenizer.MaskId)
                    {
                        break; // fairseq pads dictionaries with made-up words; they are not in the vocabulary
                    }
                    throw new XModException($"{dictPath}: line {id - 3} is '{piece}', but {spmPath} gives id {id} to '{(id < tokenizer.MaskId ? tokenizer.PieceOf(id) : "<mask>")}'; the dictionary does not match the SentencePiece model");
                }
                id++;
            }
            if (id != tokenizer.MaskId)
            {
                throw new XModException($"{dictPath}: {id - 4} symbols, the SentencePiece model has {tokenizer.MaskId - 4}");
            }
            return tokenizer;
        }
        catch
        {
            tokenizer.Dispose();
            throw;
        }
    }

    /// <summary>fairseq has no token type embeddings; HF's single row is zeros (as transformers' conversion sets it).</summary>
    private sealed class ZeroTokenTypes(ICheckpointWeights inner, XModConfig config) : ICheckpointWeights
    {
        private const string Name = "roberta.embeddings.token_type_embeddings.weight";
        private readonly byte[] _zeros = new byte[config.TypeVocabSize * config.HiddenSize * sizeof(float)];

        public string Source => inner.Source;

        public IReadOnlyCollection<string> Names => [.. inner.Names, Name];

        public bool Contains(string name) => name == Name || inner.Contains(name);

        public (Packaging.SafeTensors.SafeTensorsDType DType, long[] Shape) Info(string name) =>
            name == Name ? (Packaging.SafeTensors.SafeTensorsDType.F32, [config.TypeVocabSize, config.HiddenSize]) : inner.Info(name);

        public ReadOnlySpan<byte> Data(string name) => name == Name ? _zeros : inner.Data(name);

        public void Dispose()
        {
        }
    }
}
