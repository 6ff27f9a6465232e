using XMod.Packaging.Languages;
using XMod.Runtime.Model;
using XMod.Training.Corpora;
using XMod.Training.Loop;
using XMod.Training.Pretraining;

namespace XMod.Training.Tests;

/// <summary>Issue 12, item 7 and its small defects: restarts, the run log, progress lines, finished runs, corpus build's options.</summary>
[Collection(Serial.Name)]
public sealed class TrainingErgonomicsTests(LoopFixture fixture) : IClassFixture<LoopFixture>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-ergonomics-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ARunStoppedBeforeItsFirstCheckpointCanBeStartedAgain()
    {
        var run = Path.Combine(_dir, "run");
        using (Pretrainer.Start(fixture.Corpus.Corpus, run, TrainingLoopTests.Nano(2), _ => { }))
        {
            // stopped (disposed) before any step: run.json and the vocabulary exist, no checkpoint
        }
        Assert.True(File.Exists(Path.Combine(run, Pretrainer.RunFile)));
        Assert.Null(ModelDirectory.LatestCheckpoint(run));
        var e = Assert.Throws<XModException>(() => Pretrainer.Resume(run, _ => { }));
        Assert.Contains("without --resume", e.Message, StringComparison.Ordinal);

        var log = new List<string>();
        using (var again = Pretrainer.Start(fixture.Corpus.Corpus, run, TrainingLoopTests.Nano(2) with { LogEvery = 1 }, log.Add))
        {
            again.Run(CancellationToken.None);
        }
        Assert.Contains(log, l => l.Contains("again", StringComparison.Ordinal));
        Assert.DoesNotContain(log, l => l.StartsWith("vocabulary sample", StringComparison.Ordinal)); // same settings: the vocabulary is kept
        Assert.Equal("step-000002", ModelDirectory.LatestCheckpoint(run));

        // With a checkpoint, starting again is refused: resume it instead.
        e = Assert.Throws<XModException>(() => Pretrainer.Start(fixture.Corpus.Corpus, run, TrainingLoopTests.Nano(2), _ => Assert.Fail("no work")));
        Assert.Contains("--resume", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ARestartWithOtherVocabularySettingsTrainsANewVocabulary()
    {
        var run = Path.Combine(_dir, "run");
        using (Pretrainer.Start(fixture.Corpus.Corpus, run, TrainingLoopTests.Nano(2), _ => { }))
        {
        }
        var log = new List<string>();
        using var again = Pretrainer.Start(fixture.Corpus.Corpus, run, TrainingLoopTests.Nano(2) with { VocabSize = 800 }, log.Add);
        Assert.Contains(log, l => l.StartsWith("vocabulary sample", StringComparison.Ordinal));
        Assert.True(again.Tokenizer.VocabSize < 1000);
    }

    [Fact]
    public void TheRunLogKeepsEveryMessageAndProgressLineAcrossResumes()
    {
        var run = Path.Combine(_dir, "run");
        var log = new List<string>();
        using (var trainer = Pretrainer.Start(fixture.Corpus.Corpus, run, TrainingLoopTests.Nano(2) with { LogEvery = 1 }, log.Add))
        {
            trainer.Run(CancellationToken.None);
            Assert.Equal(Path.GetFullPath(fixture.Corpus.Corpus.Directory), trainer.CorpusDirectory);
        }
        // Progress while the vocabulary is trained and the text tokenised: a line per language.
        foreach (var lang in new[] { "en_XX", "de_DE", "fr_XX" })
        {
            Assert.Contains(log, l => l.StartsWith("vocabulary sample", StringComparison.Ordinal) && l.Contains(lang, StringComparison.Ordinal));
            Assert.Contains(log, l => l.StartsWith(lang + ": ", StringComparison.Ordinal) && l.Contains("tokens", StringComparison.Ordinal) && l.Contains("tokenised in", StringComparison.Ordinal));
        }
        Assert.DoesNotContain(log, l => l.Contains("LOG(INFO)", StringComparison.Ordinal) || l.Contains("trainer_interface", StringComparison.Ordinal));

        using (var resumed = Pretrainer.Resume(run, _ => { }, steps: 3, logEvery: 1))
        {
            resumed.Run(CancellationToken.None);
        }
        var file = File.ReadAllLines(Path.Combine(run, RunLog.FileName));
        Assert.All(log, l => Assert.Contains(file, f => f.EndsWith(l, StringComparison.Ordinal)));
        Assert.Contains(file, l => l.Contains("step      1/2", StringComparison.Ordinal));
        Assert.Contains(file, l => l.Contains("step      3/3", StringComparison.Ordinal));
        Assert.Contains(file, l => l.Contains("resumed", StringComparison.Ordinal));
        Assert.Contains(file, l => l.Contains("checkpoint step-000003 saved", StringComparison.Ordinal));
    }

    [Fact]
    public void ResumingAFinishedRunSaysItIsComplete()
    {
        var run = Path.Combine(_dir, "run");
        using (var trainer = Pretrainer.Start(fixture.Corpus.Corpus, run, TrainingLoopTests.Nano(2), _ => { }))
        {
            trainer.Run(CancellationToken.None);
        }
        var e = Assert.Throws<XModException>(() => Pretrainer.Resume(run, _ => { }));
        Assert.Contains("already complete", e.Message, StringComparison.Ordinal);
        Assert.Contains("--steps", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(double.NaN)]
    [InlineData(double.NegativeInfinity)]
    [InlineData(double.PositiveInfinity)]
    public void ANegativeOrNonFiniteMaxMbIsRefused(double mb)
    {
        var e = Assert.Throws<XModException>(() => CorpusOptions.MegabytesToBytes(mb));
        Assert.StartsWith("--max-mb", e.Message, StringComparison.Ordinal);
        Assert.Equal(2_500_000, CorpusOptions.MegabytesToBytes(2.5));
        Assert.Equal(0, CorpusOptions.MegabytesToBytes(0));
        e = Assert.Throws<XModException>(() => new CorpusOptions { SourceCache = _dir, MaxTrainBytes = -1 }.Validate());
        Assert.StartsWith("--max-mb", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CorpusBuildIntoAFileIsOneClearLine()
    {
        var file = Path.Combine(_dir, "corpus.txt");
        File.WriteAllText(file, "not a directory");
        var e = Assert.Throws<XModException>(() => CorpusBuilder.Build([LanguageCatalog.Get("de")], file,
            new CorpusOptions { SourceCache = _dir, UseManPages = false }, _ => Assert.Fail("no work")));
        Assert.Equal($"--out {file} is a file; give a directory for the corpus", e.Message);
        Assert.Equal("not a directory", File.ReadAllText(file));
    }
}
