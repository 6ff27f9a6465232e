using XMod.Runtime.Model;
using XMod.Runtime.Tokenization;
using XMod.Tensors;

namespace XMod.Runtime.Tasks;

/// <summary>
/// One task example. Sequence classification: <see cref="Text"/> and <see cref="Label"/>. Token
/// classification: <see cref="Words"/> and <see cref="WordLabels"/>. Extractive QA:
/// <see cref="Question"/>, the context in <see cref="Text"/>, and the answer's character span.
/// </summary>
public sealed record TaskExample
{
    public string Text { get; init; } = "";
    public int Label { get; init; }
    public IReadOnlyList<string>? Words { get; init; }
    public IReadOnlyList<int>? WordLabels { get; init; }
    public string? Question { get; init; }
    public int AnswerStart { get; init; } = -1;
    public int AnswerLength { get; init; }
}

/// <summary>An example as token ids with its targets (-100 where nothing is predicted).</summary>
public sealed record EncodedExample(long[] Ids, long[] Targets, int Label, int AnswerStartToken, int AnswerEndToken, int[] WordStarts);

/// <summary>Turns task examples into token ids, aligning word labels and answer spans to pieces.</summary>
public static class TaskEncoder
{
    /// <summary>Pads a batch to its longest example: ids (B, T) and attention mask (B, T).</summary>
    public static (Tensor Ids, Tensor Mask) Pad(IReadOnlyList<EncodedExample> batch)
    {
        var length = batch.Max(x => x.Ids.Length);
        var ids = new long[batch.Count * length];
        var mask = new long[batch.Count * length];
        Array.Fill(ids, XModTokenizer.Pad);
        for (var b = 0; b < batch.Count; b++)
        {
            batch[b].Ids.CopyTo(ids, b * length);
            Array.Fill(mask, 1L, b * length, batch[b].Ids.Length);
        }
        return (Tensor.From(ids, batch.Count, length), Tensor.From(mask, batch.Count, length));
    }

    public const long Ignore = -100;

    public static EncodedExample Encode(TaskKind kind, TaskExample e, XModTokenizer tokenizer, int maxLength) => kind switch
    {
        TaskKind.SequenceClassification => Sequence(e, tokenizer, maxLength),
        TaskKind.TokenClassification => Tokens(e, tokenizer, maxLength),
        _ => Answer(e, tokenizer, maxLength),
    };

    private static EncodedExample Sequence(TaskExample e, XModTokenizer tokenizer, int maxLength)
    {
        var ids = tokenizer.Encode(e.Text, maxLength).Select(i => (long)i).ToArray();
        return new EncodedExample(ids, [], e.Label, -1, -1, []);
    }

    /// <summary>Each word encoded on its own (a word start), labelled on its first piece.</summary>
    private static EncodedExample Tokens(TaskExample e, XModTokenizer tokenizer, int maxLength)
    {
        var words = e.Words ?? e.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var ids = new List<long> { XModTokenizer.Bos };
        var targets = new List<long> { Ignore };
        var starts = new List<int>();
        for (var w = 0; w < words.Count; w++)
        {
            var pieces = tokenizer.EncodePieces(words[w]);
            if (ids.Count + pieces.Length + 1 > maxLength)
            {
                break;
            }
            starts.Add(ids.Count);
            for (var p = 0; p < pieces.Length; p++)
            {
                ids.Add(pieces[p]);
                targets.Add(p == 0 && e.WordLabels is not null ? e.WordLabels[w] : Ignore);
            }
        }
        ids.Add(XModTokenizer.Eos);
        targets.Add(Ignore);
        return new EncodedExample([.. ids], [.. targets], -1, -1, -1, [.. starts]);
    }

    /// <summary>&lt;s&gt; question &lt;/s&gt;&lt;/s&gt; context &lt;/s&gt; (RoBERTa's pair format); the span maps to the pieces of the words it covers.</summary>
    private static EncodedExample Answer(TaskExample e, XModTokenizer tokenizer, int maxLength)
    {
        var ids = new List<long> { XModTokenizer.Bos };
        ids.AddRange(tokenizer.EncodePieces(e.Question ?? "").Select(i => (long)i));
        ids.Add(XModTokenizer.Eos);
        ids.Add(XModTokenizer.Eos);
        int start = 0, end = 0;
        var offset = 0;
        foreach (var word in e.Text.Split(' '))
        {
            if (word.Length > 0)
            {
                var pieces = tokenizer.EncodePieces(word);
                if (ids.Count + pieces.Length + 1 > maxLength)
                {
                    break;
                }
                var first = ids.Count;
                ids.AddRange(pieces.Select(i => (long)i));
                var answerEnd = e.AnswerStart + e.AnswerLength;
                if (e.AnswerStart >= 0 && offset <= e.AnswerStart && e.AnswerStart < offset + word.Length)
                {
                    start = first;
                }
                if (e.AnswerStart >= 0 && offset < answerEnd && answerEnd <= offset + word.Length)
                {
                    end = ids.Count - 1;
                }
            }
            offset += word.Length + 1;
        }
        ids.Add(XModTokenizer.Eos);
        if (end < start)
        {
            (start, end) = (0, 0); // the answer was cut off: point at <s>, as SQuAD v2 does for no answer
        }
        return new EncodedExample([.. ids], [], -1, start, end, []);
    }
}
