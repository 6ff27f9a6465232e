using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using XMod;
using XMod.Tensors.Diagnostics;
using XModHub.Cli;
using XModHub.Cli.Commands.Cache;
using XModHub.Cli.Commands.List;
using XModHub.Cli.Commands.Source;
using XModHub.Client;
using XModHub.Client.Feeds;

namespace Hub.Cli.Tests;

/// <summary>The verbs in-process, through the container the executable builds: exit codes, output streams, cancellation.</summary>
public sealed class CommandTests
{
    // ---- package verbs ----------------------------------------------------------------------------

    [Fact]
    public async Task SourceAddListRemoveEditTheHomeConfigOnly()
    {
        await using var cli = new CliHarness();
        Assert.Equal(0, await cli.RunAsync("source", "add", "mine", "http://127.0.0.1:1/v3/index.json", "--no-check", "--api-key", "secret"));
        Assert.Equal(0, await cli.RunAsync("source", "add", "other", "http://127.0.0.1:2/v3/index.json", "--no-check"));
        Assert.Equal(0, await cli.RunAsync("source", "add", "mine", "http://127.0.0.1:3/v3/index.json", "--no-check")); // replaces, moves last
        var config = ClientConfig.Load(cli.Home);
        Assert.Equal(["other", "mine"], config.Sources.Select(s => s.Name));
        Assert.Equal("http://127.0.0.1:3/v3/index.json", config.Sources[1].Url);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(ClientConfig.PathIn(cli.Home)));
        }

        Assert.Equal(0, await cli.RunAsync("source", "remove", "other"));
        Assert.Equal(0, await cli.RunAsync("source", "list"));
        Assert.Contains("mine         http://127.0.0.1:3/v3/index.json", cli.StdOut);
        Assert.DoesNotContain("other        http", cli.StdOut.Split("source remove")[^1]);
        Assert.Equal(["mine"], ClientConfig.Load(cli.Home).Sources.Select(s => s.Name));
        Assert.Equal(3, Lines(cli.StdOut).Count(l => l.EndsWith("was not checked; it is used as it is", StringComparison.Ordinal)));
        Assert.Equal("", cli.StdErr);
    }

    [Fact]
    public async Task PackageCommandsTakeTheirHomeFromTheContainer()
    {
        var home = Directory.CreateTempSubdirectory("xmod-cli-unit-").FullName;
        try
        {
            var reporter = new BufferReporter();
            using var http = new HttpClient();
            var packages = new PackageManagers(new CliPaths(home), http, reporter);
            Assert.Equal(0, new ListCommand(packages, reporter).Run());
            Assert.Equal(0, new CacheCommand(packages, reporter).Verify());
            Assert.Equal(0, await new SourceCommand(packages, reporter, http).AddAsync("a", "http://127.0.0.1:1/v3/index.json", null, noCheck: true, null, CancellationToken.None));
            Assert.Equal(["nothing installed", "every installed package is intact", "warning: http://127.0.0.1:1/v3/index.json was not checked; it is used as it is",
                "source a -> http://127.0.0.1:1/v3/index.json"], reporter.Lines);
            Assert.True(File.Exists(ClientConfig.PathIn(home)), "the source went to the injected home");
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    [Fact]
    public async Task UserErrorsAreOneLineOnStandardErrorWithExitOne()
    {
        await using var cli = new CliHarness();
        Assert.Equal(1, await cli.RunAsync("uninstall", "lang-de", "--trunk", "t"));
        Assert.Equal(1, await cli.RunAsync("install", "lang-de@not-a-version"));
        Assert.Equal(1, await cli.RunAsync("info", "some-trunk"));
        Assert.Equal(1, await cli.RunAsync("publish"));
        Assert.Equal("", cli.StdOut);
        Assert.Equal([
            "error: t.lang-de is not installed ('xmod-hub list' shows what is)",
            "error: 'not-a-version' in lang-de@not-a-version is not a version (SemVer, e.g. lang-de@1.0.0)",
            "error: no hub is configured: run 'xmod-hub source add NAME URL' (or set XMOD_HUB)",
            "error: give a package (lang-yo or a directory), or --model",
        ], Lines(cli.StdErr));
    }

    // ---- the central handler ----------------------------------------------------------------------

    [Fact]
    public async Task ABugGoesToStandardErrorWithItsHintAndTheTraceOnlyUnderVerbose()
    {
        await using var cli = new CliHarness(s => s.AddSingleton<Func<SystemReport>>(() => throw new InvalidOperationException("boom")));
        Assert.Equal(1, await cli.RunAsync("doctor"));
        Assert.Equal("", cli.StdOut);
        Assert.Equal(["error: InvalidOperationException: boom", "(this is a bug in xmod-hub; run again with --verbose for the stack trace)"], Lines(cli.StdErr));

        await using var verbose = new CliHarness(s => s.AddSingleton<Func<SystemReport>>(() => throw new InvalidOperationException("boom")));
        Assert.Equal(1, await verbose.RunAsync("doctor", "--verbose"));
        Assert.Equal("", verbose.StdOut);
        Assert.StartsWith("error: InvalidOperationException: boom\nSystem.InvalidOperationException: boom", verbose.StdErr.ReplaceLineEndings("\n"));
        Assert.Contains("   at ", verbose.StdErr);
        Assert.DoesNotContain("this is a bug", verbose.StdErr);
    }

    [Fact]
    public async Task ACancelledCommandExits130WithOneLineAndNoBugHint()
    {
        // A hub that accepts connections and never answers: search waits until it is cancelled.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        await using var cli = new CliHarness();
        Assert.Equal(0, await cli.RunAsync("source", "add", "silent", $"http://127.0.0.1:{port}/v3/index.json", "--no-check"));
        var before = cli.StdOut;
        var errorsBefore = Lines(cli.StdErr).Count;

        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        var started = DateTime.UtcNow;
        Assert.Equal(130, await cli.RunAsync(cancel.Token, "search", "yoruba"));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(30), "search did not stop on cancellation");
        Assert.Equal(before, cli.StdOut);
        Assert.Equal(["cancelled"], Lines(cli.StdErr).Skip(errorsBefore));
    }

    [Fact]
    public void CancellationSaysWhatWasSavedAndATimeoutIsNotACancellation()
    {
        var reporter = new BufferReporter();
        var errors = new CliErrors(reporter);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Equal(130, errors.Report(new XModHub.Cli.CommandCancelledException("checkpoint of step 40 saved", cancelled.Token), verbose: false, cancelRequested: true));
        Assert.Equal(130, errors.Report(new AggregateException(new OperationCanceledException()), verbose: false, cancelRequested: true));
        // HttpClient's own time-out is an OperationCanceledException nobody asked for: an error, exit 1.
        Assert.Equal(1, errors.Report(new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout"), verbose: false, cancelRequested: false));
        Assert.Equal(1, errors.Report(new XModException("bad input"), verbose: false, cancelRequested: true));
        Assert.Equal([
            "cancelled; checkpoint of step 40 saved",
            "cancelled",
            "error: TaskCanceledException: The request was canceled due to the configured HttpClient.Timeout",
            "(this is a bug in xmod-hub; run again with --verbose for the stack trace)",
            "error: bad input",
        ], reporter.Lines);
    }

    [Fact]
    public async Task UsageMistakesPrintTheErrorThenOneUsageLineNotTheHelpPage()
    {
        await using var cli = new CliHarness();
        Assert.Equal(1, await cli.RunAsync("install"));
        Assert.Equal(1, await cli.RunAsync("pretrain", "--steps", "many"));
        Assert.Equal(1, await cli.RunAsync("frobnicate"));
        Assert.Equal("", cli.StdOut);
        var err = Lines(cli.StdErr);
        Assert.Equal("error: Required argument missing for command: 'install'.", err[0]);
        Assert.Equal("usage: xmod-hub install <package> [options]   ('xmod-hub install --help' says more)", err[1]);
        Assert.Contains("error: Cannot parse argument 'many' for option '--steps' as expected type 'System.Int32'.", err);
        Assert.Contains("usage: xmod-hub pretrain --out <out> [options]   ('xmod-hub pretrain --help' says more)", err);
        Assert.Contains("error: Unrecognized command or argument 'frobnicate'.", err);
        Assert.Equal("usage: xmod-hub <command> [options]   ('xmod-hub --help' says more)", err[^1]);
        Assert.DoesNotContain("Description:", cli.StdErr);

        Assert.Equal(0, await cli.RunAsync("source", "add", "--help"));
        Assert.Contains("xmod-hub source add <name> <url> [options]", cli.StdOut.Replace("testhost", "xmod-hub"));
    }

    // ---- model, language and task verbs: their inputs are checked before any model is loaded ----

    [Fact]
    public async Task ModelVerbsRejectBadInputWithOneLine()
    {
        await using var cli = new CliHarness();
        var nowhere = Path.Combine(cli.Home, "nowhere");
        Assert.Equal(1, await cli.RunAsync("encode", "--model", nowhere, "--lang", "en_XX", "--text", "a", "--ids", "0"));
        Assert.Equal(1, await cli.RunAsync("import-hf", cli.Home, "--out", Path.Combine(cli.Home, "out")));
        Assert.Equal(1, await cli.RunAsync("corpus", "build", "--out", nowhere, "--heldout-percent", "90"));
        Assert.Equal(1, await cli.RunAsync("pretrain", "--corpus", nowhere, "--out", Path.Combine(cli.Home, "run")));
        var err = Lines(cli.StdErr);
        Assert.Equal(4, err.Count);
        Assert.Equal("error: give exactly one of --text and --ids", err[0]);
        Assert.Contains("has no model.safetensors", err[1]);
        Assert.Equal("error: --heldout-percent 90 must lie between 1 and 50", err[2]);
        Assert.Equal($"error: {nowhere} is not a corpus (corpus.json is missing): build one with 'xmod-hub corpus build --out {nowhere}'", err[3]);
        Assert.False(Directory.Exists(Path.Combine(cli.Home, "run")), "a failed start left a run directory");
    }

    [Fact]
    public async Task LanguageAndTaskVerbsRejectBadInputWithOneLine()
    {
        await using var cli = new CliHarness();
        var nowhere = Path.Combine(cli.Home, "nowhere");
        var data = Path.Combine(cli.Home, "train.tsv");
        File.WriteAllLines(data, ["pos\tgood", "no tab here"]);
        Assert.Equal(1, await cli.RunAsync("add-language", "lang-yo", "--corpus", nowhere, "--trunk", nowhere));
        Assert.Equal(1, await cli.RunAsync("finetune", "--trunk", nowhere, "--task", "summarise", "--train", data, "--lang", "en_XX", "--out", nowhere));
        Assert.Equal(1, await cli.RunAsync("finetune", "--trunk", nowhere, "--train", data, "--lang", "en_XX", "--out", nowhere));
        Assert.Equal(1, await cli.RunAsync("predict", "--model", nowhere, "--trunk", nowhere, "--lang", "en_XX"));
        Assert.Equal([
            $"error: --corpus {nowhere} does not exist: give a text file (one paragraph per line) or a corpus directory",
            "error: unknown task 'summarise': use sequence-classification, token-classification or question-answering",
            $"error: {data}:2: expected 'label<TAB>text'",
            "error: give --text or --file",
        ], Lines(cli.StdErr));
    }

    // ---- serve: cancellation is its normal end ----------------------------------------------------

    [Fact]
    public async Task ServeRunsUntilCancelledThenStopsCleanly()
    {
        await using var cli = new CliHarness();
        var data = Path.Combine(cli.Home, "hub");
        using var cancel = new CancellationTokenSource();
        var serving = cli.RunAsync(cancel.Token, "serve", "--port", "0", "--data", data);
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (!cli.StdOut.Contains("press Ctrl-C to stop", StringComparison.Ordinal) && !serving.IsCompleted && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        Assert.Contains("hub listening on http://127.0.0.1:", cli.StdOut);
        Assert.True(File.Exists(Path.Combine(data, "admin-key")));
        cancel.Cancel();
        Assert.Equal(0, await serving.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("", cli.StdErr);
    }

    private static List<string> Lines(string text) => text.ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
}
