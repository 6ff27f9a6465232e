using XMod.Runtime.Model;
using XMod.Tensors;

namespace XMod.Runtime.Scoring;

/// <summary>The masked-language-model loss of one batch, shared by training, evaluation and the benchmarks.</summary>
public static class MlmObjective
{
    /// <summary>
    /// Mean cross-entropy over the masked positions only: the vocabulary projection (the
    /// largest matrix product of a step) runs on about 15% of the tokens, as in fairseq.
    /// </summary>
    public static Tensor Loss(XModModel model, long[] inputIds, long[] labels, int batch, int length, string language, bool bf16,
        F.Reduction reduction = F.Reduction.Mean)
    {
        using var autocast = bf16 ? Torch.Autocast() : null;
        var (positions, targets) = MaskedPositions(labels);
        var languages = Enumerable.Repeat(language, batch).ToArray();
        var hidden = model.Encode(Tensor.From(inputIds, batch, length), null, languages).View(-1, model.Config.HiddenSize);
        var logits = model.LmHead(hidden.IndexSelect(0, Tensor.From(positions.ToArray())), language);
        return F.CrossEntropy(logits.To(DType.Float32), Tensor.From(targets.ToArray()), reduction: reduction);
    }

    /// <summary>How many positions of a batch are masked.</summary>
    /// <summary>The flat positions of the masked tokens in a batch's labels, and their original ids.</summary>
    internal static (List<long> Positions, List<long> Targets) MaskedPositions(long[] labels)
    {
        var positions = new List<long>();
        var targets = new List<long>();
        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] != MlmMasking.IgnoreIndex)
            {
                positions.Add(i);
                targets.Add(labels[i]);
            }
        }
        return (positions, targets);
    }

    public static int MaskedCount(long[] labels) => labels.Count(l => l != MlmMasking.IgnoreIndex);
}
