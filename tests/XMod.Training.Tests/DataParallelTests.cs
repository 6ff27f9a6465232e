using System.Diagnostics;
using System.Globalization;
using XMod.Runtime.Tokenization;
using XMod.Training.Distributed;

namespace XMod.Training.Tests;

/// <summary>
/// Data-parallel pre-training on loopback: ranks are XMod.Training.DataParallelWorker processes,
/// started by <see cref="LocalLauncher"/> with torchrun's variables (the way xmod-hub pretrain
/// --nproc starts them), a single process without them.
/// </summary>
[Collection(Serial.Name)]
public sealed class DataParallelTests(ManPageCorpus corpus) : IClassFixture<ManPageCorpus>, IDisposable
{
    // The losses are means over the same masked tokens, computed in a different order: one
    // process sums all 16 rows' cross-entropies at once, two ranks each sum 8 rows and the
    // all-reduce adds the two halves (in float32), and the gradients likewise. Each step's
    // rounding differs by ~1e-7 relative and AdamW carries it into the next step's weights, so a
    // few steps stay inside 1e-5 relative (measured: 7e-8 at step 2) while a wrong batch split,
    // mask or loss weighting changes the loss by 1e-2 or more.
    private const double Tolerance = 1e-5;

    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-dp-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TwoRanksOfEightTrainLikeOneProcessOfSixteenAndResumeWithAnotherWorldSize()
    {
        // 1 x 16, a plain single process: steps 1..4.
        var single = Run("single");
        Assert.Equal(0, Worker(null, "start", single.Run, steps: 4, stopAt: 4, batch: 16, single.Out));
        var expected = Losses(single.Out, 0);
        Assert.Equal(4, expected.Length);

        // 2 x 8 with the same vocabulary (SentencePiece training is not promised to repeat
        // bit-for-bit): steps 1..2, then a checkpoint.
        var pair = Run("pair");
        using (var vocabulary = XModTokenizer.Load(Path.Combine(single.Run, "tokenizer")))
        {
            vocabulary.Save(Path.Combine(pair.Run, "tokenizer"));
        }
        Assert.Equal(0, Worker(2, "start", pair.Run, steps: 4, stopAt: 2, batch: 8, pair.Out));
        var first = Losses(pair.Out, 0);
        Assert.Equal(first, Losses(pair.Out, 1)); // every rank reports the all-reduced loss
        // The ranks' parameters stay bit-identical: same start (broadcast), same mean gradient, same update.
        Assert.Equal(File.ReadAllText(Path.Combine(pair.Out, "params.0")), File.ReadAllText(Path.Combine(pair.Out, "params.1")));

        // Resumed as ONE process of 16 (another world size): steps 3..4 continue the same data.
        var resumed = Path.Combine(_dir, "resumed");
        Directory.CreateDirectory(resumed);
        Assert.Equal(0, Worker(null, "resume", pair.Run, steps: 4, stopAt: 4, batch: 16, resumed));
        var actual = first.Concat(Losses(resumed, 0)).ToArray();

        Assert.Equal(4, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(actual[i] - expected[i]) <= Tolerance * Math.Abs(expected[i]),
                $"step {i + 1}: 2 x 8 gave {actual[i]:R}, 1 x 16 gave {expected[i]:R}");
        }
        // The test can fail: the loss moves by far more than the tolerance from step to step.
        Assert.True(Math.Abs(expected[3] - expected[0]) > 1000 * Tolerance * expected[0]);
    }

    [Fact]
    public void ARankThatDiesEndsTheOthersAndIsNamed()
    {
        var r = Run("dies");
        var errors = new List<string>();
        var clock = Stopwatch.StartNew();
        var code = LocalLauncher.Run("dotnet", WorkerArguments("start", r.Run, 4, 4, 4, r.Out, dieAt: 2), 2, errors.Add, threadsPerRank: 1);
        Assert.Equal(3, code);
        Assert.Contains(errors, e => e.StartsWith("rank 1 of 2 failed (exit code 3)", StringComparison.Ordinal));
        // Rank 0 was waiting in the step's all-reduce (60 s timeout): the launcher ended it at once.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(55), $"took {clock.Elapsed}");
        Assert.False(File.Exists(Path.Combine(r.Out, "losses.0")));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    [InlineData(LocalLauncher.MaxProcesses + 1)]
    public void AnImpossibleProcessCountIsOneLine(int n)
    {
        var e = Assert.Throws<XModException>(() => LocalLauncher.Run("dotnet", ["--version"], n, _ => { }));
        Assert.Equal($"--nproc must lie in [1, {LocalLauncher.MaxProcesses}] (got {n})", e.Message);
    }

    [Fact]
    public void RanksAreStartedWithoutNproc()
    {
        Assert.Equal(["pretrain", "--out", "r", "--batch", "8"],
            LocalLauncher.WithoutOption(["pretrain", "--nproc", "2", "--out", "r", "--nproc=4", "--batch", "8"], "--nproc"));
        // A value-less trailing --nproc (the parser refuses it before) takes nothing else with it.
        Assert.Equal(["pretrain"], LocalLauncher.WithoutOption(["pretrain", "--nproc"], "--nproc"));
    }

    [Fact]
    public void TheFreePortIsFree()
    {
        var port = LocalLauncher.FreePort();
        Assert.InRange(port, 1, 65535);
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
        listener.Start();
    }

    private (string Run, string Out) Run(string name)
    {
        var run = Path.Combine(_dir, name);
        var output = Path.Combine(_dir, name + "-out");
        Directory.CreateDirectory(output);
        return (run, output);
    }

    private static double[] Losses(string dir, int rank) =>
        [.. File.ReadAllLines(Path.Combine(dir, $"losses.{rank}")).Select(l => double.Parse(l, CultureInfo.InvariantCulture))];

    private List<string> WorkerArguments(string mode, string run, int steps, int stopAt, int batch, string output, int? dieAt = null)
    {
        var args = new List<string>
        {
            Path.Combine(AppContext.BaseDirectory, "XMod.Training.DataParallelWorker.dll"),
            mode, corpus.Corpus.Directory, run,
            steps.ToString(CultureInfo.InvariantCulture), stopAt.ToString(CultureInfo.InvariantCulture),
            batch.ToString(CultureInfo.InvariantCulture), output,
        };
        if (dieAt is { } d)
        {
            args.Add(d.ToString(CultureInfo.InvariantCulture));
        }
        return args;
    }

    /// <summary>Runs the worker as one process (<paramref name="ranks"/> null) or as that many launched ranks; returns the exit code.</summary>
    private int Worker(int? ranks, string mode, string run, int steps, int stopAt, int batch, string output)
    {
        var args = WorkerArguments(mode, run, steps, stopAt, batch, output);
        var errors = new List<string>();
        int code;
        if (ranks is { } n)
        {
            code = LocalLauncher.Run("dotnet", args, n, errors.Add, threadsPerRank: 1);
        }
        else
        {
            var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            args.ForEach(psi.ArgumentList.Add);
            psi.Environment["XMOD_THREADS"] = "2";
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            errors.Add(p.StandardError.ReadToEnd());
            p.WaitForExit();
            _ = stdout.Result;
            code = p.ExitCode;
        }
        Assert.True(code == 0, $"{mode} with {ranks?.ToString(CultureInfo.InvariantCulture) ?? "one process"} failed ({code}): {string.Join("\n", errors)}");
        return code;
    }
}
