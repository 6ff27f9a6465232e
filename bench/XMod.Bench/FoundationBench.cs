using System.Diagnostics;
using System.Globalization;
using XMod.Tensors;

namespace XMod.Bench;

/// <summary>
/// Issue 2's targets: (a) per-call overhead of a tiny op through the binding (target at most
/// 2 us over C++), (b) 1024^2 float32 matmul GFLOP/s through the binding vs the same product
/// from C++ against the same libtorch (target at least 95%). C# and C++ runs alternate inside one
/// run, and medians are compared, so the machine's noise hits both sides alike.
/// </summary>
internal static class FoundationBench
{
    private const int TinyCalls = 200_000;
    private const int MatmulCalls = 40;

    public static int Run(string baseline, int rounds)
    {
        var threads = Torch.Threads.ToString(CultureInfo.InvariantCulture);
        Environment.SetEnvironmentVariable("XMOD_THREADS", threads);
        var csTiny = new List<double>();
        var cppTiny = new List<double>();
        var cppBoxed = new List<double>();
        var csMatmul = new List<double>();
        var cppMatmul = new List<double>();

        TinyOp(TinyCalls / 10);
        Matmul(3);
        for (var r = 0; r < rounds; r++)
        {
            csTiny.Add(TinyOp(TinyCalls));
            cppTiny.Add(Measure.Baseline(baseline, "tiny", TinyCalls.ToString(CultureInfo.InvariantCulture)));
            cppBoxed.Add(Measure.Baseline(baseline, "tiny-boxed", TinyCalls.ToString(CultureInfo.InvariantCulture)));
            csMatmul.Add(Matmul(MatmulCalls));
            cppMatmul.Add(Measure.Baseline(baseline, "matmul", MatmulCalls.ToString(CultureInfo.InvariantCulture), "1024"));
            Console.Error.WriteLine($"round {r + 1}/{rounds}: C# add {csTiny[^1]:F0} ns, C++ add {cppTiny[^1]:F0} ns, C# matmul {csMatmul[^1]:F1} GFLOP/s, C++ matmul {cppMatmul[^1]:F1} GFLOP/s");
        }

        double cs = Measure.Median(csTiny), cpp = Measure.Median(cppTiny), boxed = Measure.Median(cppBoxed);
        double gcs = Measure.Median(csMatmul), gcpp = Measure.Median(cppMatmul);
        var overheadUs = (cs - cpp) / 1000;
        var ratio = gcs / gcpp;
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine($"machine: {Measure.Machine()}; libtorch {Torch.Version}, {threads} threads");
        Console.WriteLine($"date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; medians of {rounds} alternating rounds");
        Console.WriteLine();
        Console.WriteLine("| measure | C# binding | C++ direct | C++ boxed dispatcher | result | target |");
        Console.WriteLine("|---|---|---|---|---|---|");
        Console.WriteLine(string.Create(inv, $"| tiny op (add, 1 element), ns/call | {cs:F0} | {cpp:F0} | {boxed:F0} | overhead {overheadUs:F2} us | <= 2 us: {(overheadUs <= 2 ? "met" : "MISSED")} |"));
        Console.WriteLine(string.Create(inv, $"| matmul 1024x1024 float32, GFLOP/s | {gcs:F1} | {gcpp:F1} | | ratio {ratio:P1} | >= 95%: {(ratio >= 0.95 ? "met" : "MISSED")} |"));
        return 0;
    }

    /// <summary>Nanoseconds per call, results disposed as a training step's scope would.</summary>
    private static double TinyOp(int calls)
    {
        using var a = Torch.Ones([1]);
        using var b = Torch.Ones([1]);
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < calls; i++)
        {
            a.Add(b).Dispose();
        }
        return sw.Elapsed.TotalNanoseconds / calls;
    }

    private static double Matmul(int calls)
    {
        Torch.ManualSeed(1);
        using var a = Torch.Rand([1024, 1024]);
        using var b = Torch.Rand([1024, 1024]);
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < calls; i++)
        {
            a.Matmul(b).Dispose();
        }
        return 2.0 * 1024 * 1024 * 1024 * calls / sw.Elapsed.TotalSeconds / 1e9;
    }
}
