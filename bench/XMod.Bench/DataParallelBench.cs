using System.Diagnostics;
using System.Globalization;
using XMod.Packaging.Checkpoints;
using XMod.Runtime.Model;
using XMod.Runtime.Scoring;
using XMod.Tensors;
using XMod.Training.Distributed;
using XMod.Training.Loop;
using XMod.Training.Pretraining;

namespace XMod.Bench;

/// <summary>
/// Issue 14: data-parallel pre-training on this machine, 2 ranks x 1 thread (started by
/// <see cref="LocalLauncher"/>, as xmod-hub pretrain --nproc 2 does) against 1 rank x 2 threads,
/// the same global batch (16 x 64 of the mini preset, one language per step). Reported: tokens/s
/// of the global batch, and the share of a rank's step spent in the gradient all-reduce (waiting
/// for the other rank included).
/// </summary>
internal static class DataParallelBench
{
    private const int GlobalBatch = 16;
    private const int Length = 64;
    private const int Warmup = 2;
    private static readonly string[] s_langs = ["en_XX", "de_DE", "fr_XX", "ru_RU", "es_XX", "pl_PL", "ja_XX", "zh_CN"];

    public static int Run(string[] args, int steps)
    {
        var inv = CultureInfo.InvariantCulture;
        if (Array.IndexOf(args, "--rank-child") >= 0)
        {
            return Rank(steps);
        }
        var self = typeof(DataParallelBench).Assembly.Location;
        var output = Path.Combine(Path.GetTempPath(), $"xmod-bench-dp-{Environment.ProcessId}");
        Directory.CreateDirectory(output);
        try
        {
            string[] childArgs = [self, "dataparallel", "--rank-child", "--rounds", steps.ToString(inv), "--out", output];
            var errors = new List<string>();
            // 1 rank x 2 threads: the same code path with WORLD_SIZE=1.
            if (LocalLauncher.Run("dotnet", childArgs, 1, errors.Add, threadsPerRank: 2) != 0
                || LocalLauncher.Run("dotnet", childArgs, 2, errors.Add, threadsPerRank: 1) != 0)
            {
                errors.ForEach(Console.Error.WriteLine);
                return 1;
            }
            var one = File.ReadAllText(Path.Combine(output, "1.txt")).Split(' ').Select(s => double.Parse(s, inv)).ToArray();
            var two = File.ReadAllText(Path.Combine(output, "2.txt")).Split(' ').Select(s => double.Parse(s, inv)).ToArray();
            Console.WriteLine($"machine: {Measure.Machine()}; libtorch {Torch.Version}");
            Console.WriteLine($"date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; mini preset, 8 languages, global batch {GlobalBatch} x {Length}, MLM 15%; median of {steps} steps after {Warmup} warm-up");
            Console.WriteLine();
            Console.WriteLine("| layout | ms/step | tokens/s | all-reduce share of a step |");
            Console.WriteLine("|---|---|---|---|");
            Console.WriteLine(string.Create(inv, $"| 1 rank x 2 threads | {one[0] * 1000:F0} | {GlobalBatch * Length / one[0]:F0} | {one[1]:P1} |"));
            Console.WriteLine(string.Create(inv, $"| 2 ranks x 1 thread (Gloo, loopback) | {two[0] * 1000:F0} | {GlobalBatch * Length / two[0]:F0} | {two[1]:P1} |"));
            return 0;
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    /// <summary>One rank: trains warm-up + <paramref name="steps"/> steps; rank 0 writes "median-seconds comm-share" to OUT/WORLD.txt.</summary>
    private static int Rank(int steps)
    {
        var args = Environment.GetCommandLineArgs();
        var output = args[Array.IndexOf(args, "--out") + 1];
        using var parallel = DataParallel.FromEnvironment(TimeSpan.FromMinutes(5)) ?? throw new InvalidOperationException("no RANK/WORLD_SIZE");
        var config = XModConfig.Preset("mini") with { VocabSize = 16001, MaskTokenId = 16000, Languages = s_langs };
        using var model = XModModel.Initialize(config, 1);
        model.Training = true;
        var named = model.NamedParameters.ToList();
        var parameters = named.Select(kv => kv.Value).ToList();
        parallel.BroadcastFromLeader(parameters);
        var rows = GlobalBatch / parallel.WorldSize;
        using var loop = new TrainingLoop(parameters, named.Select(kv => Pretrainer.IsDecayed(kv.Key)).ToList(),
            OptimizerOptions.ForPretraining with { PeakLearningRate = 1e-4, WarmupSteps = 0 },
            new TrainingLoopOptions { TotalSteps = Warmup + steps, GradientReducer = parallel, IsLeader = parallel.IsLeader });
        var times = new List<double>();
        var comm = new List<double>();
        for (var s = 0; s < Warmup + steps; s++)
        {
            var rng = new StableRandom((ulong)s + 100);
            var ids = new long[GlobalBatch * Length];
            for (var i = 0; i < ids.Length; i++)
            {
                ids[i] = 4 + rng.NextInt(15996);
            }
            var labels = MlmMasking.Apply(ids, Length, rng, 0.15, 16000, 4, id => id < 4);
            var masked = MlmObjective.MaskedCount(labels);
            var span = rows * Length;
            var mine = ids.AsSpan(parallel.Rank * span, span).ToArray();
            var myLabels = labels.AsSpan(parallel.Rank * span, span).ToArray();
            var language = s_langs[s % s_langs.Length];
            var before = parallel.CommunicationTime;
            var clock = Stopwatch.StartNew();
            loop.TrainStep(_ => new StepLoss(
                MlmObjective.Loss(model, mine, myLabels, rows, Length, language, false, F.Reduction.Sum).Mul((double)parallel.WorldSize / masked),
                GlobalBatch * Length, language));
            if (s >= Warmup)
            {
                times.Add(clock.Elapsed.TotalSeconds);
                comm.Add((parallel.CommunicationTime - before).TotalSeconds / clock.Elapsed.TotalSeconds);
            }
        }
        loop.Optimizer.ZeroGrad();
        if (parallel.IsLeader)
        {
            File.WriteAllText(Path.Combine(output, $"{parallel.WorldSize}.txt"),
                string.Create(CultureInfo.InvariantCulture, $"{Measure.Median(times):R} {Measure.Median(comm):R}"));
        }
        return 0;
    }
}
