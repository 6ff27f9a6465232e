using XMod.Packaging.Manifests;
using XMod.Runtime.Model;
using XMod.Runtime.Scoring;
using XMod.Runtime.Tokenization;
using XMod.Training.AddLanguage;
using XMod.Training.Corpora;

namespace XMod.Training.Tests;

/// <summary>Issue 12, item 4: held-out text is never training text, and an empty held-out split is said plainly.</summary>
[Collection(Serial.Name)]
public sealed class HonestNumbersTests(LoopFixture fixture) : IClassFixture<LoopFixture>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-honest-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static AddLanguageOptions Yoruba(int steps = 2) => new()
    {
        Language = "yo", Steps = steps, BatchSize = 4, SequenceLength = 32, LearningRate = 1e-3, LogEvery = 1, VocabSize = 400,
    };

    [Fact]
    public void AFileIsSplitByHashAndNothingHeldOutIsTrainedOn()
    {
        var lines = fixture.Corpus.Corpus.Train("de_DE");
        // The corpus's training split has no paragraph a 5% hash split holds out; 10% holds out some.
        var text = LanguageText.ByHash([.. lines, .. lines.Take(5)], "de.txt", 10);
        Assert.NotEmpty(text.HeldOut);
        Assert.Empty(text.Train.Intersect(text.HeldOut));
        Assert.Equal(lines.Distinct().Count(), text.Train.Count + text.HeldOut.Count);
    }

    [Fact]
    public void TrainTxtUsesItsSiblingHeldOutFileAndDropsAnOverlap()
    {
        var dir = Path.Combine(_dir, "corpus", "yo_NG");
        Directory.CreateDirectory(dir);
        File.WriteAllLines(Path.Combine(dir, "train.txt"), ["one paragraph of training text", "another paragraph of training text"]);
        File.WriteAllLines(Path.Combine(dir, "heldout.txt"), ["a held-out paragraph", "one paragraph of training text"]);
        var text = LanguageText.Read(Path.Combine(dir, "train.txt"), "yo_NG", 5);
        Assert.Equal(["one paragraph of training text", "another paragraph of training text"], text.Train);
        Assert.Equal(["a held-out paragraph"], text.HeldOut);
        Assert.Contains("heldout.txt", text.HeldOutSource, StringComparison.Ordinal);
    }

    [Fact]
    public void AMissingCorpusIsOneClearLine()
    {
        var e = Assert.Throws<XModException>(() => LanguageText.Read(Path.Combine(_dir, "nothere.txt"), "yo_NG", 5));
        Assert.StartsWith("--corpus", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ACorpusDirectoryGivesItsOwnSplitForAnyFormOfTheLanguage()
    {
        var text = LanguageText.Read(fixture.Corpus.Corpus.Directory, "deu", 5);
        Assert.Equal(fixture.Corpus.Corpus.HeldOut("de_DE").Count, text.HeldOut.Count);
        Assert.Empty(text.Train.Intersect(text.HeldOut));
    }

    [Fact]
    public void WithNothingHeldOutNoPerplexityIsMeasuredOrPublished()
    {
        var outDir = Path.Combine(_dir, "lang-yo");
        var log = new List<string>();
        var text = LanguageText.Split(fixture.Corpus.Corpus.Train("de_DE"), [], "test", "nothing");
        var result = LanguageExtender.Run(fixture.Trunk, text, outDir, Yoruba(), log.Add);
        Assert.Null(result.HeldOutPerplexity);
        Assert.Contains(log, l => l.Contains("no held-out perplexity", StringComparison.Ordinal));
        var manifest = PackageManifest.Load(outDir);
        Assert.DoesNotContain("heldout_perplexity", manifest.Metrics.Keys);
        Assert.Contains("not measured", File.ReadAllText(Path.Combine(outDir, "README.md")), StringComparison.Ordinal);
    }

    [Fact]
    public void AHeldOutPerplexityIsMeasuredOnHeldOutTextOnly()
    {
        var outDir = Path.Combine(_dir, "lang-yo");
        var text = LanguageText.ByHash(fixture.Corpus.Corpus.Train("de_DE"), "test", 10);
        var result = LanguageExtender.Run(fixture.Trunk, text, outDir, Yoruba(), _ => { });
        Assert.True(result.HeldOutPerplexity is { } p && double.IsFinite(p));
        var manifest = PackageManifest.Load(outDir);
        Assert.Equal(result.HeldOutPerplexity, manifest.Metrics["heldout_perplexity"]);
        Assert.Equal(text.HeldOut.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), manifest.Provenance["heldout_paragraphs"]);
    }

    [Fact]
    public void AnEmptyHeldOutSplitIsAClearMessageNotADivisionByZero()
    {
        var corpusDir = Path.Combine(_dir, "sw");
        Directory.CreateDirectory(Path.Combine(corpusDir, "sw_KE"));
        File.WriteAllText(Path.Combine(corpusDir, Corpus.ManifestFile), """
            {"created": "2026-01-01T00:00:00+00:00", "heldout_percent": 5, "languages": [{"code": "sw_KE", "sources": [], "train_paragraphs": 1,
             "train_bytes": 40, "heldout_paragraphs": 0, "heldout_bytes": 0, "duplicates_removed": 0}]}
            """);
        File.WriteAllText(Path.Combine(corpusDir, "sw_KE", "train.txt"), "Watu wote wamezaliwa huru, hadhi na haki zao ni sawa.\n");
        File.WriteAllText(Path.Combine(corpusDir, "sw_KE", "heldout.txt"), "");
        using var loaded = LoadedModel.Open(fixture.Trunk);
        var e = Assert.Throws<XModException>(() => CorpusTokens.Load(Corpus.Open(corpusDir), ["sw_KE"], loaded.RequireTokenizer(), Path.Combine(_dir, "cache"), heldOut: true));
        Assert.Contains("no held-out text in sw_KE", e.Message, StringComparison.Ordinal);

        var empty = TokenStreams.FromArrays(new Dictionary<string, int[]> { ["en_XX"] = [] });
        e = Assert.Throws<XModException>(() => Evaluator.Perplexity(loaded.Model, loaded.RequireTokenizer(), empty, ["en_XX"], 32));
        Assert.Contains("no held-out text in en_XX", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(0)]
    [InlineData(-5)]
    public void EvaluatingWithTooShortASequenceIsRefused(int seq)
    {
        using var loaded = LoadedModel.Open(fixture.Trunk);
        var streams = TokenStreams.FromArrays(new Dictionary<string, int[]> { ["en_XX"] = [5, 6, 7, 8, 9, 10] });
        var e = Assert.Throws<XModException>(() => Evaluator.Perplexity(loaded.Model, loaded.RequireTokenizer(), streams, ["en_XX"], seq));
        Assert.StartsWith($"--seq {seq}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CorpusBuildWarnsAboutAnEmptyOrTinyHeldOutSplit()
    {
        Assert.Contains("no held-out text", CorpusBuilder.HeldOutWarning(new CorpusLanguageStats("sw_KE", [], 12, 900, 0, 0, 0)), StringComparison.Ordinal);
        Assert.Contains("only 3 held-out", CorpusBuilder.HeldOutWarning(new CorpusLanguageStats("sw_KE", [], 60, 9000, 3, 200, 0)), StringComparison.Ordinal);
        Assert.Null(CorpusBuilder.HeldOutWarning(new CorpusLanguageStats("de_DE", [], 600, 90000, 40, 3000, 0)));
    }
}
