namespace Hub.Cli.Tests;

/// <summary>The README's main job, shortened: every step runs for real, with few training steps.</summary>
public sealed class QuickstartTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-quickstart-").FullName;

    public void Dispose() => TempDir.Delete(_dir);

    [Fact]
    public void QuickstartRunsEveryStepAndEndsWithWhatToTryNext()
    {
        var r = CliProcess.RunOk(_dir, "quickstart", "--dir", Path.Combine(_dir, "qs"), "--steps", "6");
        foreach (var step in new[] { "[1/8", "[2/8", "[3/8", "[4/8", "[5/8", "[6/8", "[7/8", "[8/8" })
        {
            Assert.Contains(step, r.StdOut);
        }
        Assert.Contains("published xmod-quickstart 1.0.0 and 5 language packages", r.StdOut);
        Assert.Contains("installed xmod-quickstart.lang-de 1.0.0", r.StdOut);
        Assert.Contains("published xmod-quickstart.lang-yo.1.0.0", r.StdOut);
        Assert.Contains("languages loaded: de_DE, yo_NG", r.StdOut);
        Assert.Matches(@"yo_NG: held-out perplexity \d+\.\d", r.StdOut);
        Assert.Matches(@"de_DE: held-out perplexity \d+\.\d", r.StdOut);
        Assert.Contains("What to try next", r.StdOut);
    }
}
