namespace Hub.Cli.Tests;

/// <summary>Issue 12: the training verbs refuse bad input with one clear line, before any work.</summary>
public sealed class TrainingChecksCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-cli-checks-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static void OneClearLine(CliProcess.Result r, string expected)
    {
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(expected, r.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("this is a bug", r.StdOut + r.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void CorpusBuildRefusesANegativeCapAndAFileAsOut()
    {
        OneClearLine(CliProcess.Run(null, "corpus", "build", "--out", Path.Combine(_dir, "c"), "--langs", "yo", "--no-manpages", "--max-mb", "-1"), "--max-mb");
        var file = Path.Combine(_dir, "file.txt");
        File.WriteAllText(file, "x");
        OneClearLine(CliProcess.Run(null, "corpus", "build", "--out", file, "--langs", "yo", "--no-manpages"), "is a file");
        Assert.Equal("x", File.ReadAllText(file));
    }

    [Fact]
    public void AddLanguageChecksVersionLanguageAndOutputBeforeWork()
    {
        var corpus = Path.Combine(_dir, "yo.txt");
        File.WriteAllText(corpus, "Gbogbo ènìyàn ni a bí ní òmìnira\n");
        var missingTrunk = Path.Combine(_dir, "no-trunk");
        OneClearLine(CliProcess.Run(null, "add-language", "lang-yo", "--corpus", corpus, "--trunk", missingTrunk, "--version", "1.0"), "--version '1.0' is not a SemVer version");
        OneClearLine(CliProcess.Run(null, "add-language", "lang-qq", "--corpus", corpus, "--trunk", missingTrunk), "--name, --script and --family");
        OneClearLine(CliProcess.Run(null, "add-language", "lang-kab", "--corpus", corpus, "--trunk", missingTrunk, "--name", "Kabyle", "--script", "Latin", "--family", "Berber"), "--script");
        OneClearLine(CliProcess.Run(null, "add-language", "lang-yo", "--corpus", Path.Combine(_dir, "none.txt"), "--trunk", missingTrunk), "--corpus");
    }

    [Fact]
    public void AddLanguageRefusesASequenceLongerThanTheTrunksBeforeTrainingAVocabulary()
    {
        var nano = PretrainedNano.Get();
        var corpus = Path.Combine(nano.UdhrDir, "yo_NG", "train.txt");
        var out_ = Path.Combine(_dir, "lang-yo");
        var r = CliProcess.Run(null, "add-language", "lang-yo", "--corpus", corpus, "--trunk", nano.XModRun, "--out", out_, "--seq", "100000", "--vocab", "600");
        OneClearLine(r, "--seq 100000 exceeds the trunk's maximum sequence length of");
        Assert.DoesNotContain("vocabulary", r.StdOut, StringComparison.OrdinalIgnoreCase); // refused before any work
        Assert.False(Directory.Exists(out_));
    }
}
