using XMod.Packaging.Languages;
using XMod.Runtime.Model;
using XMod.Runtime.Scoring;
using XMod.Runtime.Tokenization;
using XMod.Tensors;
using XMod.Training.Corpora;
using XMod.Training.Loop;
using XMod.Training.Pretraining;

namespace XMod.Training.Tests;

/// <summary>A small real corpus (Debian's English, German and French manual pages), the one the shared nano trunks train on.</summary>
public sealed class ManPageCorpus
{
    public Corpus Corpus { get; } = PretrainedNano.Get().Corpus;
}

[Collection(Serial.Name)]
public sealed class TrainingTests(ManPageCorpus corpus) : IClassFixture<ManPageCorpus>, IDisposable
{
    private readonly string _runs = Directory.CreateTempSubdirectory("xmod-runs-").FullName;

    public void Dispose() => TempDir.Delete(_runs);

    internal static PretrainOptions Nano(int steps, bool shared = false) => new()
    {
        Preset = "nano",
        Languages = ["en_XX", "de_DE", "fr_XX"],
        Shared = shared,
        Steps = steps,
        BatchSize = 8,
        SequenceLength = 32,
        PeakLearningRate = 3e-3,
        WarmupSteps = 2,
        VocabSize = 1000,
        VocabSampleBytes = 200_000,
        SaveEvery = 1000,
        KeepCheckpoints = 5,
    };

    [Fact]
    public void CorpusHoldsRealDeduplicatedTextWithAStableSplit()
    {
        var stats = corpus.Corpus.Manifest.Languages.Single(l => l.Code == "de_DE");
        Assert.True(stats.TrainParagraphs > 100 && stats.HeldOutParagraphs > 0, $"{stats}");
        Assert.True(stats.TrainBytes <= 120_000);
        var train = corpus.Corpus.Train("de_DE");
        Assert.Equal(train.Count, train.Distinct().Count());
        Assert.Empty(train.Intersect(corpus.Corpus.HeldOut("de_DE")));
        Assert.Contains(train, l => l.Contains(" und ", StringComparison.Ordinal) && l.Contains(' ')); // German prose
        Assert.DoesNotContain(train, l => l.Contains("\\f", StringComparison.Ordinal) || l.StartsWith('.'));
        Assert.All(corpus.Corpus.WithSources("de_DE", heldOut: false), p => Assert.Matches(@"^man\d\w*:", p.Source));

        // Building again yields the same split, byte for byte.
        var again = Directory.CreateTempSubdirectory("xmod-corpus-again-").FullName;
        try
        {
            CorpusBuilder.Build([LanguageCatalog.Get("de")], again, new CorpusOptions { MaxTrainBytes = 120_000, UseUdhr = false, SourceCache = again }, _ => { });
            Assert.Equal(File.ReadAllBytes(corpus.Corpus.HeldOutFile("de_DE")), File.ReadAllBytes(Path.Combine(again, "de_DE", "heldout.txt")));
        }
        finally
        {
            Directory.Delete(again, recursive: true);
        }
    }

    [Fact]
    public void NanoLossFallsOnRealText()
    {
        using var trainer = Pretrainer.Start(corpus.Corpus, Path.Combine(_runs, "falls"), Nano(60), _ => { });
        var losses = Enumerable.Range(0, 60).Select(_ => trainer.TrainStep().Loss).ToList();
        var first = losses.Take(10).Average();
        var last = losses.TakeLast(10).Average();
        Assert.True(last < first - 0.5, $"loss went from {first:F3} to {last:F3}");
        Assert.True(first > Math.Log(1000) - 1, $"an untrained model should start near ln(V), got {first:F3}");
    }

    [Fact]
    public void ResumeFromACheckpointGivesABitIdenticalNextStep()
    {
        var run = Path.Combine(_runs, "resume");
        double expected;
        byte[] expectedWeights;
        using (var trainer = Pretrainer.Start(corpus.Corpus, run, Nano(10), _ => { }))
        {
            for (var i = 0; i < 4; i++)
            {
                trainer.TrainStep();
            }
            trainer.SaveCheckpoint();
            expected = trainer.TrainStep().Loss;
            expectedWeights = trainer.Model.Trunk["roberta.encoder.layer.0.attention.self.query.weight"].ToBytes();
        }
        using var resumed = Pretrainer.Resume(run, _ => { }, "step-000004");
        Assert.Equal(4, resumed.Step);
        var actual = resumed.TrainStep().Loss;
        Assert.Equal(BitConverter.DoubleToInt64Bits(expected), BitConverter.DoubleToInt64Bits(actual));
        Assert.Equal(expectedWeights, resumed.Model.Trunk["roberta.encoder.layer.0.attention.self.query.weight"].ToBytes());
    }

    [Fact]
    public void RunWritesCheckpointsAtomicallyAndKeepsTheNewest()
    {
        var run = Path.Combine(_runs, "ckpt");
        using var trainer = Pretrainer.Start(corpus.Corpus, run, Nano(7) with { SaveEvery = 2, KeepCheckpoints = 2, LogEvery = 3 }, _ => { });
        var reports = new List<TrainingProgress>();
        trainer.Run(CancellationToken.None, reports.Add);
        Assert.Equal(7, trainer.Step);
        Assert.Equal([3, 6, 7], reports.Select(r => r.Step));
        Assert.All(reports, r => Assert.True(r.TokensPerSecond > 0 && r.Loss > 0));
        var checkpoints = Directory.GetDirectories(Path.Combine(run, "checkpoints")).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(["step-000006", "step-000007"], checkpoints);
        Assert.Equal("step-000007", ModelDirectory.LatestCheckpoint(run));
        Assert.Equal(Path.Combine(run, "checkpoints", "step-000007"), ModelDirectory.Resolve(run));
    }

