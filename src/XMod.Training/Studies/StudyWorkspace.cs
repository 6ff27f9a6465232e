using System.Globalization;
using System.Text.Json;
using XMod.Packaging;
using XMod.Packaging.Languages;
using XMod.Runtime.Model;
using XMod.Runtime.Scoring;
using XMod.Runtime.Tokenization;
using XMod.Training.Corpora;
using XMod.Training.Pretraining;

namespace XMod.Training.Studies;

/// <summary>
/// The scale of a study. Small on purpose (Chang et al. 2023): a capacity-starved trunk trained for
/// several epochs per language on equally sized corpora, one vocabulary for every run so that
/// perplexities are comparable, and the examples seen per language fixed as languages are added.
/// </summary>
public sealed record StudySettings
{
    /// <summary>Languages in the order they are added; the first <see cref="Evaluated"/> are the ones measured.</summary>
    public required IReadOnlyList<string> Languages { get; init; }
    public int Evaluated { get; init; } = 2;
    public required IReadOnlyList<int> LanguageCounts { get; init; }
    public required IReadOnlyList<ulong> Seeds { get; init; }
    public required int StepsPerLanguage { get; init; }
    public required string Preset { get; init; }
    public required long TrainBytesPerLanguage { get; init; }
    public required int VocabSize { get; init; }
    public int BatchSize { get; init; } = 16;
    public int SequenceLength { get; init; } = 64;
    public double PeakLearningRate { get; init; } = 1e-3;
    /// <summary>Languages added after pre-training in the "added" study (all among <see cref="Languages"/>).</summary>
    public required IReadOnlyList<string> Added { get; init; }
    /// <summary>How many of the first languages the "added" study's trunk is pre-trained on.</summary>
    public required int AddedBase { get; init; }
    public int TransferEpochs { get; init; } = 10;
    /// <summary>
    /// The transfer task's training language: German, because Debian's German manual pages (manpages-de)
    /// are the largest labelled set — English's own package has 11 section-1 pages.
    /// </summary>
    public string TransferSource { get; init; } = "de_DE";
    /// <summary>Source-language training paragraphs of the transfer task (balanced), when the training pages have that many.</summary>
    public int TransferExamples { get; init; } = 4000;
    public double TransferLearningRate { get; init; } = 5e-4;

    /// <summary>About 90 minutes on a 2-core machine.</summary>
    public static StudySettings Full => new()
    {
        Languages = ["en_XX", "ru_RU", "de_DE", "ja_XX", "fr_XX", "el_GR", "tr_TR", "fi_FI", "es_XX", "zh_CN", "pl_PL", "vi_VN", "id_ID", "uk_UA", "hu_HU", "it_IT"],
        LanguageCounts = [2, 4, 8, 16],
        Seeds = [1, 2],
        StepsPerLanguage = 300,
        Preset = "study",
        TrainBytesPerLanguage = 300_000,
        VocabSize = 8000,
        // Not el_GR: Debian has only 22 kB of Greek manual pages (a 1.5 kB held-out split).
        Added = ["tr_TR", "fi_FI", "vi_VN"],
        AddedBase = 4,
    };

    /// <summary>A smoke run of a minute or two on the three languages every test machine has.</summary>
    public static StudySettings Quick => new()
    {
        Languages = ["en_XX", "de_DE", "fr_XX"],
        LanguageCounts = [2, 3],
        Seeds = [1],
        StepsPerLanguage = 12,
        Preset = "nano",
        TrainBytesPerLanguage = 40_000,
        VocabSize = 600,
        SequenceLength = 32,
        BatchSize = 8,
        Added = ["fr_XX"],
        AddedBase = 2,
        TransferEpochs = 1,
        TransferExamples = 64,
    };

    public StudySettings Validate()
    {
        Check(Evaluated >= 1 && Evaluated <= Languages.Count, $"evaluated languages {Evaluated} must lie between 1 and {Languages.Count}");
        Check(LanguageCounts.Count > 0 && LanguageCounts.All(n => n >= Evaluated && n <= Languages.Count),
            $"language counts must lie between {Evaluated} and {Languages.Count}");
        Check(Seeds.Count > 0, "give at least one seed");
        Check(StepsPerLanguage > 0, $"steps per language {StepsPerLanguage} must be positive");
        Check(Languages.Take(LanguageCounts.Max()).Contains(TransferSource), $"the transfer source {TransferSource} must be one of the first {LanguageCounts.Max()} languages");
        Check(AddedBase >= 1 && Added.All(a => Languages.Take(AddedBase).All(b => b != a) && Languages.Contains(a)),
            "added languages must be study languages outside the first AddedBase");
        return this;
    }

    private static void Check(bool ok, string message)
    {
        if (!ok)
        {
            throw new XModException(message);
        }
    }
}

