using XMod.TestSupport;
using XModHub.Client;

namespace Hub.Cli.Tests;

/// <summary>Issue 12's small defect: Ctrl-C on a step that saves a checkpoint says "checkpoint … saved" once, then how to continue.</summary>
public sealed class CancelOnSaveStepTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-cancel-save-").FullName;

    public void Dispose() => TempDir.Delete(_dir);

    /// <summary>Passes lines to the console reporter and cancels the run as soon as the first checkpoint is saved.</summary>
    private sealed class CancelOnSave(IReporter inner, CancellationTokenSource cancel) : IReporter
    {
        public void Info(string line)
        {
            inner.Info(line);
            if (line.StartsWith("checkpoint step-", StringComparison.Ordinal))
            {
                cancel.Cancel();
            }
        }

        public void Success(string line) => inner.Success(line);

        public void Warn(string line) => inner.Warn(line);

        public void Error(string line) => inner.Error(line);

        public void Diagnostic(string line) => inner.Diagnostic(line);
    }

    [Fact]
    public async Task CtrlCOnASaveStepSaysCheckpointSavedOnce()
    {
        var corpus = PretrainedNano.Get().CorpusDir;
        using var cancel = new CancellationTokenSource();
        await using var cli = new CliHarness(reporter: console => new CancelOnSave(console, cancel));
        var run = Path.Combine(_dir, "run");
        Assert.Equal(130, await cli.RunAsync(cancel.Token, "pretrain", "--corpus", corpus, "--out", run, "--preset", "nano", "--langs", "en_XX",
            "--steps", "6", "--save-every", "2", "--log-every", "1", "--batch", "2", "--seq", "32", "--vocab", "600", "--warmup", "1"));
        var all = cli.StdOut + cli.StdErr;
        Assert.Equal(1, all.Split("saved").Length - 1);
        Assert.Contains("checkpoint step-000002 saved", cli.StdOut);
        Assert.Contains($"cancelled; continue from step 2 with: xmod-hub pretrain --out {run} --resume", cli.StdErr);
    }
}
