namespace XMod.Packaging.Checkpoints;

/// <summary>A parameter the layout expects: its Hugging Face name and shape.</summary>
public sealed record ParameterSpec(string Name, long[] Shape)
{
    public string ShapeString => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>
/// Every parameter an X-MOD config implies, under the Hugging Face XmodForMaskedLM names:
/// the trunk (shared by all languages) and each language's modules. Import, export, package
/// validation and the runtime all check against this one list.
/// </summary>
public static class XModLayout
{
    public const string Embeddings = "roberta.embeddings.";
    public const string WordEmbeddings = "roberta.embeddings.word_embeddings.weight";
    public const string PositionEmbeddings = "roberta.embeddings.position_embeddings.weight";
    public const string TokenTypeEmbeddings = "roberta.embeddings.token_type_embeddings.weight";
    public const string EmbeddingsLayerNormWeight = "roberta.embeddings.LayerNorm.weight";
    public const string EmbeddingsLayerNormBias = "roberta.embeddings.LayerNorm.bias";

    /// <summary>The final encoder LayerNorm of pre-norm models.</summary>
    public const string EncoderLayerNormWeight = "roberta.encoder.LayerNorm.weight";
    public const string EncoderLayerNormBias = "roberta.encoder.LayerNorm.bias";

    public const string LmHeadDenseWeight = "lm_head.dense.weight";
    public const string LmHeadDenseBias = "lm_head.dense.bias";
    public const string LmHeadLayerNormWeight = "lm_head.layer_norm.weight";
    public const string LmHeadLayerNormBias = "lm_head.layer_norm.bias";

    public static string Layer(int i) => $"roberta.encoder.layer.{i}.";

    public static string ModulePrefix(int layer, string key) => $"{Layer(layer)}output.adapter_modules.{key}.";

    /// <summary>The trunk parameter names of encoder layer <paramref name="Index"/>.</summary>
    public sealed record LayerNames(int Index)
    {
        private string P => Layer(Index);
        public string QueryWeight => P + "attention.self.query.weight";
        public string QueryBias => P + "attention.self.query.bias";
        public string KeyWeight => P + "attention.self.key.weight";
        public string KeyBias => P + "attention.self.key.bias";
        public string ValueWeight => P + "attention.self.value.weight";
        public string ValueBias => P + "attention.self.value.bias";
        public string AttentionOutputWeight => P + "attention.output.dense.weight";
        public string AttentionOutputBias => P + "attention.output.dense.bias";
        public string AttentionLayerNormWeight => P + "attention.output.LayerNorm.weight";
        public string AttentionLayerNormBias => P + "attention.output.LayerNorm.bias";
        public string IntermediateWeight => P + "intermediate.dense.weight";
        public string IntermediateBias => P + "intermediate.dense.bias";
        public string OutputWeight => P + "output.dense.weight";
        public string OutputBias => P + "output.dense.bias";
        public string OutputLayerNormWeight => P + "output.LayerNorm.weight";
        public string OutputLayerNormBias => P + "output.LayerNorm.bias";
        public string AdapterLayerNormWeight => P + "output.adapter_layer_norm.weight";
        public string AdapterLayerNormBias => P + "output.adapter_layer_norm.bias";
    }

    /// <summary>The parameter names of one language's bottleneck module in layer <paramref name="Layer"/>.</summary>
    public sealed record ModuleNames(int Layer, string Key)
    {
        private string P => ModulePrefix(Layer, Key);
        public string Dense1Weight => P + "dense1.weight";
        public string Dense1Bias => P + "dense1.bias";
        public string Dense2Weight => P + "dense2.weight";
        public string Dense2Bias => P + "dense2.bias";
    }

    /// <summary>Buffers some checkpoints carry that are not parameters (ignored on import).</summary>
    public static readonly IReadOnlySet<string> IgnoredBuffers = new HashSet<string>(StringComparer.Ordinal)
    {
        "roberta.embeddings.position_ids",
        "roberta.embeddings.token_type_ids",
    };

    /// <summary>Optional duplicates of tied parameters: accepted on import when equal to their twin.</summary>
    public static readonly IReadOnlyDictionary<string, string> TiedDuplicates = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["lm_head.decoder.weight"] = WordEmbeddings,
        ["lm_head.decoder.bias"] = "lm_head.bias",
    };

