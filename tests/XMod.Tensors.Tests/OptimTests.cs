using XMod.Tensors.Optim;

namespace XMod.Tensors.Tests;

public sealed class OptimTests
{
    /// <summary>torch.optim.AdamW's update, written out for one parameter.</summary>
    private static double[] ReferenceAdamW(double[] p, Func<double[], double[]> grad, int steps, double lr, double wd,
        double b1, double b2, double eps)
    {
        p = (double[])p.Clone();
        var m = new double[p.Length];
        var v = new double[p.Length];
        for (var t = 1; t <= steps; t++)
        {
            var g = grad(p);
            for (var i = 0; i < p.Length; i++)
            {
                p[i] *= 1 - lr * wd;
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                var mHat = m[i] / (1 - Math.Pow(b1, t));
                var denom = Math.Sqrt(v[i]) / Math.Sqrt(1 - Math.Pow(b2, t)) + eps;
                p[i] -= lr * mHat / denom;
            }
        }
        return p;
    }

    private static void StepOnSquares(AdamW opt, Tensor w, double lr)
    {
        using var scope = DisposeScope.Begin();
        opt.ZeroGrad();
        (w * w * w).Sum().Backward(); // d/dw = 3 w^2
        opt.Step(lr);
    }

    [Fact]
    public void AdamWMatchesTheReferenceUpdate()
    {
        double[] start = [1, -2, 0.5];
        var expected = ReferenceAdamW(start, p => p.Select(x => 3 * x * x).ToArray(), 5, 0.1, 0.01, 0.9, 0.999, 1e-8);
        using var w = Tensor.From(start).AsParameter();
        using var frozen = Tensor.From(new double[] { 4, 5 }).AsParameter();
        using var opt = new AdamW([w, frozen], [0.01, 0.01], beta1: 0.9, beta2: 0.999, eps: 1e-8);
        for (var i = 0; i < 5; i++)
        {
            StepOnSquares(opt, w, 0.1);
        }
        var got = w.ToArray<double>();
        for (var i = 0; i < got.Length; i++)
        {
            Assert.Equal(expected[i], got[i], 12);
        }
        Assert.NotEqual(start, got);
        Assert.Equal(new double[] { 4, 5 }, frozen.ToArray<double>()); // no gradient: untouched, even by weight decay
        Assert.Equal(5, opt.StepCount);
    }

    [Fact]
    public void AdamWResumesExactlyFromItsState()
    {
        double[] start = [0.3, -0.7];
        using var a = Tensor.From(start).AsParameter();
        using var optA = new AdamW([a], [0.05]);
        for (var i = 0; i < 3; i++)
        {
            StepOnSquares(optA, a, 0.01);
        }

        // A fresh optimizer given the parameter values, both moments and the step count...
        using var b = a.Detach().Clone().AsParameter();
        using var optB = new AdamW([b], [0.05]);
        var (m, v) = optA.State(0);
        var (mB, vB) = optB.State(0);
        using (Torch.NoGrad())
        {
            mB.CopyInPlace(m);
            vB.CopyInPlace(v);
        }
        foreach (var t in new[] { m, v, mB, vB })
        {
            t.Dispose();
        }
        optB.StepCount = optA.StepCount;

        // ...takes the bit-identical next step.
        StepOnSquares(optA, a, 0.01);
        StepOnSquares(optB, b, 0.01);
        Assert.Equal(a.ToArray<double>(), b.ToArray<double>());
    }

    [Fact]
    public void ClipNormScalesAllGradientsTogether()
    {
        using var x = Tensor.From(new double[] { 1, 1 }).AsParameter();
        using var y = Tensor.From(new double[] { 1 }).AsParameter();
        using (DisposeScope.Begin())
        {
            (x * Tensor.From(new double[] { 3, 0 })).Sum().Add((y * 4.0).Sum()).Backward();
        }
        var norm = Gradients.ClipNorm([x, y], 1.0);
        Assert.Equal(5, norm, 12);
        using var gx = x.Grad!;
        using var gy = y.Grad!;
        Assert.Equal(0.6, gx.ToArray<double>()[0], 6);
        Assert.Equal(0.8, gy.ToArray<double>()[0], 6);

        // Below the bound nothing changes.
        Assert.Equal(1, Gradients.ClipNorm([x, y], 10.0), 5);
        Assert.Equal(0.6, x.Grad!.ToArray<double>()[0], 6);
    }

    [Fact]
    public void InvalidHyperParametersAreRejectedWithTheirValues()
    {
        using var w = Torch.Ones([2]).AsParameter();
        var e = Assert.Throws<TorchException>(() => new AdamW([w], beta1: 1.5));
        Assert.Contains("1.5", e.Message);
        Assert.Throws<ArgumentException>(() => new AdamW([w], [0.1, 0.2]));
    }
}
