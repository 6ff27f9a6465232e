namespace Hub.Cli.Tests;

/// <summary>`xmod-hub study`: a mistake is one line on stderr before anything is trained (the quick run itself is StudyTests).</summary>
public sealed class StudyVerbTests
{
    [Theory]
    [InlineData("bogus", null, "unknown study 'bogus'")]
    [InlineData("curse", "1,x", "--seeds: 'x' is not a non-negative whole number")]
    [InlineData("curse", "-3", "--seeds: '-3' is not a non-negative whole number")]
    [InlineData("curse", ",", "--seeds: give at least one seed")]
    public async Task BadStudyOrSeedsIsOneLineAndNothingIsCreated(string study, string? seeds, string expected)
    {
        await using var cli = new CliHarness();
        var dir = Path.Combine(cli.Home, "study");
        string[] args = seeds is null ? ["study", study, "--dir", dir, "--quick"] : ["study", study, "--dir", dir, "--quick", "--seeds", seeds];
        var code = await cli.RunAsync(args);
        Assert.NotEqual(0, code);
        Assert.Contains(expected, cli.StdErr);
        Assert.DoesNotContain("   at ", cli.StdErr);
        Assert.False(Directory.Exists(dir), "a refused study must not start a workspace");
    }

    [Theory]
    [InlineData("file", "is a file; give a directory for the study")]
    [InlineData("under-a-file", "the study cannot write there")]
    [InlineData("", "--dir is empty")]
    public async Task ADirThatCannotHoldAStudyIsOneLineNotABug(string kind, string expected)
    {
        await using var cli = new CliHarness();
        var file = Path.Combine(cli.Home, "a-file");
        File.WriteAllText(file, "not a directory");
        var dir = kind switch { "file" => file, "under-a-file" => Path.Combine(file, "sub"), _ => "" };

        var code = await cli.RunAsync(["study", "transfer", "--dir", dir, "--quick"]);

        Assert.NotEqual(0, code);
        Assert.Contains(expected, cli.StdErr);
        Assert.DoesNotContain("this is a bug", cli.StdErr);
        Assert.DoesNotContain("   at ", cli.StdErr);
        Assert.Equal("not a directory", File.ReadAllText(file));
    }

    [Fact]
    public void StudyNamesAreCaseInsensitive() =>
        Assert.Equal(["transfer"], XMod.Training.Studies.StudyReport.Select("TRANSFER"));
}
