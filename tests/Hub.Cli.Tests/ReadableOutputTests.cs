using XModHub.Cli.Commands.FillMask;
using XModHub.Cli.Commands.Info;
using XModHub.Client;
using XModHub.Client.Packages;

namespace Hub.Cli.Tests;

/// <summary>Issue 12 item 8 and its smaller defects: what the verbs print, and hostile option values as one line each.</summary>
public sealed class ReadableOutputTests
{
    private static List<string> Lines(string text) => text.ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();

    [Theory]
    [InlineData("serve", "--host", "300.1.1.1", "--port", "0", "--host '300.1.1.1' is not an IP address")]
    [InlineData("serve", "--host", "1", "--port", "0", "--host '1' is not an IP address")] // IPv4 shorthand for 0.0.0.1
    [InlineData("serve", "--host", "127.0.0.1\n", "--port", "0", "--host '127.0.0.1\\u000a' is not an IP address")]
    [InlineData("serve", "--host", "127.0.0.1", "--port", "99999", "--port 99999 is not a port: give 1 to 65535 (0 picks a free one)")]
    [InlineData("serve", "--host", "127.0.0.1", "--port", "-1", "--port -1 is not a port")]
    [InlineData("fill-mask", "--model", "nowhere", "--lang", "de", "--text", "<mask>", "--top", "0", "--top 0 must lie between 1 and 100")]
    [InlineData("fill-mask", "--model", "nowhere", "--lang", "de", "--text", "<mask>", "--top", "1000", "--top 1000 must lie between 1 and 100")]
    [InlineData("corpus", "build", "--langs", "yo", "--max-mb", "-1", "--max-mb must be 0 (all the text) or a positive number of megabytes (got -1)")]
    [InlineData("pack", "nowhere-at-all", "--license", "MIT\u001b[2J", "--license 'MIT\\u001b[2J' is not an SPDX license identifier")]
    [InlineData("publish", "nowhere-at-all", "--license", "GPL-4.0", "--license 'GPL-4.0' is not an SPDX license identifier")]
    public async Task HostileValuesAreOneErrorLineOnStandardErrorAndNoBug(params string[] argsThenMessage)
    {
        await using var cli = new CliHarness();
        var args = argsThenMessage[..^1];
        Assert.Equal(1, await cli.RunAsync(args));
        var error = Assert.Single(Lines(cli.StdErr));
        Assert.StartsWith("error: " + argsThenMessage[^1], error);
        Assert.DoesNotContain('\u001b', error);
        Assert.Equal("", cli.StdOut);
    }

    [Fact]
    public async Task CorpusBuildAndServeRefuseAnExistingFileAsTheirDirectory()
    {
        await using var cli = new CliHarness();
        var file = Path.Combine(cli.Home, "a-file");
        File.WriteAllText(file, "x");
        Assert.Equal(1, await cli.RunAsync("corpus", "build", "--out", file, "--langs", "yo"));
        Assert.Equal(1, await cli.RunAsync("serve", "--data", file, "--port", "0"));
        Assert.Equal([$"error: --out {file} is a file; give a directory for the corpora (it is created when missing)",
            $"error: --data {file} is a file; give a directory for the hub's packages and index"], Lines(cli.StdErr));
        Assert.Equal("x", File.ReadAllText(file));
    }

    [Theory]
    [InlineData("Das ist ein <mask>.", new[] { "\u2581Haus" }, "Das ist ein Haus.")]
    [InlineData("<mask> ist gut.", new[] { "\u2581Das" }, "Das ist gut.")]
    [InlineData("Die Datei<mask> wird <mask>", new[] { "en", "\u2581gelesen" }, "Die Dateien wird gelesen")]
    public void FillMaskPrintsTheFilledSentence(string text, string[] best, string expected) => Assert.Equal(expected, FillMaskCommand.Filled(text, best));

    [Fact]
    public void FillMaskTokensAreReadable()
    {
        Assert.Equal("\" Haus\"", FillMaskCommand.Readable("\u2581Haus"));
        Assert.Equal("\"en\"", FillMaskCommand.Readable("en"));
        Assert.Equal("<unk>", FillMaskCommand.Readable("<unk>"));
    }

    [Fact]
    public void TextFromAPackageIsPrintedWithoutTerminalControls()
    {
        Assert.Equal("a\uFFFD[2Jb c", InfoCommand.Printable("a\u001b[2Jb\tc"));
        Assert.Equal("1.5 MB", InfoCommand.Bytes(1_500_000));
        Assert.Equal("12 kB", InfoCommand.Bytes(12_345));
    }

    [Fact]
    public void DownloadProgressOffATerminalWaitsForARateAndThenThrottles()
    {
        var reporter = new BufferReporter();
        var now = TimeSpan.Zero;
        var progress = new DownloadProgress(reporter, "t 1.0.0", terminal: false, clock: () => now);
        progress.Report(0, 1_000_000); // the first call comes before any byte: no "0%" line with a made-up ETA
        now = TimeSpan.FromSeconds(1);
        progress.Report(400_000, 1_000_000);
        Assert.Empty(reporter.Lines);
        now = TimeSpan.FromSeconds(2.5);
        progress.Report(500_000, 1_000_000);
        var line = Assert.Single(reporter.Lines);
        Assert.Contains("0.5/1.0 MB  50%", line);
        Assert.Contains("ETA 0:02", line);
        now = TimeSpan.FromSeconds(3);
        progress.Report(600_000, 1_000_000); // within 2 s of the last line
        progress.Done();
        Assert.Single(reporter.Lines);
    }
}
