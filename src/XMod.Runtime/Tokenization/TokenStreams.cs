namespace XMod.Runtime.Tokenization;

/// <summary>
/// Each language's text as one stream of token ids (paragraph pieces followed by &lt;/s&gt;).
/// Training loads a corpus's streams through its cache (XMod.Training.Corpora.CorpusTokens).
/// </summary>
public sealed class TokenStreams
{
    private TokenStreams(IReadOnlyDictionary<string, int[]> streams) => Streams = streams;

    public IReadOnlyDictionary<string, int[]> Streams { get; }

    /// <summary>Streams already in memory (tests, synthetic data).</summary>
    public static TokenStreams FromArrays(IReadOnlyDictionary<string, int[]> streams) => new(streams);

    /// <summary>One language's paragraphs as a stream: each paragraph's pieces, then &lt;/s&gt;.</summary>
    public static int[] Encode(IEnumerable<string> paragraphs, XModTokenizer tokenizer) =>
        paragraphs.SelectMany(p => tokenizer.EncodePieces(p).Append(XModTokenizer.Eos)).ToArray();

    /// <summary>A single language's stream from paragraphs in memory.</summary>
    public static TokenStreams FromParagraphs(string language, IEnumerable<string> paragraphs, XModTokenizer tokenizer) =>
        new(new Dictionary<string, int[]> { [language] = Encode(paragraphs, tokenizer) });

    /// <summary>
    /// Splits a stream into consecutive examples of <paramref name="length"/> ids: &lt;s&gt; +
    /// (length - 2) stream tokens + &lt;/s&gt;. A stream shorter than one example is repeated.
    /// </summary>
    public static long[] Block(int[] stream, int index, int length)
    {
        var body = length - 2;
        var block = new long[length];
        block[0] = XModTokenizer.Bos;
        var start = (long)index * body;
        for (var i = 0; i < body; i++)
        {
            block[i + 1] = stream[(int)((start + i) % stream.Length)];
        }
        block[^1] = XModTokenizer.Eos;
        return block;
    }

    public static int BlockCount(int[] stream, int length) => Math.Max(1, stream.Length / (length - 2));
}
