using System.Text.Json.Nodes;
using XMod.Runtime.Model;
using XMod.Runtime.Tasks;
using XMod.Tensors;
using XMod.Training.AddLanguage;
using XMod.Training.FineTuning;
using XMod.Training.Loop;
using XMod.Training.Pretraining;

namespace XMod.Training.Tests;

/// <summary>The man-page corpus and a nano trunk pre-trained for a few steps: enough to take real steps with every trainer.</summary>
public sealed class LoopFixture : IDisposable
{
    public LoopFixture()
    {
        Corpus = new ManPageCorpus();
        Root = Directory.CreateTempSubdirectory("xmod-loop-").FullName;
        var run = Path.Combine(Root, "trunk");
        using (var trainer = Pretrainer.Start(Corpus.Corpus, run, TrainingLoopTests.Nano(4), _ => { }))
        {
            trainer.Run(CancellationToken.None);
        }
        Trunk = ModelDirectory.Resolve(run);
    }

    public ManPageCorpus Corpus { get; }

    public string Root { get; }

    public string Trunk { get; }

    public void Dispose() => TempDir.Delete(Root);
}

[Collection(Serial.Name)]
public sealed class TrainingLoopTests(LoopFixture fixture) : IClassFixture<LoopFixture>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-loop-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static PretrainOptions Nano(int steps) => TrainingTests.Nano(steps) with { KeepCheckpoints = 100 };

    private static FineTuneOptions Classify(int batch = 8) => new()
    {
        Kind = TaskKind.SequenceClassification, Labels = ["a", "b"], Language = "en_XX", Epochs = 1, BatchSize = batch, MaxLength = 32, LearningRate = 5e-4, LogEvery = 1,
    };

    private List<TaskExample> Examples(int count) =>
        fixture.Corpus.Corpus.Train("en_XX").Take(count).Select((t, i) => new TaskExample { Text = t, Label = i % 2 }).ToList();

    private static AddLanguageOptions Yoruba(int steps) => new()
    {
        Language = "yo", Steps = steps, BatchSize = 4, SequenceLength = 32, LearningRate = 1e-3, LogEvery = 1, VocabSize = 400,
    };

    // ---- one step, on a toy parameter ---------------------------------------------------------

    /// <summary>A hand-driven clock: time passes only when a test says so.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }

    private sealed class Toy : IDisposable
    {
        public Tensor Weight { get; } = Tensor.From(new[] { 1f, -2f, 3f, 0.5f }, 4).AsParameter();

        public TrainingLoop Loop(int steps, TimeProvider? clock = null, int logEvery = 1, int saveEvery = 0, IGradientReducer? reducer = null) =>
            new([Weight], [true], new OptimizerOptions { PeakLearningRate = 0.1, WarmupSteps = 0 },
                new TrainingLoopOptions { TotalSteps = steps, LogEvery = logEvery, SaveEvery = saveEvery, Clock = clock ?? TimeProvider.System, GradientReducer = reducer });

        /// <summary>Sum of squares: a gradient of 2w, so the norm is never zero here.</summary>
        public StepLoss Squares(int step) => new((Weight * Weight).Sum(), 10, "toy");

        public void Dispose() => Weight.Dispose();
    }

    [Fact]
    public void ANonFiniteLossStopsAtItsStepWithTheWeightsAndCheckpointsOfTheStepBefore()
    {
        using var toy = new Toy();
        using var loop = toy.Loop(10, saveEvery: 1);
        var saved = new List<int>();
        float[]? weightsAtLastSave = null;
        var e = Assert.Throws<XModException>(() => loop.Run(
            step => step == 3 ? new StepLoss(toy.Weight.Sum() * double.NaN, 10, "toy") : toy.Squares(step),
            CancellationToken.None, checkpoint: () =>
            {
                saved.Add(loop.Step);
                weightsAtLastSave = toy.Weight.ToArray<float>();
            }));
        Assert.Contains("diverged at step 3", e.Message);
        Assert.Contains("loss is NaN", e.Message);
        Assert.Equal([1, 2], saved);
        Assert.Equal(2, loop.Step);
        Assert.Equal(weightsAtLastSave, toy.Weight.ToArray<float>());
    }

    [Fact]
    public void ANonFiniteGradientStopsBeforeTheWeightsChange()
    {
        using var toy = new Toy();
        using var loop = toy.Loop(5);
        var before = toy.Weight.ToArray<float>();
        // sqrt(0 * w) is 0, its gradient 0 * inf: a finite loss with a NaN gradient.
        var e = Assert.Throws<XModException>(() => loop.TrainStep(_ => new StepLoss((toy.Weight * 0.0).Sqrt().Sum(), 1, "toy")));
        Assert.Contains("diverged at step 1: the gradient norm is NaN", e.Message);
        Assert.Equal(before, toy.Weight.ToArray<float>());
        Assert.Equal(0, loop.Step);
    }

    [Fact]
    public void GradientsAreReducedAfterBackwardAndBeforeClipping()
    {
        using var toy = new Toy();
        var reducer = new ScalingReducer();
        using var loop = toy.Loop(3, reducer: reducer);
        var r = loop.TrainStep(toy.Squares);
        Assert.Equal(1, reducer.Calls);
        // 2w = (2, -4, 6, 1): norm sqrt(57), times the reducer's 10.
        Assert.Equal(10 * Math.Sqrt(57), r.GradNorm, 4);
    }

    private sealed class ScalingReducer : IGradientReducer
    {
        public int Calls { get; private set; }

        public void Reduce(IReadOnlyList<Tensor> parameters)
        {
            Calls++;
            using var scope = DisposeScope.Begin();
            using var noGrad = Torch.NoGrad();
            foreach (var p in parameters)
            {
                p.Grad!.MulInPlace(10.0);
            }
        }
    }

    [Fact]
    public void TheEtaFollowsThisSessionsRateOfTrainingAndIgnoresCheckpointTime()
    {
        using var toy = new Toy();
        var clock = new ManualClock();
        using var loop = toy.Loop(20, clock, logEvery: 1, saveEvery: 2);
        // An earlier session took 1000 s for its 5 steps (200 s a step); this one takes 2 s a step
        // and 100 s per checkpoint save.
        loop.Restore(5, TimeSpan.FromSeconds(1000), 50);
        var reports = new List<TrainingProgress>();
        using var cancel = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() => loop.Run(step =>
        {
            clock.Advance(TimeSpan.FromSeconds(2));
            return toy.Squares(step);
        }, cancel.Token, p =>
        {
            reports.Add(p);
            if (p.Step == 9)
            {
                cancel.Cancel();
            }
        }, () => clock.Advance(TimeSpan.FromSeconds(100))));
        Assert.Equal([6, 7, 8, 9], reports.Select(r => r.Step));
        Assert.All(reports, r =>
        {
            Assert.Equal(TimeSpan.FromSeconds(2 * (20 - r.Step)), r.Remaining);
            Assert.Equal(10 / 2.0, r.TokensPerSecond, 9);
            Assert.True(r.GradNorm > 0);
        });
        // Elapsed is wall time of the whole run: the earlier 1000 s, 2 s a step, and the saves after steps 6 and 8.
        Assert.Equal(TimeSpan.FromSeconds(1000 + 2 * 4 + 2 * 100), reports[^1].Elapsed);
        Assert.Equal(50 + 4 * 10, loop.TokensSeen);
    }

    [Fact]
    public void CancellingOnASaveStepSavesOnceThenThrows()
    {
        using var toy = new Toy();
        using var loop = toy.Loop(10, logEvery: 1, saveEvery: 3);
        var saved = new List<int>();
        using var cancel = new CancellationTokenSource();
        var e = Assert.Throws<OperationCanceledException>(() => loop.Run(toy.Squares, cancel.Token, p =>
        {
            if (p.Step == 3)
            {
                cancel.Cancel();
            }
        }, () => saved.Add(loop.Step)));
        Assert.Equal([3], saved);
        Assert.Equal(3, loop.Step);
        Assert.Equal(cancel.Token, e.CancellationToken);
    }

    [Fact]
    public void AFollowerNeitherReportsNorSaves()
    {
        using var toy = new Toy();
        using var loop = new TrainingLoop([toy.Weight], [true], new OptimizerOptions(), new TrainingLoopOptions { TotalSteps = 3, LogEvery = 1, SaveEvery = 1, IsLeader = false });
        var calls = 0;
        loop.Run(toy.Squares, CancellationToken.None, _ => calls++, () => calls++);
        Assert.Equal(0, calls);
        Assert.Equal(3, loop.Step);
    }

    // ---- options ------------------------------------------------------------------------------

    public static TheoryData<string, Func<object>> BadOptions => new()
    {
        { "--batch must be at least 1 (got 0)", () => Classify(batch: 0).Validate() },
        { "--epochs must be at least 1 (got -1)", () => Classify() with { Epochs = -1 } },
        { "--lr must be a positive number (got NaN)", () => Classify() with { LearningRate = double.NaN } },
        { "--max-length must be at least 8 (got 0)", () => Classify() with { MaxLength = 0 } },
        { "dropout must lie in [0, 1) (got 1)", () => Classify() with { Dropout = 1 } },
        { "log_every must be at least 1 (got 0)", () => Yoruba(3) with { LogEvery = 0 } },
        { "--steps must be at least 1 (got 0)", () => Yoruba(0) },
        { "--lr must be a positive number (got -0.001)", () => Yoruba(3) with { LearningRate = -1e-3 } },
        { "--vocab must be at least 100 (got 5)", () => Yoruba(3) with { VocabSize = 5 } },
        { "--batch must be at least 1 (got 0)", () => Nano(10) with { BatchSize = 0 } },
        { "--log-every must be at least 1 (got 0)", () => Nano(10) with { LogEvery = 0 } },
        { "--save-every must be at least 1 (got -5)", () => Nano(10) with { SaveEvery = -5 } },
        { "--warmup must not exceed the 10 steps of the run (got 11)", () => Nano(10) with { WarmupSteps = 11 } },
        { "--lr must be a positive number (got Infinity)", () => Nano(10) with { PeakLearningRate = double.PositiveInfinity } },
        { "alpha must lie in (0, 1] (got 0)", () => Nano(10) with { Alpha = 0 } },
        { "clip_norm must be a positive number (got 0)", () => Nano(10) with { ClipNorm = 0 } },
        { "adam_beta2 must lie in [0, 1) (got 1)", () => new OptimizerOptions { Beta2 = 1 } },
        { "adam_eps must be a positive number (got -1)", () => new OptimizerOptions { Epsilon = -1 } },
        { "weight_decay must lie in [0, 1] (got NaN)", () => new OptimizerOptions { WeightDecay = double.NaN } },
        { "--log-every must be at least 1 (got 0)", () => new TrainingLoopOptions { TotalSteps = 5, LogEvery = 0 } },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void EveryBadNumberIsRejectedNamingTheOption(string message, Func<object> options)
    {
        var e = Assert.Throws<XModException>(() => options() switch
        {
            PretrainOptions p => (object)p.Validate(),
            AddLanguageOptions a => a.Validate(),
            FineTuneOptions f => f.Validate(),
            OptimizerOptions o => o.Validate(),
            TrainingLoopOptions l => l.Validate(),
            var other => other,
        });
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void EachTrainerValidatesBeforeAnyWork()
    {
        using var loaded = LoadedModel.Open(fixture.Trunk);
        var e = Assert.Throws<XModException>(() => FineTuner.Train(loaded, Examples(16), Classify(batch: 0), _ => Assert.Fail("no work before validation")));
        Assert.Equal("--batch must be at least 1 (got 0)", e.Message);

        var outDir = Path.Combine(_dir, "lang-yo");
        e = Assert.Throws<XModException>(() => LanguageExtender.Run(fixture.Trunk, fixture.Corpus.Corpus.Train("de_DE"), "test", outDir, Yoruba(5) with { LogEvery = 0 },
            _ => Assert.Fail("no work before validation")));
        Assert.Equal("log_every must be at least 1 (got 0)", e.Message);
        Assert.False(Directory.Exists(outDir));

        var run = Path.Combine(_dir, "run");
        e = Assert.Throws<XModException>(() => Pretrainer.Start(fixture.Corpus.Corpus, run, Nano(10) with { BatchSize = 0 }, _ => Assert.Fail("no work before validation")));
        Assert.Equal("--batch must be at least 1 (got 0)", e.Message);
        Assert.False(Directory.Exists(run));
    }

    [Fact]
    public void TheTrainersKeepTheirOwnPeakRatesAndShareTheRest()
    {
        Assert.Equal(7e-4, new PretrainOptions().PeakLearningRate);
        Assert.Equal(1e-4, new AddLanguageOptions { Language = "yo" }.LearningRate);
        Assert.Equal(1e-4, new FineTuneOptions { Kind = TaskKind.SequenceClassification, Labels = ["a"], Language = "x" }.LearningRate);
        var p = new PretrainOptions().Optimizer;
        Assert.Equal((0.9, 0.98, 1e-6, 0.01, 1.0), (p.Beta1, p.Beta2, p.Epsilon, p.WeightDecay, p.ClipNorm));
        Assert.Equal(p with { PeakLearningRate = 1e-4 }, new AddLanguageOptions { Language = "yo" }.Optimizer);
        Assert.Equal(60, new PretrainOptions { Steps = 1000 }.Warmup);
    }

    // ---- the three trainers through the loop ----------------------------------------------------

    [Fact]
    public void PretrainingReportsARealGradientNormAndCancelsWithOneCheckpoint()
    {
        var run = Path.Combine(_dir, "cancel");
        var log = new List<string>();
        using var trainer = Pretrainer.Start(fixture.Corpus.Corpus, run, Nano(50) with { LogEvery = 1, SaveEvery = 3 }, log.Add);
        using var cancel = new CancellationTokenSource();
        var reports = new List<TrainingProgress>();
        Assert.Throws<OperationCanceledException>(() => trainer.Run(cancel.Token, p =>
        {
            reports.Add(p);
            if (p.Step == 3)
            {
                cancel.Cancel();
            }
        }));
        Assert.Equal(3, trainer.Step);
        Assert.All(reports, r => Assert.True(r.GradNorm > 0 && double.IsFinite(r.GradNorm) && r.TokensPerSecond > 0, r.ToString()));
        Assert.Equal("step-000003", ModelDirectory.LatestCheckpoint(run));
        Assert.Single(log, l => l.Contains("checkpoint step-000003 saved", StringComparison.Ordinal));
    }

    [Fact]
    public void PretrainingThatDivergesKeepsTheLastGoodCheckpoint()
    {
        var run = Path.Combine(_dir, "diverge");
        using var trainer = Pretrainer.Start(fixture.Corpus.Corpus, run, Nano(30) with { SaveEvery = 1, PeakLearningRate = 1e12, WarmupSteps = 0 }, _ => { });
        var e = Assert.Throws<XModException>(() => trainer.Run(CancellationToken.None));
        Assert.Matches(@"^training diverged at step \d+: the (loss|gradient norm) is (NaN|Infinity|-Infinity);", e.Message);
        Assert.Equal($"step-{trainer.Step:D6}", ModelDirectory.LatestCheckpoint(run));
        var diverged = int.Parse(System.Text.RegularExpressions.Regex.Match(e.Message, @"step (\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(trainer.Step + 1, diverged);
    }

    [Fact]
    public void AfterResumingTheEtaUsesThisSessionsRateNotTheRunsHistory()
    {
        var run = Path.Combine(_dir, "eta");
        using (var first = Pretrainer.Start(fixture.Corpus.Corpus, run, Nano(8) with { LogEvery = 1 }, _ => { }))
        {
            using var cancel = new CancellationTokenSource();
            Assert.Throws<OperationCanceledException>(() => first.Run(cancel.Token, p =>
            {
                if (p.Step == 4)
                {
                    cancel.Cancel();
                }
            }));
        }
        // Pretend the first session was very slow: a million seconds for its four steps.
        var stateFile = Path.Combine(run, "checkpoints", "step-000004", "state.json");
        var state = JsonNode.Parse(File.ReadAllText(stateFile))!;
        state["elapsed_seconds"] = 1e6;
        File.WriteAllText(stateFile, state.ToJsonString());

        using var resumed = Pretrainer.Resume(run, _ => { }, logEvery: 1);
        var reports = new List<(TrainingProgress Progress, TimeSpan Expected)>();
        resumed.Run(CancellationToken.None, p => reports.Add((p, resumed.Loop.SessionTrainingTime / resumed.Loop.SessionSteps * (8 - p.Step))));
        Assert.Equal([5, 6, 7, 8], reports.Select(r => r.Progress.Step));
        Assert.All(reports, r =>
        {
            Assert.Equal(r.Expected, r.Progress.Remaining);
            Assert.True(r.Progress.Remaining < TimeSpan.FromMinutes(10), $"ETA {r.Progress.Remaining} follows the slow earlier session");
            Assert.True(r.Progress.Elapsed >= TimeSpan.FromSeconds(1e6));
        });
    }

    [Fact]
    public void AddingALanguageReportsARealGradientNorm()
    {
        var reports = new List<TrainingProgress>();
        LanguageExtender.Run(fixture.Trunk, fixture.Corpus.Corpus.Train("de_DE"), "test", Path.Combine(_dir, "lang-yo"), Yoruba(3), _ => { }, reports.Add);
        Assert.Equal([1, 2, 3], reports.Select(r => r.Step));
        Assert.All(reports, r => Assert.True(r.GradNorm > 0 && double.IsFinite(r.GradNorm) && r.TokensPerSecond > 0, r.ToString()));
    }

    [Fact]
    public void AddingALanguageStopsOnCancellationWritingNothing()
    {
        var outDir = Path.Combine(_dir, "lang-yo-cancelled");
        using var cancel = new CancellationTokenSource();
        var e = Assert.Throws<OperationCanceledException>(() => LanguageExtender.Run(fixture.Trunk, fixture.Corpus.Corpus.Train("de_DE"), "test", outDir, Yoruba(20), _ => { },
            p =>
            {
                if (p.Step == 2)
                {
                    cancel.Cancel();
                }
            }, cancel.Token));
        Assert.Contains("after step 2 of 20; nothing was saved", e.Message);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void FineTuningReportsARealGradientNormAndCancels()
    {
        using var loaded = LoadedModel.Open(fixture.Trunk);
        var reports = new List<TrainingProgress>();
        using (FineTuner.Train(loaded, Examples(24), Classify(), _ => { }, reports.Add))
        {
        }
        Assert.Equal([1, 2, 3], reports.Select(r => r.Step));
        Assert.All(reports, r => Assert.True(r.GradNorm > 0 && double.IsFinite(r.GradNorm) && r.TokensPerSecond > 0, r.ToString()));

        using var cancel = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() => FineTuner.Train(loaded, Examples(24), Classify(), _ => { }, _ => cancel.Cancel(), cancel.Token));
        Assert.All(loaded.Model.AllParameters, p => Assert.False(p.RequiresGrad));
    }
}
