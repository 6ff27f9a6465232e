using XMod.Runtime.Tokenization;

namespace XMod.Runtime.Scoring;

/// <summary>
/// The floor a trained model has to beat: every masked token guessed from the language's
/// training-token frequencies alone (add-one smoothed), on exactly the blocks and masks that
/// <see cref="StandardScoring"/> and <see cref="Evaluator.Perplexity"/> use, so the numbers sit
/// side by side with a model's.
/// </summary>
public static class UnigramBaseline
{
    public static StandardScores Score(int[] train, int[] heldOut, XModTokenizer tokenizer, string language, int length, int maxTokens = 1_000_000) =>
        Score(train, heldOut, tokenizer.VocabSize, tokenizer.MaskId, tokenizer.IsSpecial, language, length, maxTokens);

    /// <param name="isSpecial">Ids never masked and never guessed (&lt;s&gt;, &lt;/s&gt;, &lt;pad&gt;, &lt;unk&gt;, &lt;mask&gt;).</param>
    public static StandardScores Score(int[] train, int[] heldOut, int vocabSize, int maskId, Func<int, bool> isSpecial, string language, int length,
        int maxTokens = 1_000_000)
    {
        if (length < 3)
        {
            throw new XModException($"a sequence length of {length} is too short to evaluate: an example needs at least 3 tokens");
        }
        if (heldOut.Length == 0)
        {
            throw new XModException($"there is no {language} text to evaluate on");
        }
        if (maskId <= XModTokenizer.Unk || maskId >= vocabSize)
        {
            throw new XModException($"the mask id {maskId} is outside the regular ids {XModTokenizer.Unk + 1}..{vocabSize - 1} of the vocabulary");
        }
        // A held-out id the vocabulary does not have would be an index out of range below: refuse it by name.
        foreach (var id in heldOut)
        {
            if (id < 0 || id >= vocabSize)
            {
                throw new XModException($"the {language} held-out text has token id {id}, outside the vocabulary of {vocabSize}: was it tokenised with another tokenizer?");
            }
        }
        var counts = new double[vocabSize];
        var regular = 0;
        for (var id = 0; id < counts.Length; id++)
        {
            if (!isSpecial(id))
            {
                counts[id] = 1; // add-one: a token never seen in training still has a probability
                regular++;
            }
        }
        double total = regular;
        foreach (var id in train)
        {
            // Training ids outside the vocabulary or special carry no evidence about regular tokens.
            if (id >= 0 && id < counts.Length && !isSpecial(id))
            {
                counts[id]++;
                total++;
            }
        }
        var top5 = Enumerable.Range(0, counts.Length).Where(i => !isSpecial(i)).OrderByDescending(i => counts[i]).ThenBy(i => i).Take(5).ToArray();

        var blocks = Evaluator.EvaluationBlocks(heldOut, length, maxTokens);
        double nll = 0;
        long masked = 0, maskPositions = 0, hit1 = 0, hit5 = 0;
        for (var b = 0; b < blocks; b++)
        {
            // The same seed per (language, block) as StandardScoring: the same tokens are masked.
            var (block, labels) = Evaluator.FixedMaskBlock(heldOut, b, length, language, maskId, id => isSpecial((int)id));
            for (var i = 0; i < length; i++)
            {
                if (labels[i] == MlmMasking.IgnoreIndex)
                {
                    continue;
                }
                var target = (int)labels[i];
                nll -= Math.Log(counts[target] / total);
                masked++;
                // Accuracy counts the positions shown as <mask>, as StandardScoring does.
                if (block[i] == maskId)
                {
                    maskPositions++;
                    hit1 += top5.Length > 0 && target == top5[0] ? 1 : 0;
                    hit5 += top5.Contains(target) ? 1 : 0;
                }
            }
        }
        if (masked == 0)
        {
            // A perplexity of 1.00 on nothing would read as a perfect guesser.
            throw new XModException($"no {language} held-out token was masked in {blocks} block(s) of {length} tokens: the text has only special tokens");
        }
        return new StandardScores(language, Math.Exp(nll / masked), (double)hit1 / Math.Max(1, maskPositions),
            (double)hit5 / Math.Max(1, maskPositions), masked, maskPositions, blocks);
    }
}
