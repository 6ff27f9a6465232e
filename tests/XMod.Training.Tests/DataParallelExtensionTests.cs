using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using XMod.Runtime.Model;
using XMod.Training.Distributed;

namespace XMod.Training.Tests;

/// <summary>
/// Data-parallel language addition and fine-tuning (2 ranks x batch B against 1 process x batch
/// 2B, on loopback), and an interrupted data-parallel run: ranks are
/// XMod.Training.DataParallelWorker processes started by <see cref="LocalLauncher"/>.
/// </summary>
[Collection(Serial.Name)]
public sealed class DataParallelExtensionTests(ManPageCorpus corpus) : IClassFixture<ManPageCorpus>, IDisposable
{
    // As in DataParallelTests: the same sums in another order (~1e-7 relative per step) carried
    // through AdamW for a few steps, against a step-to-step change of the loss of 1e-2 or more.
    private const double Tolerance = 1e-5;

    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-dpx-").FullName;

    public void Dispose() => TempDir.Delete(_dir);

    /// <summary>A copy of the nano X-MOD trunk with dropout off: its draws depend on the batch's shape, so 2 x B could not match 1 x 2B with it on.</summary>
    private string TrunkWithoutDropout()
    {
        var trunk = Path.Combine(_dir, "trunk");
        PretrainedNano.CopyRun(PretrainedNano.Get().XMod, trunk);
        var configPath = Path.Combine(trunk, ModelStore.ConfigFile);
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        config["hidden_dropout_prob"] = 0.0;
        config["attention_probs_dropout_prob"] = 0.0;
        File.WriteAllText(configPath, config.ToJsonString());
        return trunk;
    }

    [Fact]
    public void AddingALanguageOnTwoRanksOfFourTrainsLikeOneProcessOfEight()
    {
        var trunk = TrunkWithoutDropout();
        var text = Path.Combine(_dir, "yo.txt");
        File.WriteAllLines(text, PretrainedNano.Get().Yoruba);

        var single = Output("single");
        Worker(null, ["add-language", trunk, text, "4", "8", single, "-"]);
        var expected = Losses(single, 0);
        Assert.Equal(4, expected.Length);

        // The pair uses the single run's vocabulary (SentencePiece training is not promised to
        // repeat bit-for-bit); rank 0 still sends it to rank 1 over the group.
        var pair = Output("pair");
        Worker(2, ["add-language", trunk, text, "4", "4", pair, Path.Combine(single, "package", ModelStore.TokenizerDir)]);
        AssertClose(expected, Losses(pair, 0));
        Assert.Empty(Losses(pair, 1)); // rank 1 reports nothing...
        Assert.True(File.Exists(Path.Combine(pair, "package", "module.safetensors"))); // ...and rank 0 wrote the package once
        Assert.True(Math.Abs(expected[3] - expected[0]) > 1000 * Tolerance * expected[0]);
    }

    [Fact]
    public void FineTuningOnTwoRanksOfFourTrainsLikeOneProcessOfEight()
    {
        var trunk = TrunkWithoutDropout();
        // 20 examples: batches of 8, 8 and 4, so rank 1 has no rows in the last one and sends zero gradients.
        var lines = corpus.Corpus.Train("en_XX").Take(20).Select((l, i) => (i % 3 == 0 ? "yes" : "no") + "\t" + l).ToList();
        var train = Path.Combine(_dir, "train.tsv");
        File.WriteAllLines(train, lines);

        var single = Output("single");
        Worker(null, ["finetune", trunk, train, "2", "8", single]);
        var expected = Losses(single, 0);
        Assert.Equal(6, expected.Length);

        var pair = Output("pair");
        Worker(2, ["finetune", trunk, train, "2", "4", pair]);
        AssertClose(expected, Losses(pair, 0));
        Assert.True(Directory.Exists(Path.Combine(pair, "task")));
        Assert.True(expected.Distinct().Count() > 1);
    }

