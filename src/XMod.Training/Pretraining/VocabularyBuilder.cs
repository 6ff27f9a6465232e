using System.Diagnostics;
using System.Text;
using XMod.Runtime.Tokenization;
using XMod.Tensors.SentencePiece;
using XMod.Training.Corpora;

namespace XMod.Training.Pretraining;

/// <summary>
/// The shared SentencePiece vocabulary of a pre-training run: trained on a sample of every
/// language's training text, drawn with the same α-smoothed shares as the batches, so small
/// languages are not drowned by large ones.
/// </summary>
public static class VocabularyBuilder
{
    public static XModTokenizer Train(Corpus corpus, IReadOnlyList<string> languages, int vocabSize, double alpha, long sampleBytes,
        string outDir, Action<string> log)
    {
        var sizes = languages.Select(l => (double)new FileInfo(corpus.TrainFile(l)).Length).ToArray();
        var total = sizes.Sum();
        var smoothed = sizes.Select(s => Math.Pow(s / total, alpha)).ToArray();
        var z = smoothed.Sum();
        Directory.CreateDirectory(outDir);
        var sample = Path.Combine(outDir, $".sample.{Guid.NewGuid():N}.txt");
        try
        {
            using (var w = new StreamWriter(sample, false, new UTF8Encoding(false)))
            {
                for (var i = 0; i < languages.Count; i++)
                {
                    var quota = (long)(sampleBytes * smoothed[i] / z);
                    long written = 0;
                    // Corpora are stored in hash order, so a prefix is an unbiased sample; small
                    // languages are repeated up to their share.
                    var lines = corpus.Train(languages[i]);
                    for (var k = 0; written < quota && lines.Count > 0 && k < lines.Count * 20; k++)
                    {
                        var line = lines[k % lines.Count];
                        w.WriteLine(line);
                        written += Encoding.UTF8.GetByteCount(line) + 1;
                    }
                    log($"vocabulary sample {i + 1}/{languages.Count}: {languages[i]} {written / 1e6:F2} MB from its {sizes[i] / 1e6:F2} MB of text ({100.0 * written / Math.Max(1, sampleBytes):F1}% of the sample)");
                }
            }
            log($"training a {vocabSize}-piece SentencePiece vocabulary on {new FileInfo(sample).Length / 1e6:F1} MB sampled from {languages.Count} languages");
            return TrainOne(sample, vocabSize, outDir, log);
        }
        finally
        {
            File.Delete(sample);
        }
    }

    /// <summary>
    /// A vocabulary for one text file (a language added after pre-training). Byte fallback keeps
    /// every character encodable; when the text cannot support <paramref name="vocabSize"/> pieces,
    /// SentencePiece's own limit is used instead.
    /// </summary>
    public static XModTokenizer TrainOne(string textFile, int vocabSize, string outDir, Action<string> log)
    {
        Directory.CreateDirectory(outDir);
        var prefix = Path.Combine(outDir, "sentencepiece");
        var started = Stopwatch.GetTimestamp();
        log($"training a {vocabSize}-piece vocabulary on {new FileInfo(textFile).Length / 1e6:F2} MB of text");
        // SentencePiece's own log lines are captured by the wrapper and dropped: the console shows ours only.
        SentencePieceTrainer.Train([textFile], prefix, new SentencePieceOptions
        {
            VocabSize = vocabSize,
            ByteFallback = true,
            CharacterCoverage = 0.9995,
            Threads = Environment.ProcessorCount,
            Extra = new Dictionary<string, string> { ["max_sentence_length"] = "16384", ["hard_vocab_limit"] = "false" },
        });
        File.Delete(prefix + ".vocab");
        var tokenizer = XModTokenizer.FromModel(SentencePieceModel.Load(prefix + ".model"), TokenIdScheme.Native, "sentencepiece.model");
        tokenizer.Save(outDir); // sentencepiece.model (the file just trained) plus its id scheme
        log($"vocabulary: {tokenizer.Spm.VocabSize} pieces, trained in {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s");
        return tokenizer;
    }
}
