using XMod.Runtime.Model;
using XMod.Runtime.Tokenization;
using XMod.Tensors;

namespace XMod.Runtime.Scoring;

/// <summary>
/// What the hub's evaluator measures per language: MLM perplexity with fixed masking (identical to
/// <see cref="Evaluator.Perplexity"/>) and fill-mask accuracy, the share of &lt;mask&gt; positions
/// whose original token is the model's first guess (top-1) or among its first five (top-5).
/// </summary>
public sealed record StandardScores(string Language, double Perplexity, double Top1, double Top5, long MaskedTokens, long MaskPositions, int Blocks);

public static class StandardScoring
{
    public static StandardScores Score(XModModel model, XModTokenizer tokenizer, int[] stream, string language, int length, int batchSize = 16, int maxTokens = 1_000_000)
    {
        if (length < 3)
        {
            throw new XModException($"a sequence length of {length} is too short to evaluate: an example needs at least 3 tokens");
        }
        if (stream.Length == 0)
        {
            throw new XModException($"there is no {language} text to evaluate on");
        }
        var wasTraining = model.Training;
        model.Training = false;
        try
        {
            // The same blocks and masks as Evaluator.Perplexity: one seed per (language, block).
            var blocks = Evaluator.EvaluationBlocks(stream, length, maxTokens);
            double lossSum = 0;
            long masked = 0, maskPositions = 0, top1 = 0, top5 = 0;
            for (var start = 0; start < blocks; start += batchSize)
            {
                var n = Math.Min(batchSize, blocks - start);
                var (ids, labels) = Evaluator.FixedMaskBatch(stream, start, n, length, language, tokenizer);
                var (positions, targets) = MlmObjective.MaskedPositions(labels);
                using var scope = DisposeScope.Begin();
                using var inference = Torch.InferenceMode();
                var hidden = model.Encode(Tensor.From(ids, n, length), null, Enumerable.Repeat(language, n).ToArray()).View(-1, model.Config.HiddenSize);
                var logits = model.LmHead(hidden.IndexSelect(0, Tensor.From(positions.ToArray())), language).To(DType.Float32);
                lossSum += F.CrossEntropy(logits, Tensor.From(targets.ToArray()), reduction: F.Reduction.Sum).Item();
                masked += positions.Count;
                var k = Math.Min(5, model.Config.VocabSize);
                var best = logits.TopK(k, -1).Indices.ToArray<long>();
                for (var j = 0; j < positions.Count; j++)
                {
                    // Accuracy counts the positions shown as <mask> (80% of those chosen), as a fill-mask user sees them.
                    if (ids[positions[j]] != tokenizer.MaskId)
                    {
                        continue;
                    }
                    maskPositions++;
                    var row = best.AsSpan(j * k, k);
                    top1 += row[0] == targets[j] ? 1 : 0;
                    top5 += row.Contains(targets[j]) ? 1 : 0;
                }
            }
            if (masked == 0)
            {
                // A perplexity of 1.00 on nothing would read as a perfect model.
                throw new XModException($"no {language} held-out token was masked in {blocks} block(s) of {length} tokens: the text has only special tokens");
            }
            var mean = lossSum / masked;
            return new StandardScores(language, Math.Exp(mean), (double)top1 / Math.Max(1, maskPositions), (double)top5 / Math.Max(1, maskPositions), masked, maskPositions, blocks);
        }
        finally
        {
            model.Training = wasTraining;
        }
    }
}
