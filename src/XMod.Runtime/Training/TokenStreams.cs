using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using XMod.Packaging;
using XMod.Runtime.Corpora;
using XMod.Runtime.Tokenization;

namespace XMod.Runtime.Training;

/// <summary>
/// Each language's text as one stream of token ids (paragraph pieces followed by &lt;/s&gt;),
/// tokenized once and cached next to the run (keyed by the tokenizer's and the text's hashes).
/// </summary>
public sealed class TokenStreams
{
    private TokenStreams(IReadOnlyDictionary<string, int[]> streams) => Streams = streams;

    public IReadOnlyDictionary<string, int[]> Streams { get; }

    /// <summary>Streams already in memory (tests, synthetic data).</summary>
    internal static TokenStreams FromArrays(IReadOnlyDictionary<string, int[]> streams) => new(streams);

    /// <summary>One language's paragraphs as a stream: each paragraph's pieces, then &lt;/s&gt;.</summary>
    public static int[] Encode(IEnumerable<string> paragraphs, XModTokenizer tokenizer) =>
        paragraphs.SelectMany(p => tokenizer.EncodePieces(p).Append(XModTokenizer.Eos)).ToArray();

    /// <summary>A single language's stream from paragraphs in memory.</summary>
    public static TokenStreams FromParagraphs(string language, IEnumerable<string> paragraphs, XModTokenizer tokenizer) =>
        new(new Dictionary<string, int[]> { [language] = Encode(paragraphs, tokenizer) });

    public static TokenStreams Load(Corpus corpus, IReadOnlyList<string> languages, XModTokenizer tokenizer, string cacheDir,
        bool heldOut, Action<string>? log = null)
    {
        Directory.CreateDirectory(cacheDir);
        var tokenizerHash = Convert.ToHexString(SHA256.HashData(tokenizer.Spm.ToBytes()))[..16];
        var result = new Dictionary<string, int[]>(StringComparer.Ordinal);
        var gate = new object();
        Parallel.ForEach(languages, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, lang =>
        {
            var file = heldOut ? corpus.HeldOutFile(lang) : corpus.TrainFile(lang);
            var textHash = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file)))[..16];
            var cache = Path.Combine(cacheDir, $"{lang}.{(heldOut ? "heldout" : "train")}.{tokenizerHash}.{textHash}.tokens");
            int[] stream;
            if (File.Exists(cache))
            {
                stream = MemoryMarshal.Cast<byte, int>(File.ReadAllBytes(cache)).ToArray();
            }
            else
            {
                stream = Encode(File.ReadLines(file, Encoding.UTF8), tokenizer);
                AtomicFile.WriteAllBytes(cache, MemoryMarshal.AsBytes(stream.AsSpan()));
            }
            lock (gate)
            {
                result[lang] = stream;
                log?.Invoke($"{lang}: {stream.Length:N0} tokens{(heldOut ? " held out" : "")}");
            }
        });
        return new TokenStreams(result);
    }

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