    [Fact]
    public async Task AnInterruptedRunStopsEveryRankAfterTheSameStepWithOneCheckpoint()
    {
        var run = Path.Combine(_dir, "run");
        var output = Output("interrupted");
        using var stop = new CancellationTokenSource();
        var errors = new List<string>();
        var launch = Task.Run(() => LocalLauncher.Run("dotnet", WorkerArguments(["interrupt", corpus.Corpus.Directory, run, "100000", "4", output]), 2,
            e => { lock (errors) { errors.Add(e); } }, threadsPerRank: 1, stop.Token));
        var clock = Stopwatch.StartNew();
        while (!File.Exists(Path.Combine(output, "started")) && !launch.IsCompleted && clock.Elapsed < TimeSpan.FromMinutes(5))
        {
            await Task.Delay(100);
        }
        Assert.True(File.Exists(Path.Combine(output, "started")), $"no step was reported: {string.Join("\n", errors)}");
        stop.Cancel(); // what the CLI's launcher does on Ctrl-C (SIGINT)
        var code = await launch.WaitAsync(TimeSpan.FromMinutes(2)); // throws TimeoutException when the ranks do not stop

        Assert.Equal(LocalLauncher.CancelledExitCode, code);
        var steps = Enumerable.Range(0, 2).Select(r => int.Parse(File.ReadAllText(Path.Combine(output, $"stopped.{r}")), CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(steps[0], steps[1]); // both ranks stopped after the same step
        Assert.InRange(steps[0], 1, 99_999);
        var checkpoints = Path.Combine(run, ModelDirectory.CheckpointsDir);
        Assert.Equal([$"step-{steps[0]:D6}"], Directory.GetDirectories(checkpoints).Select(Path.GetFileName)); // one, complete (no temp left)
        Assert.Equal($"step-{steps[0]:D6}", File.ReadAllText(Path.Combine(checkpoints, ModelDirectory.LatestFile)).Trim());
        Assert.DoesNotContain(errors, e => e.Contains("failed", StringComparison.Ordinal) || e.Contains("killed", StringComparison.Ordinal));
    }

    private string Output(string name)
    {
        var dir = Path.Combine(_dir, name);
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static void AssertClose(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(actual[i] - expected[i]) <= Tolerance * Math.Abs(expected[i]),
                $"step {i + 1}: 2 ranks gave {actual[i]:R}, 1 process gave {expected[i]:R}");
        }
    }

    private static double[] Losses(string dir, int rank) =>
        [.. File.ReadAllLines(Path.Combine(dir, $"losses.{rank}")).Select(l => double.Parse(l, CultureInfo.InvariantCulture))];

    private static List<string> WorkerArguments(IEnumerable<string> args) =>
        [Path.Combine(AppContext.BaseDirectory, "XMod.Training.DataParallelWorker.dll"), .. args];

    /// <summary>Runs the worker as one process with 2 threads (<paramref name="ranks"/> null) or as that many launched ranks of 1 thread.</summary>
    private static void Worker(int? ranks, IEnumerable<string> args)
    {
        var arguments = WorkerArguments(args);
        var errors = new List<string>();
        int code;
        if (ranks is { } n)
        {
            code = LocalLauncher.Run("dotnet", arguments, n, e => { lock (errors) { errors.Add(e); } }, threadsPerRank: 1);
        }
        else
        {
            var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            arguments.ForEach(psi.ArgumentList.Add);
            psi.Environment["XMOD_THREADS"] = "2";
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            errors.Add(p.StandardError.ReadToEnd());
            p.WaitForExit();
            _ = stdout.Result;
            code = p.ExitCode;
        }
        Assert.True(code == 0, $"{arguments[1]} with {ranks?.ToString(CultureInfo.InvariantCulture) ?? "one process"} failed ({code}): {string.Join("\n", errors)}");
    }
}
