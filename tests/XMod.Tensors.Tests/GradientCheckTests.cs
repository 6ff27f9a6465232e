namespace XMod.Tensors.Tests;

/// <summary>
/// Every operator the model uses: the gradient autograd computes through the binding matches
/// central finite differences in float64 (relative error below 1e-6).
/// </summary>
[Collection(Serial.Name)] // dropout re-seeds libtorch's global generator
public sealed class GradientCheckTests
{
    private sealed record Case(Func<Tensor[]> Inputs, Func<Tensor[], Tensor> Function);

    private static Tensor P(int seed, params long[] shape) => TestData.Uniform(seed, shape);

    private static readonly Dictionary<string, Case> s_cases = new()
    {
        ["add"] = new(() => [P(1, 3, 4), P(2, 3, 4)], x => x[0].Add(x[1], 0.5)),
        ["sub"] = new(() => [P(1, 3, 4), P(2, 4)], x => x[0] - x[1]),
        ["mul"] = new(() => [P(1, 3, 4), P(2, 3, 4)], x => x[0] * x[1]),
        ["div"] = new(() => [P(1, 3, 4), TestData.Uniform(2, [3, 4], 1, 2)], x => x[0] / x[1]),
        ["scalar ops"] = new(() => [P(1, 5)], x => ((x[0] * 3.0) + 1.5) / 2.0 - 0.25),
        ["exp log sqrt"] = new(() => [TestData.Uniform(1, [6], 0.5, 2)], x => x[0].Exp() + x[0].Log() + x[0].Sqrt() + x[0].Rsqrt()),
        ["pow tanh sigmoid"] = new(() => [P(1, 6)], x => x[0].Pow(3) + x[0].Tanh() + x[0].Sigmoid()),
        ["relu abs (away from 0)"] = new(() => [TestData.Uniform(1, [6], 0.1, 1)], x => x[0].Relu() + (x[0] - 2).Abs() * 2.0),
        ["clamp (inside and outside)"] = new(() => [TestData.Uniform(1, [8], -2, 2)], x => x[0].Clamp(-0.95, 0.95)),
        ["gelu exact"] = new(() => [P(1, 4, 5)], x => x[0].Gelu()),
        ["gelu tanh"] = new(() => [P(1, 4, 5)], x => x[0].Gelu(tanhApproximation: true)),
        ["linear"] = new(() => [P(1, 2, 3, 5), P(2, 4, 5), P(3, 4)], x => F.Linear(x[0], x[1], x[2])),
        ["linear without bias"] = new(() => [P(1, 3, 5), P(2, 4, 5)], x => F.Linear(x[0], x[1])),
        ["matmul 2d"] = new(() => [P(1, 3, 4), P(2, 4, 5)], x => x[0].Matmul(x[1])),
        ["matmul batched"] = new(() => [P(1, 2, 3, 4), P(2, 2, 4, 5)], x => x[0].Matmul(x[1])),
        ["layer_norm"] = new(() => [P(1, 3, 6), P(2, 6), P(3, 6)], x => F.LayerNorm(x[0], [6], x[1], x[2], 1e-5)),
        ["softmax"] = new(() => [P(1, 3, 5)], x => F.Softmax(x[0], -1)),
        ["log_softmax"] = new(() => [P(1, 3, 5)], x => F.LogSoftmax(x[0], 1)),
        ["dropout (fixed seed)"] = new(() => [P(1, 4, 6)], x =>
        {
            Torch.ManualSeed(1234);
            return F.Dropout(x[0], 0.3, training: true);
        }),
        ["embedding"] = new(() => [P(1, 7, 4)], x =>
        {
            using var ids = TestData.Longs(0, 3, 3, 6, 1, 0);
            return F.Embedding(x[0], ids.View(2, 3));
        }),
        ["cross_entropy with ignore_index"] = new(() => [P(1, 5, 7)], x =>
        {
            using var targets = TestData.Longs(2, -100, 6, 0, -100);
            return F.CrossEntropy(x[0], targets, ignoreIndex: -100);
        }),
        ["cross_entropy summed, label smoothing"] = new(() => [P(1, 4, 3)], x =>
        {
            using var targets = TestData.Longs(2, 0, 1, 1);
            return F.CrossEntropy(x[0], targets, reduction: F.Reduction.Sum, labelSmoothing: 0.1);
        }),
        ["masked_fill"] = new(() => [P(1, 3, 4)], x =>
        {
            using var mask = x[0].Gt(0.2);
            return x[0].MaskedFill(mask, -3.0) * x[0];
        }),
        ["index_select"] = new(() => [P(1, 5, 3)], x =>
        {
            using var idx = TestData.Longs(4, 0, 4, 2);
            return x[0].IndexSelect(0, idx);
        }),
        ["gather"] = new(() => [P(1, 3, 4)], x =>
        {
            using var idx = Tensor.From(new long[] { 0, 3, 1, 1, 2, 0 }, 3, 2);
            return x[0].Gather(1, idx);
        }),
        ["cat"] = new(() => [P(1, 2, 3), P(2, 4, 3)], x => Torch.Cat([x[0], x[1]], 0)),
        ["stack"] = new(() => [P(1, 2, 3), P(2, 2, 3)], x => Torch.Stack([x[0], x[1]], 1)),
        ["split"] = new(() => [P(1, 7, 2)], x =>
        {
            var parts = x[0].Split(3, 0); // (3, 2), (3, 2), (1, 2)
            return parts[0] * 2.0 + parts[1] * parts[1] + parts[2].Sum();
        }),
        ["chunk"] = new(() => [P(1, 4, 6)], x =>
        {
            var parts = x[0].Chunk(3, 1);
            return parts[0] * parts[2] - parts[1];
        }),
        ["view reshape"] = new(() => [P(1, 2, 6)], x => x[0].View(3, 4).Reshape(4, 3) * TestData.Uniform(9, [4, 3])),
        ["transpose permute contiguous"] = new(() => [P(1, 2, 3, 4)], x => x[0].Transpose(0, 2).Permute(1, 0, 2).Contiguous()),
        ["unsqueeze squeeze flatten expand"] = new(() => [P(1, 3, 1)], x => x[0].Squeeze(1).Unsqueeze(0).Expand(4, 3).Flatten()),
        ["narrow select"] = new(() => [P(1, 4, 5)], x => x[0].Narrow(1, 1, 3).Select(0, 2)),
        ["sum mean"] = new(() => [P(1, 3, 4)], x => x[0].Sum(1) * 2.0 + x[0].Mean(1, keepDim: true).Squeeze(1) + x[0].Mean()),
        ["max topk sort (values)"] = new(() => [P(1, 3, 6)], x =>
        {
            var (m, _) = x[0].Max(1);
            var (top, _) = x[0].TopK(2, -1);
            var (sorted, _) = x[0].Sort(1, descending: true);
            return m.Sum() + top.Sum() * 2.0 + sorted.Narrow(1, 0, 1).Sum();
        }),
        ["where"] = new(() => [P(1, 3, 4), P(2, 3, 4)], x =>
        {
            using var cond = x[0].Gt(0);
            return x[0].Where(cond, x[1]);
        }),
        ["cumsum"] = new(() => [P(1, 5)], x => x[0].CumSum(0)),
    };

