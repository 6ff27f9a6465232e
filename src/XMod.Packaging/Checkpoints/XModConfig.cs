using System.Text.Json;
using System.Text.Json.Serialization;

namespace XMod.Packaging.Checkpoints;

/// <summary>
/// The X-MOD architecture, with the field names and defaults of Hugging Face's XmodConfig so that
/// config.json files of released checkpoints (facebook/xmod-base) read and write unchanged; a
/// missing field means what it means to transformers (so the defaults are XmodConfig's, not
/// xmod-base's: use the "base" preset for those). Fields prefixed <c>xmod_</c> are this project's.
/// </summary>
public sealed record XModConfig
{
    [JsonPropertyName("model_type")] public string ModelType { get; init; } = "xmod";
    [JsonPropertyName("architectures")] public IReadOnlyList<string> Architectures { get; init; } = ["XmodForMaskedLM"];
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 30522;
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; } = 768;
    [JsonPropertyName("num_hidden_layers")] public int NumLayers { get; init; } = 12;
    [JsonPropertyName("num_attention_heads")] public int NumHeads { get; init; } = 12;
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; init; } = 3072;
    /// <summary>Only "gelu" (exact, erf) is supported, as in every released X-MOD model.</summary>
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; init; } = "gelu";
    [JsonPropertyName("hidden_dropout_prob")] public double HiddenDropout { get; init; } = 0.1;
    [JsonPropertyName("attention_probs_dropout_prob")] public double AttentionDropout { get; init; } = 0.1;
    /// <summary>Positions start at pad_token_id + 1, so sequences hold at most this minus 2 tokens.</summary>
    [JsonPropertyName("max_position_embeddings")] public int MaxPositions { get; init; } = 512;
    [JsonPropertyName("type_vocab_size")] public int TypeVocabSize { get; init; } = 2;
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; init; } = 0.02;
    [JsonPropertyName("layer_norm_eps")] public double LayerNormEps { get; init; } = 1e-12;
    [JsonPropertyName("pad_token_id")] public int PadTokenId { get; init; } = 1;
    [JsonPropertyName("bos_token_id")] public int BosTokenId { get; init; } = 0;
    [JsonPropertyName("eos_token_id")] public int EosTokenId { get; init; } = 2;
    [JsonPropertyName("pre_norm")] public bool PreNorm { get; init; }
    /// <summary>Bottleneck size B = hidden_size / adapter_reduction_factor.</summary>
    [JsonPropertyName("adapter_reduction_factor")] public int AdapterReductionFactor { get; init; } = 2;
    [JsonPropertyName("adapter_layer_norm")] public bool AdapterLayerNorm { get; init; }
    [JsonPropertyName("adapter_reuse_layer_norm")] public bool AdapterReuseLayerNorm { get; init; } = true;
    [JsonPropertyName("ln_before_adapter")] public bool LnBeforeAdapter { get; init; } = true;
    /// <summary>Ordered: a language id is an index into this list.</summary>
    [JsonPropertyName("languages")] public IReadOnlyList<string> Languages { get; init; } = ["en_XX"];
    [JsonPropertyName("default_language")] public string? DefaultLanguage { get; init; }

    /// <summary>
    /// The paper's SHARED baseline (section 4.1): one module, named <see cref="SharedModuleName"/>,
    /// serves every language, at the same FLOPs as X-MOD.
    /// </summary>
    [JsonPropertyName("xmod_shared_module")] public bool SharedModule { get; init; }

    /// <summary>The &lt;mask&gt; token id (the last id in XLM-R's and our vocabularies).</summary>
    [JsonPropertyName("xmod_mask_token_id")] public int? MaskTokenId { get; init; }

    public const string SharedModuleName = "shared";

    [JsonIgnore] public int BottleneckSize => HiddenSize / AdapterReductionFactor;

    [JsonIgnore] public int HeadSize => HiddenSize / NumHeads;

    [JsonIgnore] public int MaxSequenceLength => MaxPositions - PadTokenId - 1;

    /// <summary>The module keys the checkpoint holds: one per language, or the shared one.</summary>
    [JsonIgnore] public IReadOnlyList<string> ModuleKeys => SharedModule ? [SharedModuleName] : Languages;

    public string ModuleKeyFor(string language) => SharedModule ? SharedModuleName : language;

    /// <summary>
    /// Checks invariants, naming the values that break them. A trunk opened before any language
    /// is loaded (the runtime's case) has no languages yet: <paramref name="requireLanguages"/> false.
    /// </summary>
    public XModConfig Validate(bool requireLanguages = true)
    {
        void Require(bool ok, string message)
        {
            if (!ok)
            {
                throw new PackagingException($"invalid X-MOD config: {message}");
            }
        }
        Require(HiddenSize > 0 && NumLayers > 0 && NumHeads > 0 && IntermediateSize > 0 && VocabSize > 0,
            $"sizes must be positive (hidden {HiddenSize}, layers {NumLayers}, heads {NumHeads}, intermediate {IntermediateSize}, vocab {VocabSize})");
        Require(HiddenSize % NumHeads == 0, $"hidden {HiddenSize} is not divisible by {NumHeads} heads");
        Require(AdapterReductionFactor > 0 && HiddenSize % AdapterReductionFactor == 0,
            $"hidden {HiddenSize} is not divisible by adapter_reduction_factor {AdapterReductionFactor}");
        Require(HiddenAct == "gelu", $"hidden_act '{HiddenAct}' is not supported (X-MOD uses gelu)");
        Require(HiddenDropout is >= 0 and < 1 && AttentionDropout is >= 0 and < 1, "dropout probabilities must lie in [0, 1)");
        Require(TypeVocabSize >= 1, $"type_vocab_size {TypeVocabSize} must be at least 1");
        Require(PadTokenId >= 0 && PadTokenId < VocabSize, $"pad_token_id {PadTokenId} is outside the vocabulary of {VocabSize}");
        Require(MaxPositions > PadTokenId + 2, $"max_position_embeddings {MaxPositions} leaves no room after padding_idx {PadTokenId}");
        Require(Languages.Count > 0 || !requireLanguages, "languages is empty");
        Require(Languages.Distinct(StringComparer.Ordinal).Count() == Languages.Count, "languages has duplicates");
        Require(!Languages.Contains(SharedModuleName) || SharedModule, $"'{SharedModuleName}' is reserved for the SHARED baseline's module");
        Require(DefaultLanguage is null || Languages.Contains(DefaultLanguage), $"default_language '{DefaultLanguage}' is not among the languages");
        Require(MaskTokenId is null || (MaskTokenId >= 0 && MaskTokenId < VocabSize), $"mask token {MaskTokenId} is outside the vocabulary of {VocabSize}");
        if (PreNorm)
        {
            Require(AdapterLayerNorm || AdapterReuseLayerNorm || !LnBeforeAdapter, "a pre-norm model needs adapter_layer_norm");
        }
        return this;
    }

    // ---- presets (name -> factory; duplicates rejected) ---------------------------------------

    private static readonly Dictionary<string, Func<XModConfig>> s_presets = new(StringComparer.Ordinal);

    /// <summary>The paper's base model as released (facebook/xmod-base): 12 x 768, FFN 3072, bottleneck 384.</summary>
    private static XModConfig XModBase() => new()
    {
        VocabSize = 250002, MaxPositions = 514, TypeVocabSize = 1, LayerNormEps = 1e-5, MaskTokenId = 250001,
    };

    static XModConfig()
    {
        RegisterPreset("nano", () => XModBase() with
        {
            HiddenSize = 32, NumLayers = 2, NumHeads = 2, IntermediateSize = 64, MaxPositions = 130, VocabSize = 1000, MaskTokenId = null,
        });
        RegisterPreset("mini", () => XModBase() with
        {
            HiddenSize = 256, NumLayers = 4, NumHeads = 4, IntermediateSize = 1024, MaxPositions = 258, VocabSize = 16000, MaskTokenId = null,
        });
        // Capacity-starved on purpose: where the curse of multilinguality shows at small scale (xmod-hub study).
        RegisterPreset("study", () => XModBase() with
        {
            HiddenSize = 128, NumLayers = 2, NumHeads = 4, IntermediateSize = 512, MaxPositions = 66, VocabSize = 8000, MaskTokenId = null,
        });
        RegisterPreset("base", XModBase);
        RegisterPreset("large-prenorm", () => XModBase() with
        {
            HiddenSize = 1024, NumLayers = 24, NumHeads = 16, IntermediateSize = 4096, PreNorm = true,
            AdapterLayerNorm = true, AdapterReuseLayerNorm = false, LnBeforeAdapter = false, AdapterReductionFactor = 4,
        });
    }

    public static void RegisterPreset(string name, Func<XModConfig> factory)
    {
        if (!s_presets.TryAdd(name, factory))
        {
            throw new InvalidOperationException($"preset '{name}' is registered twice");
        }
    }

    public static IReadOnlyCollection<string> PresetNames => s_presets.Keys;

    public static XModConfig Preset(string name) =>
        s_presets.TryGetValue(name, out var f) ? f()
        : throw new XModException($"unknown preset '{name}': use one of {string.Join(", ", s_presets.Keys)}");

    // ---- config.json ----------------------------------------------------------------------------

    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static XModConfig Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new XModException($"{path} does not exist");
        }
        try
        {
            return (JsonSerializer.Deserialize<XModConfig>(File.ReadAllText(path), s_json)
                ?? throw new XModException($"{path} is empty")).Validate();
        }
        catch (JsonException e)
        {
            throw new XModException($"{path} is not a valid X-MOD config: {e.Message}");
        }
    }

    public void Save(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, s_json) + "\n");
}
