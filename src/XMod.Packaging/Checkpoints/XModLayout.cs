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

    public static string Layer(int i) => $"roberta.encoder.layer.{i}.";

    public static string ModulePrefix(int layer, string key) => $"{Layer(layer)}output.adapter_modules.{key}.";

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
        yield return new("roberta.embeddings.token_type_embeddings.weight", [c.TypeVocabSize, h]);
        yield return new("roberta.embeddings.LayerNorm.weight", [h]);
        yield return new("roberta.embeddings.LayerNorm.bias", [h]);
        for (var l = 0; l < c.NumLayers; l++)
        {
            var p = Layer(l);
            foreach (var proj in new[] { "query", "key", "value" })
            {
                yield return new($"{p}attention.self.{proj}.weight", [h, h]);
                yield return new($"{p}attention.self.{proj}.bias", [h]);
            }
            yield return new($"{p}attention.output.dense.weight", [h, h]);
            yield return new($"{p}attention.output.dense.bias", [h]);
            yield return new($"{p}attention.output.LayerNorm.weight", [h]);
            yield return new($"{p}attention.output.LayerNorm.bias", [h]);
            yield return new($"{p}intermediate.dense.weight", [i, h]);
            yield return new($"{p}intermediate.dense.bias", [i]);
            yield return new($"{p}output.dense.weight", [h, i]);
            yield return new($"{p}output.dense.bias", [h]);
            yield return new($"{p}output.LayerNorm.weight", [h]);
            yield return new($"{p}output.LayerNorm.bias", [h]);
            if (c.AdapterLayerNorm)
            {
                yield return new($"{p}output.adapter_layer_norm.weight", [h]);
                yield return new($"{p}output.adapter_layer_norm.bias", [h]);
            }
        }
        if (c.PreNorm)
        {
            yield return new("roberta.encoder.LayerNorm.weight", [h]);
            yield return new("roberta.encoder.LayerNorm.bias", [h]);
        }
        yield return new("lm_head.dense.weight", [h, h]);
        yield return new("lm_head.dense.bias", [h]);
        yield return new("lm_head.layer_norm.weight", [h]);
        yield return new("lm_head.layer_norm.bias", [h]);
        yield return new("lm_head.bias", [c.VocabSize]);
    }

    /// <summary>One language's modules (<paramref name="key"/> is the language, or "shared").</summary>
    public static IEnumerable<ParameterSpec> Module(XModConfig c, string key)
    {
        long h = c.HiddenSize, b = c.BottleneckSize;
        for (var l = 0; l < c.NumLayers; l++)
        {
            var p = ModulePrefix(l, key);
            yield return new($"{p}dense1.weight", [b, h]);
            yield return new($"{p}dense1.bias", [b]);
            yield return new($"{p}dense2.weight", [h, b]);
            yield return new($"{p}dense2.bias", [h]);
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