/// <summary>
/// A study's working directory: one corpus, one vocabulary, and pre-training runs that resume where
/// an interrupted study left them. Results are kept per configuration in results.json, so a
/// re-run only computes what is missing.
/// </summary>
public sealed class StudyWorkspace
{
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };
    private readonly Action<string> _log;
    private readonly Dictionary<string, double> _results;

    public StudyWorkspace(string dir, StudySettings settings, Action<string> log)
    {
        Directory = Path.GetFullPath(dir);
        Settings = settings.Validate();
        _log = log;
        System.IO.Directory.CreateDirectory(Directory);
        _results = File.Exists(ResultsFile)
            ? JsonSerializer.Deserialize<Dictionary<string, double>>(File.ReadAllText(ResultsFile)) ?? []
            : [];
    }

    public string Directory { get; }

    public StudySettings Settings { get; }

    public string CorpusDir => Path.Combine(Directory, "corpus");

    public string TokenizerDir => Path.Combine(Directory, "tokenizer");

    private string ResultsFile => Path.Combine(Directory, "results.json");

    /// <summary>Equally sized corpora for every study language (built once), and one vocabulary over all of them.</summary>
    public Corpus Prepare()
    {
        if (!File.Exists(Path.Combine(CorpusDir, Corpus.ManifestFile)))
        {
            _log($"building the corpus: {Settings.Languages.Count} languages, {Settings.TrainBytesPerLanguage / 1e3:F0} kB of training text each");
            CorpusBuilder.Build(Settings.Languages.Select(LanguageResolver.ResolveKnown).ToList(), CorpusDir, new CorpusOptions
            {
                MaxTrainBytes = Settings.TrainBytesPerLanguage, UseUdhr = false, SourceCache = XModPaths.SourceCache,
            }, _log);
        }
        var corpus = Corpus.Open(CorpusDir);
        foreach (var l in corpus.Manifest.Languages.Where(l => l.TrainBytes < Settings.TrainBytesPerLanguage * 0.8))
        {
            _log($"note: {l.Code} has only {l.TrainBytes / 1e3:F0} kB of training text (asked for {Settings.TrainBytesPerLanguage / 1e3:F0} kB)");
        }
        if (!File.Exists(Path.Combine(TokenizerDir, XModTokenizer.MetadataFile)))
        {
            _log($"training one vocabulary ({Settings.VocabSize} pieces) on all {Settings.Languages.Count} languages, used by every run");
            using var _ = VocabularyBuilder.Train(corpus, Settings.Languages, Settings.VocabSize, 0.7, 4_000_000, TokenizerDir, _log);
        }
        return corpus;
    }

    public bool TryResult(string key, out double value) => _results.TryGetValue(key, out value);

    public void Record(string key, double value)
    {
        _results[key] = value;
        AtomicFile.WriteAllText(ResultsFile, JsonSerializer.Serialize(_results, s_json) + "\n");
    }

    /// <summary>
    /// A pre-training run on <paramref name="languages"/>, started, resumed or found finished; its
    /// model directory. Every run uses the workspace's vocabulary.
    /// </summary>
    public string Pretrain(Corpus corpus, string name, IReadOnlyList<string> languages, bool shared, int steps, ulong seed, CancellationToken cancel)
    {
        var run = Path.Combine(Directory, "runs", name);
        var state = Path.Combine(run, "done");
        if (File.Exists(state))
        {
            return ModelDirectory.Resolve(run);
        }
        var options = new PretrainOptions
        {
            Preset = Settings.Preset, Languages = languages, Shared = shared, Steps = steps, BatchSize = Settings.BatchSize,
            SequenceLength = Settings.SequenceLength, PeakLearningRate = Settings.PeakLearningRate, VocabSize = Settings.VocabSize,
            Seed = seed, SaveEvery = Math.Max(50, steps / 4), LogEvery = Math.Max(1, steps / 10),
            // Nearly uniform sampling: equally sized corpora then give every language the same examples.
            Alpha = 0.05,
        };
        Pretrainer trainer;
        if (ModelDirectory.LatestCheckpoint(run) is not null)
        {
            trainer = Pretrainer.Resume(run, _log);
        }
        else
        {
            if (System.IO.Directory.Exists(run))
            {
                System.IO.Directory.Delete(run, recursive: true); // started but never checkpointed: start again
            }
            using (var vocabulary = XModTokenizer.Load(TokenizerDir))
            {
                vocabulary.Save(Path.Combine(run, ModelStore.TokenizerDir));
            }
            trainer = Pretrainer.Start(corpus, run, options, _ => { });
        }
        using (trainer)
        {
            _log($"{name}: {(shared ? "SHARED" : "X-MOD")} on {languages.Count} languages, {steps} steps of {Settings.BatchSize} x {Settings.SequenceLength}");
            trainer.Run(cancel, p => _log(string.Create(CultureInfo.InvariantCulture,
                $"  {name} step {p.Step}/{p.TotalSteps} loss {p.Loss:F3} {p.TokensPerSecond:F0} tok/s ETA {p.Remaining:mm\\:ss}")));
        }
        cancel.ThrowIfCancellationRequested();
        File.WriteAllText(state, "");
        return ModelDirectory.Resolve(run);
    }

    /// <summary>Held-out MLM perplexity (fixed masks) of <paramref name="languages"/> under a model directory.</summary>
    public IReadOnlyDictionary<string, double> Perplexity(Corpus corpus, string modelDir, IReadOnlyList<string> languages, IEnumerable<string>? modules = null)
    {
        using var loaded = LoadedModel.Open(modelDir);
        foreach (var m in modules ?? [])
        {
            loaded.AddLanguage(m);
        }
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var lang in languages)
        {
            var tokenizer = loaded.TokenizerFor(lang);
            var streams = CorpusTokens.Load(corpus, [lang], tokenizer, Path.Combine(Directory, "cache"), heldOut: true);
            result[lang] = Evaluator.Perplexity(loaded.Model, tokenizer, streams, [lang], Settings.SequenceLength, maxTokens: 20_000)[0].Perplexity;
        }
        return result;
    }
}
