using XMod.Packaging.Manifests;
using XMod.Runtime.Model;
using XMod.Runtime.Tasks;
using XMod.Training.AddLanguage;
using XMod.Training.Checks;
using XMod.Training.FineTuning;
using XMod.Training.Pretraining;

namespace XMod.Training.Tests;

/// <summary>Issue 12, item 3: add-language, finetune and pretrain refuse bad input before any work.</summary>
[Collection(Serial.Name)]
public sealed class CheckBeforeWorkTests(LoopFixture fixture) : IClassFixture<LoopFixture>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-checks-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static AddLanguageOptions Yoruba(int steps = 2) => new()
    {
        Language = "yo", Steps = steps, BatchSize = 4, SequenceLength = 32, LearningRate = 1e-3, LogEvery = 1, VocabSize = 400,
    };

    private static void NoWork(string message) => Assert.Fail("no work before the checks: " + message);

    [Theory]
    [InlineData("1.0")]
    [InlineData("banana")]
    [InlineData("1.0.0.0.0")]
    [InlineData("")]
    public void AVersionThatIsNotSemVerIsRefused(string version)
    {
        var e = Assert.Throws<XModException>(() => (Yoruba() with { Version = version }).Validate());
        Assert.StartsWith("--version", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<XModException>(() => new FineTuneOptions { Kind = TaskKind.SequenceClassification, Labels = ["a"], Language = "en", Version = version }.Validate());
        Assert.StartsWith("--version", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1.0.0")]
    [InlineData("2.1.3-beta.1")]
    public void ASemVerVersionIsAccepted(string version) => Assert.Equal(version, InputChecks.Version(version));

    [Theory]
    [InlineData("lang-de")]
    [InlineData("de")]
    [InlineData("deu")]
    [InlineData("de-DE")]
    [InlineData("de_DE")]
    [InlineData("German")]
    public void EveryFormOfAKnownLanguageIsItsCode(string typed)
    {
        var d = (Yoruba() with { Language = typed }).Validate().Describe();
        Assert.Equal(("de_DE", "lang-de"), (d.Code, AddLanguageOptions.PackageId(d)));
    }

    [Fact]
    public void ALanguageTheCatalogueLacksNeedsNameScriptAndFamily()
    {
        var e = Assert.Throws<XModException>(() => (Yoruba() with { Language = "kab" }).Validate());
        Assert.Contains("--name, --script and --family", e.Message, StringComparison.Ordinal);

        var kabyle = (Yoruba() with { Language = "lang-kab", Name = "Kabyle", Script = "Latn", Family = "Afro-Asiatic > Berber" }).Validate();
        var d = kabyle.Describe();
        Assert.Equal(("kab", "kab", "kab", "Kabyle", "Latn", "lang-kab"), (d.Code, d.Bcp47, d.Iso6393, d.EnglishName, d.Script, AddLanguageOptions.PackageId(d)));

        e = Assert.Throws<XModException>(() => (kabyle with { Script = null }).Validate());
        Assert.StartsWith("--script", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<XModException>(() => (kabyle with { Family = " " }).Validate());
        Assert.StartsWith("--family", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../../etc", "Kabyle", "Latn")]
    [InlineData("kab/x", "Kabyle", "Latn")]
    [InlineData("k", "Kabyle", "Latn")]
    [InlineData("kab_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "Kabyle", "Latn")]
    [InlineData("kab", "Kab\nyle", "Latn")]
    [InlineData("kab", "Kabyle", "Latin")]
    [InlineData("kab", "Kabyle", "../x")]
    public void HostileLanguageDescriptionsAreRefused(string language, string name, string script)
    {
        var e = Assert.Throws<XModException>(() => (Yoruba() with { Language = language, Name = name, Script = script, Family = "Berber" }).Validate());
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void StepsMustBePositive()
    {
        var e = Assert.Throws<XModException>(() => Yoruba(0).Validate());
        Assert.Equal("--steps must be at least 1 (got 0)", e.Message);
    }

    [Fact]
    public void AFineTuningNameThatPublishCannotTakeIsRefused()
    {
        var e = Assert.Throws<XModException>(() => new FineTuneOptions { Kind = TaskKind.SequenceClassification, Labels = ["a"], Language = "en", Name = "my task/../x" }.Validate());
        Assert.StartsWith("--name", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnExistingOutputIsReplacedOnlyWithForce()
    {
        var outDir = Path.Combine(_dir, "lang-yo");
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "xmod.json"), "a trained module");
        var e = Assert.Throws<XModException>(() => LanguageExtender.Run(fixture.Trunk, fixture.Corpus.Corpus.Train("de_DE"), "test", outDir, Yoruba(), NoWork));
        Assert.Contains("--force", e.Message, StringComparison.Ordinal);
        Assert.Equal("a trained module", File.ReadAllText(Path.Combine(outDir, "xmod.json")));

        Assert.Throws<XModException>(() => InputChecks.Output(Path.Combine(outDir, "xmod.json"), force: true));
        InputChecks.Output(Path.Combine(_dir, "new"), force: false);
        Directory.CreateDirectory(Path.Combine(_dir, "empty"));
        InputChecks.Output(Path.Combine(_dir, "empty"), force: false);

        var result = LanguageExtender.Run(fixture.Trunk, fixture.Corpus.Corpus.Train("de_DE"), "test", outDir, Yoruba() with { Force = true }, _ => { });
        Assert.Equal("yo_NG", PackageManifest.Load(result.Directory).Language!.Code);
    }

    [Theory]
    [InlineData("bad id!")]
    [InlineData("../trunk")]
    public void ATrunkIdPublishWouldRefuseIsRefusedBeforeTraining(string trunkId)
    {
        var outDir = Path.Combine(_dir, "lang-yo");
        var e = Assert.Throws<XModException>(() => LanguageExtender.Run(fixture.Trunk, fixture.Corpus.Corpus.Train("de_DE"), "test", outDir, Yoruba() with { TrunkId = trunkId }, NoWork));
        Assert.Contains("not a valid package id", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void PretrainingTakesAnyFormOfTheCorpusLanguagesAndRefusesOthersBeforeWork()
    {
        Assert.Equal(["en_XX", "de_DE", "fr_XX"], Pretrainer.ResolveLanguages(fixture.Corpus.Corpus, ["en", "deu", "lang-fr"]));
        Assert.Equal(fixture.Corpus.Corpus.Languages, Pretrainer.ResolveLanguages(fixture.Corpus.Corpus, []));
        var run = Path.Combine(_dir, "run");
        var e = Assert.Throws<XModException>(() => Pretrainer.Start(fixture.Corpus.Corpus, run, TrainingLoopTests.Nano(2) with { Languages = ["en", "it"] }, NoWork));
        Assert.Contains("it", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(run));
    }

    [Fact]
    public void FineTuningTakesAnyFormOfTheTrunkLanguage()
    {
        using var loaded = LoadedModel.Open(fixture.Trunk);
        var examples = fixture.Corpus.Corpus.Train("en_XX").Take(8).Select((t, i) => new TaskExample { Text = t, Label = i % 2 }).ToList();
        using var model = FineTuner.Train(loaded, examples, new FineTuneOptions
        {
            Kind = TaskKind.SequenceClassification, Labels = ["a", "b"], Language = "eng", Epochs = 1, BatchSize = 8, MaxLength = 32,
        }, _ => { });
        Assert.Equal("en_XX", model.Info.SourceLanguage);
        var e = Assert.Throws<XModException>(() => FineTuner.Train(loaded, examples, new FineTuneOptions
        {
            Kind = TaskKind.SequenceClassification, Labels = ["a", "b"], Language = "yo", Epochs = 1, BatchSize = 8, MaxLength = 32,
        }, NoWork));
        Assert.Contains("has no language 'yo'", e.Message, StringComparison.Ordinal);
    }
}