    [Fact]
    public void CancellationStopsAfterTheStepAndSaves()
    {
        var run = Path.Combine(_runs, "cancel");
        using var trainer = Pretrainer.Start(corpus.Corpus, run, Nano(50) with { LogEvery = 1 }, _ => { });
        using var cancel = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() => trainer.Run(cancel.Token, p =>
        {
            if (p.Step == 3)
            {
                cancel.Cancel();
            }
        }));
        Assert.Equal(3, trainer.Step);
        Assert.Equal("step-000003", ModelDirectory.LatestCheckpoint(run));
    }

    [Fact]
    public void EvaluationUsesFixedMasksAndFillMaskPredictsPerMask()
    {
        using var trainer = Pretrainer.Start(corpus.Corpus, Path.Combine(_runs, "eval"), Nano(20), _ => { });
        for (var i = 0; i < 20; i++)
        {
            trainer.TrainStep();
        }
        var heldOut = CorpusTokens.Load(corpus.Corpus, ["en_XX", "de_DE"], trainer.Tokenizer, Path.Combine(_runs, "cache"), heldOut: true);
        var a = Evaluator.Perplexity(trainer.Model, trainer.Tokenizer, heldOut, ["en_XX", "de_DE"], 32, maxTokens: 2000);
        var b = Evaluator.Perplexity(trainer.Model, trainer.Tokenizer, heldOut, ["en_XX", "de_DE"], 32, maxTokens: 2000);
        Assert.Equal(a, b);
        Assert.All(a, r => Assert.True(r.Perplexity > 1 && r.Perplexity < 1002 && r.MaskedTokens > 50, r.ToString()));

        var predictions = Evaluator.FillMask(trainer.Model, trainer.Tokenizer, "The <mask> is in the <mask> directory.", "en_XX", topK: 4);
        Assert.Equal(2, predictions.Count);
        Assert.All(predictions, p =>
        {
            Assert.Equal(4, p.Count);
            Assert.True(p.Zip(p.Skip(1)).All(x => x.First.Probability >= x.Second.Probability));
        });
        Assert.Throws<XModException>(() => Evaluator.FillMask(trainer.Model, trainer.Tokenizer, "no mask here", "en_XX"));
    }

    [Fact]
    public void SharedBaselineAndBFloat16Train()
    {
        using var shared = Pretrainer.Start(corpus.Corpus, Path.Combine(_runs, "shared"), Nano(3, shared: true) with { BFloat16 = true }, _ => { });
        Assert.Equal(["shared"], shared.Model.Modules.Keys);
        for (var i = 0; i < 3; i++)
        {
            var (loss, _, _) = shared.TrainStep();
            Assert.True(double.IsFinite(loss));
        }
        Assert.All(shared.Model.AllParameters, p => Assert.Equal(DType.Float32, p.DType)); // master weights stay float32
    }

    [Fact]
    public void MaskingFollowsTheEightyTenTenRule()
    {
        var ids = Enumerable.Range(0, 200_000).Select(i => (long)(10 + i % 50)).ToArray();
        var original = (long[])ids.Clone();
        var labels = MlmMasking.Apply(ids, 100, new StableRandom(5), 0.15, maskId: 999, firstRegularId: 4, isSpecial: id => id < 4);
        var chosen = labels.Count(l => l != MlmMasking.IgnoreIndex);
        Assert.InRange(chosen / 200_000.0, 0.145, 0.155);
        var masked = ids.Count(i => i == 999);
        var kept = Enumerable.Range(0, ids.Length).Count(i => labels[i] != MlmMasking.IgnoreIndex && ids[i] == original[i]);
        Assert.InRange(masked / (double)chosen, 0.79, 0.81);
        Assert.InRange(kept / (double)chosen, 0.09, 0.11 + 0.002); // random replacements may hit the original
        Assert.All(Enumerable.Range(0, ids.Length).Where(i => labels[i] != MlmMasking.IgnoreIndex), i => Assert.Equal(original[i], labels[i]));
    }

    [Fact]
    public void LanguagesAreSampledWithSmoothedProbabilities()
    {
        var sizes = new Dictionary<string, int> { ["a"] = 90_000, ["b"] = 9_000, ["c"] = 1_000 };
        var data = NewData(sizes, alpha: 0.7);
        var expected = sizes.Values.Select(n => Math.Pow(n / 100_000.0, 0.7)).ToArray();
        var z = expected.Sum();
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(expected[i] / z, data.Probabilities[i], 12);
        }
        var counts = new Dictionary<string, int>();
        for (var step = 1; step <= 4000; step++)
        {
            var lang = data.Next(step, 0.15, 999, 4, id => id < 4).Language;
            counts[lang] = counts.GetValueOrDefault(lang) + 1;
        }
        Assert.InRange(counts["c"] / 4000.0, expected[2] / z - 0.02, expected[2] / z + 0.02);
        Assert.True(counts["c"] / 4000.0 > 0.01 * 2, "smoothing raises the smallest language above its 1% share");
    }

    private static PretrainingData NewData(Dictionary<string, int> sizes, double alpha)
    {
        var streams = TokenStreams.FromArrays(sizes.ToDictionary(kv => kv.Key, kv => Enumerable.Range(0, kv.Value).Select(i => 10 + i % 40).ToArray()));
        return new PretrainingData(streams, [.. sizes.Keys], 4, 16, alpha, 9);
    }
}
