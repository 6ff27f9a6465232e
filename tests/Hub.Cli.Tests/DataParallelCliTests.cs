namespace Hub.Cli.Tests;

/// <summary>
/// `--nproc N` on add-language and finetune through the real CLI process: N ranks start, train
/// together (Gloo on loopback), and rank 0 alone writes the output and reports. The library tests
/// (DataParallelExtensionTests) show the ranks' results equal one process's; this shows the verbs
/// wire it up.
/// </summary>
public sealed class DataParallelCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-cli-nproc-").FullName;

    public void Dispose() => TempDir.Delete(_dir);

    [Fact]
    public void AddLanguageAndFineTuneRunAsTwoRanksAndWriteOnce()
    {
        if (!XMod.Tensors.Distributed.ProcessGroup.IsAvailable)
        {
            return; // a shim built without Gloo refuses --nproc with its own line (DataParallelTests)
        }
        var nano = PretrainedNano.Get();
        var trunk = PretrainedNano.CopyRun(nano.XModRun, Path.Combine(_dir, "trunk"));
        var module = Path.Combine(_dir, "modules", "lang-yo");
        var added = CliProcess.RunOk(_dir, "add-language", "lang-yo", "--corpus", Path.Combine(nano.UdhrDir, "yo_NG", "train.txt"), "--trunk", trunk,
            "--out", module, "--steps", "4", "--batch", "2", "--seq", "32", "--vocab", "600", "--trunk-id", "xmod-nano", "--nproc", "2");
        // One report (rank 0's), one module.
        Assert.Single(added.StdOut.Split('\n'), l => l.Contains("added yo_NG", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(module, "xmod.json")));
        Assert.True(File.Exists(Path.Combine(module, "module.safetensors")));

        var train = Path.Combine(_dir, "train.tsv");
        File.WriteAllLines(train, File.ReadAllLines(Path.Combine(nano.CorpusDir, "en_XX", "train.txt"))
            .Zip(File.ReadAllLines(Path.Combine(nano.CorpusDir, "en_XX", "train.meta")))
            .Where(x => x.Second.StartsWith("man1", StringComparison.Ordinal) || x.Second.StartsWith("man3", StringComparison.Ordinal))
            .Take(32).Select(x => $"{x.Second[..4]}\t{x.First}"));
        var task = Path.Combine(_dir, "task");
        var tuned = CliProcess.RunOk(_dir, "finetune", "--trunk", trunk, "--trunk-id", "xmod-nano", "--train", train, "--lang", "en_XX", "--out", task,
            "--epochs", "1", "--batch", "4", "--max-length", "48", "--nproc", "2");
        Assert.Single(tuned.StdOut.Split('\n'), l => l.Contains("task model written", StringComparison.Ordinal));
        // The task model the two ranks trained predicts in the language they added.
        var predicted = CliProcess.RunOk(_dir, "predict", "--model", task, "--trunk", trunk, "--module", module, "--lang", "yo",
            "--text", "Gbogbo ènìyàn ni a bí ní òmìnira");
        Assert.Matches(@"^man[13]\t\d\.\d{3}\tGbogbo", predicted.StdOut.Trim());
    }

    [Theory]
    [InlineData("0")]
    [InlineData("100000")]
    public void AnImpossibleRankCountIsOneLineAndNothingStarts(string nproc)
    {
        var out_ = Path.Combine(_dir, "never");
        var r = CliProcess.Run(null, "add-language", "lang-yo", "--corpus", Path.Combine(_dir, "missing.txt"), "--trunk", Path.Combine(_dir, "none"),
            "--out", out_, "--nproc", nproc);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("--nproc must lie in [1, ", r.StdErr, StringComparison.Ordinal);
        Assert.Single(r.StdErr.Trim().Split('\n'));
        Assert.False(Directory.Exists(out_));
    }
}