    public static TheoryData<string> Cases => new(s_cases.Keys);

    [Theory]
    [MemberData(nameof(Cases))]
    public void AnalyticGradientMatchesFiniteDifferences(string name)
    {
        using var scope = DisposeScope.Begin();
        var c = s_cases[name];
        var inputs = c.Inputs();
        foreach (var x in inputs)
        {
            x.RequiresGrad = true;
        }

        // A fixed random projection turns the output into a scalar with a non-trivial gradient.
        var output = c.Function(inputs);
        var weights = TestData.Uniform(99, output.Shape);
        var loss = (output * weights).Sum();
        loss.Backward();

        double Evaluate()
        {
            using var inner = DisposeScope.Begin();
            using var _ = Torch.NoGrad();
            return (c.Function(inputs) * weights).Sum().Item();
        }

        const double eps = 1e-6;
        for (var k = 0; k < inputs.Length; k++)
        {
            var analytic = inputs[k].Grad?.ToArray<double>() ?? throw new Xunit.Sdk.XunitException($"input {k} got no gradient");
            var numeric = new double[analytic.Length];
            var data = inputs[k].DataSpan<double>();
            for (var j = 0; j < numeric.Length; j++)
            {
                var original = data[j];
                data[j] = original + eps;
                var plus = Evaluate();
                data[j] = original - eps;
                var minus = Evaluate();
                data[j] = original;
                numeric[j] = (plus - minus) / (2 * eps);
            }
            var error = RelativeError(analytic, numeric);
            Assert.True(error < 1e-6, $"{name}: input {k}: relative error {error:E2}\nanalytic {string.Join(", ", analytic)}\nnumeric  {string.Join(", ", numeric)}");
            Assert.Contains(analytic, g => g != 0);
        }
    }

    private static double RelativeError(double[] a, double[] b)
    {
        double diff = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            diff += (a[i] - b[i]) * (a[i] - b[i]);
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return Math.Sqrt(diff) / Math.Max(Math.Sqrt(Math.Max(na, nb)), 1e-12);
    }
}
