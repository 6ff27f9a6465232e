using System.Text.Json;
using System.Text.Json.Serialization;
using XMod;
using XMod.Packaging.Languages;
using XMod.Packaging.Manifests;
using XMod.Runtime.Model;
using XMod.Training.AddLanguage;
using XMod.Training.Corpora;
using XMod.Training.Pretraining;
using XModHub.Client;
using XModHub.Client.Packages;

namespace XModHub.Cli.Workflows;

public sealed record RecipeCorpus(
    [property: JsonPropertyName("manpages")] bool ManPages,
    [property: JsonPropertyName("udhr")] bool Udhr,
    [property: JsonPropertyName("max_mb")] double MaxMb);

/// <summary>
/// modules/{id}/recipe.json: how a maintained package is made (text sources and sizes,
/// hyper-parameters). Its build outputs go to modules/{id}/build/, which is never committed.
/// </summary>
public sealed record Recipe
{
    [JsonPropertyName("kind")] public required string Kind { get; init; }
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("version")] public required string Version { get; init; }
    [JsonPropertyName("description")] public string Description { get; init; } = "";
    [JsonPropertyName("preset")] public string Preset { get; init; } = "mini";
    [JsonPropertyName("languages")] public IReadOnlyList<string> Languages { get; init; } = [];
    [JsonPropertyName("trunk")] public string? Trunk { get; init; }
    [JsonPropertyName("language")] public string? Language { get; init; }
    [JsonPropertyName("corpus")] public required RecipeCorpus Corpus { get; init; }
    [JsonPropertyName("steps")] public int Steps { get; init; } = 1000;
    [JsonPropertyName("batch")] public int Batch { get; init; } = 16;
    [JsonPropertyName("seq")] public int Seq { get; init; } = 128;
    [JsonPropertyName("lr")] public double Lr { get; init; } = 1e-4;
    [JsonPropertyName("vocab")] public int? Vocab { get; init; }
    [JsonPropertyName("bf16")] public bool BFloat16 { get; init; }
    [JsonPropertyName("seed")] public ulong Seed { get; init; } = 1;

    public static Recipe? TryLoad(string dir)
    {
        var path = Path.Combine(dir, "recipe.json");
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize<Recipe>(File.ReadAllText(path)) ?? throw new XModException($"{path} is empty");
        }
        catch (JsonException e)
        {
            throw new XModException($"{path} is not a valid recipe: {e.Message}");
        }
    }

    /// <summary>Builds what the build directory lacks, then publishes.</summary>
    public async Task PublishAsync(string dir, PackageManager manager, IReporter reporter, string sourceCache, string? source, CancellationToken cancel)
    {
        var build = Path.Combine(dir, "build");
        var corpusDir = Path.Combine(build, "corpus");
        var languages = (Kind == "trunk" ? Languages : [Language ?? throw new XModException($"{dir}/recipe.json: a language recipe needs 'language'")])
            .Select(LanguageCatalog.Get).ToList();
        if (!File.Exists(Path.Combine(corpusDir, XMod.Training.Corpora.Corpus.ManifestFile)))
        {
            reporter.Info($"{Id}: building its corpus");
            CorpusBuilder.Build(languages, corpusDir, new CorpusOptions
            {
                MaxTrainBytes = (long)(Corpus.MaxMb * 1_000_000), UseManPages = Corpus.ManPages, UseUdhr = Corpus.Udhr, SourceCache = sourceCache,
            }, reporter.Info);
        }
        var corpus = XMod.Training.Corpora.Corpus.Open(corpusDir);
        if (Kind == "trunk")
        {
            var run = Path.Combine(build, "run");
            if (ModelDirectory.LatestCheckpoint(run) is null || Pretrainer.Resume(run, _ => { }) is { } t && Dispose(t) < Steps)
            {
                reporter.Info($"{Id}: pre-training ({Steps} steps)");
                using var trainer = File.Exists(Path.Combine(run, Pretrainer.RunFile))
                    ? Pretrainer.Resume(run, reporter.Info, steps: Steps)
                    : Pretrainer.Start(corpus, run, new PretrainOptions
                    {
                        Preset = Preset, Languages = languages.Select(l => l.Code).ToList(), Steps = Steps, BatchSize = Batch, SequenceLength = Seq,
                        PeakLearningRate = Lr, VocabSize = Vocab ?? 16000, BFloat16 = BFloat16, Seed = Seed,
                    }, reporter.Info);
                trainer.Run(cancel, p => reporter.Info($"  step {p.Step}/{p.TotalSteps} loss {p.Loss:F3} ETA {Durations.Format(p.Remaining)}"));
            }
            await manager.PublishModelAsync(ModelDirectory.Resolve(run), Id, Version, source, cancel);
            return;
        }
        var package = Path.Combine(build, "package");
        if (!File.Exists(Path.Combine(package, PackageManifest.FileName)))
        {
            var trunkId = Trunk ?? throw new XModException($"{dir}/recipe.json: a language recipe needs 'trunk'");
            var trunk = manager.Cache.Find(trunkId) ?? await manager.InstallAsync(trunkId, null, cancel);
            var code = languages[0].Code;
            var sources = string.Join(", ", corpus.Manifest.Languages.Single().Sources);
            LanguageExtender.Run(manager.Cache.SnapshotDir(trunk.Id, trunk.Version),
                LanguageText.Split(corpus.Train(code), corpus.HeldOut(code), sources, "the recipe corpus's held-out split"), package, new AddLanguageOptions
                {
                    Language = code, Force = true, VocabSize = Vocab, Steps = Steps, BatchSize = Batch, SequenceLength = Seq, LearningRate = Lr,
                    BFloat16 = BFloat16, Seed = Seed, Version = Version, TrunkId = trunkId,
                }, reporter.Info, p => reporter.Info($"  step {p.Step}/{p.TotalSteps} loss {p.Loss:F3}"), cancel);
        }
        await manager.PublishDirectoryAsync(package, source, null, cancel);
    }

    private static int Dispose(Pretrainer t)
    {
        var step = t.Step;
        t.Dispose();
        return step;
    }
}
