using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using XMod.Packaging;
using XMod.Runtime.Tokenization;

namespace XMod.Training.Corpora;

/// <summary>A corpus's text as token streams, tokenized once and cached next to the run (keyed by the tokenizer's and the text's hashes).</summary>
public static class CorpusTokens
{
    public static TokenStreams Load(Corpus corpus, IReadOnlyList<string> languages, XModTokenizer tokenizer, string cacheDir,
        bool heldOut, Action<string>? log = null)
    {
        Directory.CreateDirectory(cacheDir);
        var tokenizerHash = Convert.ToHexString(SHA256.HashData(tokenizer.Spm.ToBytes()))[..16];
        var result = new Dictionary<string, int[]>(StringComparer.Ordinal);
        var gate = new object();
        try
        {
            Parallel.ForEach(languages, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, lang => LoadOne(lang));
        }
        catch (AggregateException e) when (e.InnerExceptions.OfType<XModException>().FirstOrDefault() is { } first)
        {
            ExceptionDispatchInfo.Throw(first); // a user's mistake is one line, not an aggregate
        }
        return TokenStreams.FromArrays(result);

        void LoadOne(string lang)
        {
            var file = heldOut ? corpus.HeldOutFile(lang) : corpus.TrainFile(lang);
            var textHash = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file)))[..16];
            var cache = Path.Combine(cacheDir, $"{lang}.{(heldOut ? "heldout" : "train")}.{tokenizerHash}.{textHash}.tokens");
            int[] stream;
            string how;
            if (File.Exists(cache))
            {
                stream = MemoryMarshal.Cast<byte, int>(File.ReadAllBytes(cache)).ToArray();
                how = "from the cache";
            }
            else
            {
                var started = Stopwatch.GetTimestamp();
                stream = TokenStreams.Encode(File.ReadLines(file, Encoding.UTF8), tokenizer);
                AtomicFile.WriteAllBytes(cache, MemoryMarshal.AsBytes(stream.AsSpan()));
                var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                how = $"tokenised in {seconds:F1} s, {new FileInfo(file).Length / 1e6 / Math.Max(seconds, 1e-3):F1} MB/s";
            }
            if (heldOut && stream.Length == 0)
            {
                throw new XModException($"the corpus at {corpus.Directory} has no held-out text in {lang} ({file} is empty): " +
                    "leave the language out (--langs), or rebuild the corpus with more text or a larger --heldout-percent");
            }
            lock (gate)
            {
                result[lang] = stream;
                log?.Invoke($"{lang}: {stream.Length:N0} tokens{(heldOut ? " held out" : "")} ({how}; {result.Count} of {languages.Count} languages)");
            }
        }
    }
}
