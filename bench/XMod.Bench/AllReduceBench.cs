using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using XMod.Packaging.Checkpoints;
using XMod.Tensors;
using XMod.Tensors.Distributed;

namespace XMod.Bench;

/// <summary>
/// Issue 14: the gradient all-reduce of data-parallel training, 2 ranks on loopback (this process
/// is rank 0 and starts rank 1 as a second XMod.Bench process), 1 thread each. The gradient set is
/// the mini preset's: the trunk plus 8 languages' modules in float32, as every rank holds them.
/// Reported per bucket size: milliseconds per all-reduce and the algorithm bandwidth (gradient
/// bytes / time).
/// </summary>
internal static class AllReduceBench
{
    private static readonly string[] s_langs = ["en_XX", "de_DE", "fr_XX", "ru_RU", "es_XX", "pl_PL", "ja_XX", "zh_CN"];
    private static readonly long[] s_buckets = [ProcessGroup.DefaultBucketBytes, 4L << 20, 1L << 20, 1];

    public static int Run(string[] args, int rounds)
    {
        var inv = CultureInfo.InvariantCulture;
        var rankIndex = Array.IndexOf(args, "--rank");
        var rank = rankIndex >= 0 ? int.Parse(args[rankIndex + 1], inv) : 0;
        var portIndex = Array.IndexOf(args, "--port");
        var port = portIndex >= 0 ? int.Parse(args[portIndex + 1], inv) : FreePort();
        Torch.Threads = 1;
        Process? peer = null;
        if (rank == 0)
        {
            var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false };
            foreach (var a in new[] { typeof(AllReduceBench).Assembly.Location, "allreduce", "--rank", "1", "--port", port.ToString(inv), "--rounds", rounds.ToString(inv) })
            {
                psi.ArgumentList.Add(a);
            }
            psi.Environment["XMOD_THREADS"] = "1";
            peer = Process.Start(psi)!;
        }
        var config = XModConfig.Preset("mini") with { Languages = s_langs };
        var specs = XModLayout.Trunk(config).Concat(s_langs.SelectMany(l => XModLayout.Module(config, l))).ToList();
        var grads = specs.Select((s, k) => TestGradient(s.Shape, k)).ToList();
        var bytes = specs.Sum(s => s.Shape.Aggregate(1L, (a, b) => a * b)) * 4;
        using var group = ProcessGroup.ConnectTcp("127.0.0.1", port, rank, 2, TimeSpan.FromMinutes(2));
        var results = new List<(long Bucket, double Ms)>();
        foreach (var bucket in s_buckets)
        {
            for (var w = 0; w < 3; w++)
            {
                group.AllReduce(grads, ReduceOp.Average, bucket);
            }
            var times = new List<double>();
            for (var r = 0; r < rounds; r++)
            {
                group.Barrier();
                var clock = Stopwatch.StartNew();
                group.AllReduce(grads, ReduceOp.Average, bucket);
                times.Add(clock.Elapsed.TotalMilliseconds);
            }
            results.Add((bucket, Measure.Median(times)));
        }
        foreach (var g in grads)
        {
            g.Dispose();
        }
        if (peer is null)
        {
            return 0;
        }
        peer.WaitForExit();
        Console.WriteLine($"machine: {Measure.Machine()}; libtorch {Torch.Version}");
        Console.WriteLine($"date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; 2 ranks on loopback (Gloo, TCP store), 1 thread each; median of {rounds} all-reduces (average) after 3 warm-up");
        Console.WriteLine(string.Create(inv, $"gradients: mini preset, trunk + 8 languages' modules, {specs.Count} float32 tensors, {bytes / 1e6:F1} MB"));
        foreach (var (bucket, ms) in results)
        {
            var name = bucket == 1 ? "none (one tensor per message)" : $"{bucket >> 20} MiB";
            Console.WriteLine(string.Create(inv, $"bucket {name,-30} {ms,8:F1} ms   {bytes / (ms / 1000) / 1e9,6:F2} GB/s"));
        }
        return peer.ExitCode;
    }

    private static Tensor TestGradient(long[] shape, int k)
    {
        using var ones = Torch.Ones(shape);
        return ones * (k % 5 + 0.5);
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
