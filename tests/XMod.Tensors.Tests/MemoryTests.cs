using System.Diagnostics;
using XMod.Tensors.Optim;

namespace XMod.Tensors.Tests;

[Collection(Serial.Name)]
public sealed class MemoryTests
{
    [Fact]
    public void ScopeFreesTemporariesButNotMovedResultsOrParameters()
    {
        SettleFinalizers();
        var baseline = Tensor.LiveHandles;
        var parameter = Torch.Ones([3]).AsParameter();
        Tensor kept;
        Tensor inner;
        using (var outer = DisposeScope.Begin())
        {
            using (var scope = DisposeScope.Begin())
            {
                var a = parameter * 2.0;
                var b = a + 1.0;
                inner = scope.MoveToOuter(b * b);
                Assert.Equal(2, scope.OwnedCount);
                Assert.Equal(baseline + 4, Tensor.LiveHandles); // parameter, a, b, b * b
            }
            Assert.False(inner.IsDisposed);
            Assert.Equal(baseline + 2, Tensor.LiveHandles);
            kept = outer.MoveToOuter(inner.Sum());
        }
        Assert.True(inner.IsDisposed);
        Assert.False(kept.IsDisposed);
        Assert.False(parameter.IsDisposed);
        Assert.Equal(27, kept.Item());
        Assert.Equal(baseline + 2, Tensor.LiveHandles);
        kept.Dispose();
        parameter.Dispose();
        Assert.Equal(baseline, Tensor.LiveHandles);
    }

    [Fact]
    public void ScopesMustCloseInnermostFirst()
    {
        var outer = DisposeScope.Begin();
        var inner = DisposeScope.Begin();
        Assert.Throws<InvalidOperationException>(() => outer.Dispose());
        inner.Dispose();
        outer.Dispose();
        Assert.Null(DisposeScope.Current);
    }

    [Fact]
    public void TenThousandTrainingStepsLeakNoHandlesAndKeepMemoryFlat()
    {
        Torch.ManualSeed(3);
        SettleFinalizers();
        var finalizedBefore = Tensor.FinalizedCount;
        var baseline = Tensor.LiveHandles;
        Tensor[] parameters;
        using (DisposeScope.Begin())
        {
            parameters =
            [
                (Torch.Randn([32, 16]) * 0.1).AsParameter(),
                Torch.Zeros([32]).AsParameter(),
                (Torch.Randn([8, 32]) * 0.1).AsParameter(),
                Torch.Zeros([8]).AsParameter(),
            ];
        }
        var (w1, b1, w2, b2) = (parameters[0], parameters[1], parameters[2], parameters[3]);
        using var opt = new AdamW(parameters, [0.01, 0, 0.01, 0]);
        var x = Torch.Randn([16, 16]).DetachFromScope();
        var targets = Tensor.From(new long[] { 0, 1, 2, 3, 4, 5, 6, 7, -100, 1, 2, 3, 4, 5, 6, 7 });
        long warmRss = 0;
        double firstLoss = 0, lastLoss = 0;
        Tensor.ResetPeakHandles();
        for (var step = 0; step < 10_000; step++)
        {
            using (DisposeScope.Begin())
            {
                var h = F.Dropout(F.Linear(x, w1, b1).Gelu(), 0.1, training: true);
                var logits = F.Linear(F.LayerNorm(h, [32], null, null, 1e-5), w2, b2);
                var loss = F.CrossEntropy(F.LogSoftmax(logits, -1), targets, ignoreIndex: -100);
                opt.ZeroGrad();
                loss.Backward();
                Gradients.ClipNorm(parameters, 1.0);
                opt.Step(1e-3);
                if (step == 0)
                {
                    firstLoss = loss.Item();
                }
                lastLoss = loss.Item();
            }
            if (step == 999)
            {
                warmRss = ResidentBytes();
            }
        }
        var finalRss = ResidentBytes();
        var peak = Tensor.PeakHandles;

        x.Dispose();
        targets.Dispose();
        opt.ZeroGrad();
        foreach (var p in parameters)
        {
            p.Dispose();
        }
        Assert.Equal(baseline, Tensor.LiveHandles);
        Assert.Equal(finalizedBefore, Tensor.FinalizedCount); // nothing relied on the finalizer
        Assert.True(peak < baseline + 100, $"peak live handles {peak} (baseline {baseline})");
        Assert.True(finalRss <= warmRss * 1.05, $"resident memory grew from {warmRss >> 20} MiB to {finalRss >> 20} MiB");
        Assert.True(lastLoss < firstLoss, $"loss did not fall: {firstLoss} -> {lastLoss}");
    }

    /// <summary>Lets tensors other tests dropped without disposing be finalized before a baseline is taken.</summary>
    private static void SettleFinalizers()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    private static long ResidentBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var p = Process.GetCurrentProcess();
        p.Refresh();
        return p.WorkingSet64;
    }
}
