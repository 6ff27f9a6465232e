using System.Diagnostics;
using System.Globalization;
using XMod.Packaging;
using XMod.Packaging.Languages;
using XMod.Runtime.Model;
using XMod.Runtime.Tasks;
using XMod.Tensors;
using XMod.Training.AddLanguage;
using XMod.Training.Corpora;
using XMod.Training.FineTuning;
using XMod.Training.Pretraining;

namespace XMod.Bench;

/// <summary>
/// Issue 4. (a) Zero-shot cross-lingual transfer on real data: classify a manual-page paragraph by
/// its section (1-8), fine-tuned on English only, evaluated on every other language, X-MOD and
/// SHARED side by side (both pre-trained the same way on the same corpus). (b) Adding a language
/// to the mini trunk: time and peak memory per 1 MB of text, trainable vs total parameters.
/// </summary>
internal static class CrossLingualBench
{
    public static int Run(string workDir, int steps, int languagesCount)
    {
        var inv = CultureInfo.InvariantCulture;
        Directory.CreateDirectory(workDir);
        var corpusDir = Path.Combine(workDir, "corpus");
        var languages = LanguageCatalog.WithManPages.Take(languagesCount).ToList();
        if (!File.Exists(Path.Combine(corpusDir, Corpus.ManifestFile)))
        {
            CorpusBuilder.Build([.. languages, LanguageCatalog.Get("tr")], corpusDir, new CorpusOptions { MaxTrainBytes = 1_000_000, UseUdhr = false, SourceCache = XModPaths.SourceCache }, Log);
        }
        var corpus = Corpus.Open(corpusDir);
        var codes = languages.Select(l => l.Code).Where(c => c != "tr_TR").ToList();
        var results = new Dictionary<string, IReadOnlyDictionary<string, (double Accuracy, int Count)>>();
        var clock = Stopwatch.StartNew();
        foreach (var shared in new[] { false, true })
        {
            var name = shared ? "SHARED" : "X-MOD";
            var run = Path.Combine(workDir, shared ? "shared" : "xmod");
            if (ModelDirectory.LatestCheckpoint(run) is null)
            {
                using var trainer = Pretrainer.Start(corpus, run, new PretrainOptions
                {
                    Preset = "mini", Languages = codes, Shared = shared, Steps = steps, BatchSize = 16, SequenceLength = 128, VocabSize = 8000, VocabSampleBytes = 6_000_000, SaveEvery = steps, LogEvery = 50,
                }, Log);
                trainer.Run(CancellationToken.None, p => Log($"{name} step {p.Step}/{p.TotalSteps} loss {p.Loss:F3} {p.TokensPerSecond:F0} tok/s"));
            }
            using var loaded = LoadedModel.Open(run);
            var train = Sections(corpus, "en_XX", heldOut: false).Take(4000).Select(x => new TaskExample { Text = x.Text, Label = x.Label }).ToList();
            using var task = FineTuner.Train(loaded, train, new FineTuneOptions
            {
                Kind = TaskKind.SequenceClassification, Labels = ["1", "2", "3", "4", "5", "6", "7", "8"], Language = "en_XX", Epochs = 2, BatchSize = 16, MaxLength = 96, LearningRate = 1e-4,
            }, Log, p => Log($"{name} fine-tune {p.Step}/{p.TotalSteps} loss {p.Loss:F3}"));
            var perLanguage = new Dictionary<string, (double, int)>();
            foreach (var code in codes)
            {
                var test = Sections(corpus, code, heldOut: code == "en_XX").Take(1500).ToList();
                var predicted = task.Classify(test.Select(t => t.Text).ToList(), code);
                perLanguage[code] = (test.Zip(predicted).Count(x => x.First.Label == x.Second.Index) / (double)test.Count, test.Count);
                Log($"{name} {code}: {perLanguage[code].Item1:P1} of {test.Count}");
            }
            results[name] = perLanguage;
        }

        // Adding a language (Turkish, held out of pre-training) to the X-MOD mini trunk: one pass over 1 MB.
        var trunk = ModelDirectory.Resolve(Path.Combine(workDir, "xmod"));
        // Train and held-out paragraphs both: add-language splits them again by the same hash rule.
        var turkish = corpus.Train("tr_TR").Concat(corpus.HeldOut("tr_TR")).ToList();
        var bytes = turkish.Sum(l => (long)System.Text.Encoding.UTF8.GetByteCount(l) + 1);
        var oneEpochSteps = Math.Max(10, (int)(bytes / 3.5 / (16 * 128)));
        var rssBefore = Environment.WorkingSet;
        var added = LanguageExtender.Run(trunk, turkish, "debian:manpages-tr (1 MB)", Path.Combine(workDir, "lang-tr"), new AddLanguageOptions
        {
            Language = "tr", Steps = oneEpochSteps, BatchSize = 16, SequenceLength = 128, LogEvery = 50,
        }, Log);

        Console.WriteLine($"machine: {Measure.Machine()}; libtorch {Torch.Version}, {Torch.Threads} threads");
        Console.WriteLine($"date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; wall time {clock.Elapsed.TotalMinutes:F0} min");
        Console.WriteLine($"trunks: mini (4 x 256, bottleneck 128, vocabulary 8k), {steps} steps of 16 x 128 on {codes.Count} languages of Debian man pages (<= 1 MB each), identical settings for X-MOD and SHARED");
        Console.WriteLine("task: manual section (1-8) of a paragraph; fine-tuned on English training paragraphs (2 epochs, lr 1e-4, shared encoder + head); evaluated on up to 1,500 paragraphs per language (English: held-out)");
        Console.WriteLine();
        Console.WriteLine("| language | paragraphs | majority class | X-MOD accuracy | SHARED accuracy |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var code in codes)
        {
            var test = Sections(corpus, code, heldOut: code == "en_XX").Take(1500).ToList();
            var majority = test.GroupBy(t => t.Label).Max(g => g.Count()) / (double)test.Count;
            Console.WriteLine(string.Create(inv, $"| {code} | {test.Count} | {majority:P1} | {results["X-MOD"][code].Accuracy:P1} | {results["SHARED"][code].Accuracy:P1} |"));
        }
        var others = codes.Where(c => c != "en_XX").ToList();
        Console.WriteLine(string.Create(inv, $"| **mean of the {others.Count} transfer languages** | | | **{others.Average(c => results["X-MOD"][c].Accuracy):P1}** | **{others.Average(c => results["SHARED"][c].Accuracy):P1}** |"));
        Console.WriteLine();
        Console.WriteLine("| adding Turkish to the X-MOD mini trunk | value |");
        Console.WriteLine("|---|---|");
        Console.WriteLine(string.Create(inv, $"| text | {bytes / 1e6:F2} MB, one pass = {oneEpochSteps} steps of 16 x 128 |"));
        Console.WriteLine(string.Create(inv, $"| training time | {added.SecondsTraining:F0} s ({added.SecondsTraining / (bytes / 1e6):F0} s per MB) |"));
        Console.WriteLine(string.Create(inv, $"| peak resident memory | {added.PeakRssBytes / 1e6:F0} MB (process before: {rssBefore / 1e6:F0} MB) |"));
        Console.WriteLine(string.Create(inv, $"| trainable parameters | {added.TrainableParameters:N0} of {added.TotalParameters:N0} ({100.0 * added.TrainableParameters / added.TotalParameters:F1}%; vocabulary {added.VocabSize}, {added.CopiedEmbeddingRows} rows copied) |"));
        Console.WriteLine(string.Create(inv, $"| held-out perplexity | {added.HeldOutPerplexity:F1} |"));
        return 0;
    }

    private static List<(string Text, int Label)> Sections(Corpus corpus, string code, bool heldOut) =>
        corpus.WithSources(code, heldOut)
            .Where(p => p.Source.Length > 3 && p.Source.StartsWith("man", StringComparison.Ordinal) && p.Source[3] is >= '1' and <= '8')
            .Select(p => (p.Text, p.Source[3] - '1')).ToList();

    private static void Log(string line) => Console.Error.WriteLine(line);
}
