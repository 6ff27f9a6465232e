namespace XMod.Runtime.Scoring;

/// <summary>
/// BERT / RoBERTa masking: each real token is chosen with probability p (15%); a chosen token
/// becomes &lt;mask&gt; 80% of the time, a random token 10%, itself 10%. Labels hold the original
/// id at chosen positions and -100 (ignored by the loss) elsewhere. At least one token per
/// example is chosen, so every example contributes to the loss.
/// </summary>
public static class MlmMasking
{
    public const long IgnoreIndex = -100;

    /// <param name="ids">(B x T) row-major token ids; changed in place into the model's inputs.</param>
    /// <param name="firstRegularId">Random replacements are drawn from [firstRegularId, maskId).</param>
    public static long[] Apply(long[] ids, int length, StableRandom rng, double probability, int maskId, int firstRegularId,
        Func<long, bool> isSpecial)
    {
        var labels = new long[ids.Length];
        Array.Fill(labels, IgnoreIndex);
        for (var start = 0; start < ids.Length; start += length)
        {
            var chosen = 0;
            var candidates = 0;
            for (var i = start; i < start + length; i++)
            {
                if (isSpecial(ids[i]))
                {
                    continue;
                }
                candidates++;
                if (rng.NextDouble() < probability)
                {
                    Choose(ids, labels, i, rng, maskId, firstRegularId);
                    chosen++;
                }
            }
            if (chosen == 0 && candidates > 0)
            {
                var pick = rng.NextInt(candidates);
                for (var i = start; i < start + length; i++)
                {
                    if (!isSpecial(ids[i]) && pick-- == 0)
                    {
                        Choose(ids, labels, i, rng, maskId, firstRegularId);
                        break;
                    }
                }
            }
        }
        return labels;
    }

    private static void Choose(long[] ids, long[] labels, int i, StableRandom rng, int maskId, int firstRegularId)
    {
        labels[i] = ids[i];
        var r = rng.NextDouble();
        if (r < 0.8)
        {
            ids[i] = maskId;
        }
        else if (r < 0.9)
        {
            ids[i] = firstRegularId + rng.NextInt(maskId - firstRegularId);
        }
    }
}
