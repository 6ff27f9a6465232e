using XMod.Runtime.Model;
using XMod.Runtime.Tokenization;
using XMod.Tensors;

namespace XMod.Runtime.Scoring;

public sealed record LanguagePerplexity(string Language, double Perplexity, double Loss, long MaskedTokens, int Blocks);

public sealed record MaskPrediction(string Token, int Id, double Probability);

/// <summary>Held-out MLM perplexity and fill-mask.</summary>
public static class Evaluator
{
    /// <summary>The fixed masking seed: the same positions are masked for every run and model.</summary>
    public const ulong MaskSeed = 20221;

    /// <summary>
    /// Per-language MLM perplexity, exp(mean cross-entropy over masked tokens), on consecutive
    /// blocks of each held-out stream (up to <paramref name="maxTokens"/> tokens), with masks that
    /// depend only on the language and the block index. Comparable between runs and between
    /// models that share a tokenizer.
    /// </summary>
    public static IReadOnlyList<LanguagePerplexity> Perplexity(XModModel model, XModTokenizer tokenizer, TokenStreams heldOut,
        IReadOnlyList<string> languages, int length, int batchSize = 16, int maxTokens = 50_000, bool bf16 = false)
    {
        if (length < 3)
        {
            throw new XModException($"--seq {length} is too short to evaluate: an example needs at least 3 tokens (start, end and one to mask)");
        }
        var wasTraining = model.Training;
        model.Training = false;
        try
        {
            var results = new List<LanguagePerplexity>();
            foreach (var lang in languages)
            {
                var stream = heldOut.Streams[lang];
                if (stream.Length == 0)
                {
                    throw new XModException($"there is no held-out text in {lang} to evaluate on");
                }
                var blocks = EvaluationBlocks(stream, length, maxTokens);
                double lossSum = 0;
                long count = 0;
                for (var start = 0; start < blocks; start += batchSize)
                {
                    var n = Math.Min(batchSize, blocks - start);
                    var (ids, labels) = FixedMaskBatch(stream, start, n, length, lang, tokenizer);
                    var (sum, masked) = MaskedLossSum(model, ids, labels, n, length, lang, bf16);
                    lossSum += sum;
                    count += masked;
                }
                if (count == 0)
                {
                    // A perplexity of 1.00 on nothing would read as a perfect model.
                    throw new XModException($"no held-out token of {lang} was masked in {blocks} block(s) of {length} tokens: give a longer --seq or more held-out text");
                }
                var mean = lossSum / count;
                results.Add(new LanguagePerplexity(lang, Math.Exp(mean), mean, count, blocks));
            }
            return results;
        }
        finally
        {
            model.Training = wasTraining;
        }
    }

    /// <summary>How many blocks of <paramref name="length"/> tokens a held-out stream is evaluated on: up to about <paramref name="maxTokens"/> tokens.</summary>
    public static int EvaluationBlocks(int[] stream, int length, int maxTokens) =>
        Math.Min(TokenStreams.BlockCount(stream, length), Math.Max(1, maxTokens / (length - 2)));

    /// <summary>
    /// Block <paramref name="index"/> of a held-out stream with its fixed MLM masks: the ids as the
    /// model sees them and the labels (the original token where masked, else IgnoreIndex). The masks
    /// depend only on the language and the block index, so every run, model and baseline (perplexity,
    /// the hub's standard scores, the unigram baseline) masks the same tokens.
    /// </summary>
    public static (long[] Ids, long[] Labels) FixedMaskBlock(int[] stream, int index, int length, string language, int maskId, Func<long, bool> isSpecial)
    {
        var block = TokenStreams.Block(stream, index, length);
        var labels = MlmMasking.Apply(block, length, StableRandom.For(MaskSeed, StableRandom.Hash(language), (ulong)index),
            0.15, maskId, XModTokenizer.Unk + 1, isSpecial);
        return (block, labels);
    }

    /// <summary>Blocks <paramref name="start"/> .. start + n - 1 with their fixed masks, as one batch.</summary>
    internal static (long[] Ids, long[] Labels) FixedMaskBatch(int[] stream, int start, int n, int length, string language, XModTokenizer tokenizer)
    {
        var ids = new long[n * length];
        var labels = new long[n * length];
        Func<long, bool> isSpecial = id => tokenizer.IsSpecial((int)id);
        for (var b = 0; b < n; b++)
        {
            var (block, blockLabels) = FixedMaskBlock(stream, start + b, length, language, tokenizer.MaskId, isSpecial);
            block.CopyTo(ids, b * length);
            blockLabels.CopyTo(labels, b * length);
        }
        return (ids, labels);
    }

    private static (double Sum, long Count) MaskedLossSum(XModModel model, long[] ids, long[] labels, int batch, int length, string lang, bool bf16)
    {
        using var scope = DisposeScope.Begin();
        using var inference = Torch.InferenceMode();
        var sum = MlmObjective.Loss(model, ids, labels, batch, length, lang, bf16, F.Reduction.Sum).Item();
        return (sum, MlmObjective.MaskedCount(labels));
    }

    /// <summary>
    /// The top-k fillers of each &lt;mask&gt; in <paramref name="text"/> (written literally as
    /// "&lt;mask&gt;"), in order of appearance.
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<MaskPrediction>> FillMask(XModModel model, XModTokenizer tokenizer, string text, string language, int topK = 5)
    {
        const string marker = "<mask>";
        var parts = text.Split(marker);
        if (parts.Length < 2)
        {
            throw new XModException($"the text has no {marker}: write {marker} where a word should be predicted");
        }
        var ids = new List<long> { XModTokenizer.Bos };
        for (var i = 0; i < parts.Length; i++)
        {
            if (parts[i].Trim().Length > 0)
            {
                ids.AddRange(tokenizer.EncodePieces(parts[i].Trim()).Select(x => (long)x));
            }
            if (i < parts.Length - 1)
            {
                ids.Add(tokenizer.MaskId);
            }
        }
        ids.Add(XModTokenizer.Eos);
        if (ids.Count > model.Config.MaxSequenceLength)
        {
            throw new XModException($"the text is {ids.Count} tokens long; the model takes at most {model.Config.MaxSequenceLength}");
        }
        var maskAt = ids.Select((id, i) => (id, i)).Where(x => x.id == tokenizer.MaskId).Select(x => (long)x.i).ToArray();
        var wasTraining = model.Training;
        model.Training = false;
        try
        {
            using var scope = DisposeScope.Begin();
            using var inference = Torch.InferenceMode();
            var hidden = model.Encode(Tensor.From(ids.ToArray(), 1, ids.Count), null, [language]).Squeeze(0);
            var probs = F.Softmax(model.LmHead(hidden.IndexSelect(0, Tensor.From(maskAt)), language), -1);
            var (values, indices) = probs.TopK(Math.Min(topK, model.Config.VocabSize), -1);
            var p = values.ToArray<float>();
            var idx = indices.ToArray<long>();
            var k = (int)values.Size(1);
            return Enumerable.Range(0, maskAt.Length)
                .Select(m => (IReadOnlyList<MaskPrediction>)Enumerable.Range(0, k)
                    .Select(j => new MaskPrediction(tokenizer.Token((int)idx[m * k + j]), (int)idx[m * k + j], p[m * k + j])).ToList())
                .ToList();
        }
        finally
        {
            model.Training = wasTraining;
        }
    }
}
