using System.Text.RegularExpressions;

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
        foreach (var step in Enumerable.Range(1, 9).Select(i => $"[{i}/9 "))
        {
            Assert.Contains(step, r.StdOut);
        }
        Assert.Contains("published xmod-quickstart 1.0.0 and 5 language packages", r.StdOut);
        Assert.Contains("installed xmod-quickstart.lang-de 1.0.0", r.StdOut);
        Assert.Contains("published xmod-quickstart.lang-yo.1.0.0", r.StdOut);
        Assert.Contains("languages loaded: de_DE, yo_NG", r.StdOut);
        Assert.Matches(@"de_DE: "".*<mask>.*"" -> \S", r.StdOut);
        Assert.Matches(@"yo_NG: "".*<mask>.*"" -> \S", r.StdOut);

        // One table per trained language: trained, untrained and unigram on the same held-out masks.
        const string row = @"\s+{0}\s+\d+\.\d\s+\d+\.\d%\s+\d+\.\d%\r?\n";
        foreach (var (code, name) in new[] { ("en_XX", "English"), ("de_DE", "German"), ("fr_XX", "French"), ("es_XX", "Spanish"), ("ru_RU", "Russian"), ("yo_NG", "Yoruba") })
        {
            Assert.Matches($@"  {code} {name}: [\d,]+ masked tokens in \d+ held-out block\(s\), [\d,]+ shown as <mask>\r?\n\s+perplexity\s+top-1\s+top-5\r?\n" +
                string.Format(row, "trained") + string.Format(row, "untrained") + string.Format(row, "unigram"), r.StdOut);
        }
        Assert.Matches(new Regex(@"the trained model beats the unigram baseline.*x (lower|higher) on average", RegexOptions.IgnoreCase), r.StdOut);

        // Every step's time, then the total.
        foreach (var label in new[] { "corpora", "pre-training", "hub start", "publish", "install", "add Yoruba", "load", "fill-mask", "scores", "total" })
        {
            Assert.Matches($@"\n  {label}\s+\d+:\d\d\r?\n", r.StdOut);
        }
        Assert.Contains("What to try next", r.StdOut);
        Assert.Contains("./xmod-hub fill-mask --model xmod-quickstart --lang de", r.StdOut);
    }
}