    public static IEnumerable<ParameterSpec> Trunk(XModConfig c)
    {
        long h = c.HiddenSize, i = c.IntermediateSize;
        yield return new(WordEmbeddings, [c.VocabSize, h]);
        yield return new(PositionEmbeddings, [c.MaxPositions, h]);
        yield return new(TokenTypeEmbeddings, [c.TypeVocabSize, h]);
        yield return new(EmbeddingsLayerNormWeight, [h]);
        yield return new(EmbeddingsLayerNormBias, [h]);
        for (var l = 0; l < c.NumLayers; l++)
        {
            var n = new LayerNames(l);
            yield return new(n.QueryWeight, [h, h]);
            yield return new(n.QueryBias, [h]);
            yield return new(n.KeyWeight, [h, h]);
            yield return new(n.KeyBias, [h]);
            yield return new(n.ValueWeight, [h, h]);
            yield return new(n.ValueBias, [h]);
            yield return new(n.AttentionOutputWeight, [h, h]);
            yield return new(n.AttentionOutputBias, [h]);
            yield return new(n.AttentionLayerNormWeight, [h]);
            yield return new(n.AttentionLayerNormBias, [h]);
            yield return new(n.IntermediateWeight, [i, h]);
            yield return new(n.IntermediateBias, [i]);
            yield return new(n.OutputWeight, [h, i]);
            yield return new(n.OutputBias, [h]);
            yield return new(n.OutputLayerNormWeight, [h]);
            yield return new(n.OutputLayerNormBias, [h]);
            if (c.AdapterLayerNorm)
            {
                yield return new(n.AdapterLayerNormWeight, [h]);
                yield return new(n.AdapterLayerNormBias, [h]);
            }
        }
        if (c.PreNorm)
        {
            yield return new(EncoderLayerNormWeight, [h]);
            yield return new(EncoderLayerNormBias, [h]);
        }
        yield return new(LmHeadDenseWeight, [h, h]);
        yield return new(LmHeadDenseBias, [h]);
        yield return new(LmHeadLayerNormWeight, [h]);
        yield return new(LmHeadLayerNormBias, [h]);
        yield return new(LmBias, [c.VocabSize]);
    }

    /// <summary>One language's modules (<paramref name="key"/> is the language, or "shared").</summary>
    public static IEnumerable<ParameterSpec> Module(XModConfig c, string key)
    {
        long h = c.HiddenSize, b = c.BottleneckSize;
        for (var l = 0; l < c.NumLayers; l++)
        {
            var n = new ModuleNames(l, key);
            yield return new(n.Dense1Weight, [b, h]);
            yield return new(n.Dense1Bias, [b]);
            yield return new(n.Dense2Weight, [h, b]);
            yield return new(n.Dense2Bias, [h]);
        }
    }

    public const string LmBias = "lm_head.bias";

    /// <summary>
    /// A language's own embeddings (a language added with its own vocabulary of
    /// <paramref name="vocabSize"/> ids): word and position embeddings and the LM head's bias, under
    /// the trunk's names, stored in the language's module file.
    /// </summary>
    public static IEnumerable<ParameterSpec> LanguageEmbeddings(XModConfig c, long vocabSize)
    {
        yield return new(WordEmbeddings, [vocabSize, c.HiddenSize]);
        yield return new(PositionEmbeddings, [c.MaxPositions, c.HiddenSize]);
        yield return new(LmBias, [vocabSize]);
    }

    /// <summary>
    /// The module key a parameter name belongs to, or null for trunk names:
    /// roberta.encoder.layer.{i}.output.adapter_modules.{key}.dense{1,2}.{weight,bias}.
    /// </summary>
    public static string? ModuleKeyOf(string name)
    {
        const string marker = ".output.adapter_modules.";
        var at = name.IndexOf(marker, StringComparison.Ordinal);
        if (at < 0 || !name.StartsWith("roberta.encoder.layer.", StringComparison.Ordinal))
        {
            return null;
        }
        var rest = name[(at + marker.Length)..];
        var dot = rest.IndexOf('.', StringComparison.Ordinal);
        return dot <= 0 ? null : rest[..dot];
    }

    public static long Count(IEnumerable<ParameterSpec> specs) => specs.Sum(s => s.Shape.Aggregate(1L, (a, b) => a * b));
}
