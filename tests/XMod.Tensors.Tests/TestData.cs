namespace XMod.Tensors.Tests;

internal static class TestData
{
    /// <summary>Deterministic values from a managed generator, so tests never race on libtorch's global one.</summary>
    public static Tensor Uniform(int seed, long[] shape, double lo = -1, double hi = 1, DType dtype = DType.Float64)
    {
        var rng = new Random(seed);
        long n = 1;
        foreach (var d in shape)
        {
            n *= d;
        }
        var data = new double[n];
        for (var i = 0; i < n; i++)
        {
            data[i] = lo + (hi - lo) * rng.NextDouble();
        }
        var t = Tensor.From<double>(data, shape);
        if (dtype == DType.Float64)
        {
            return t;
        }
        using (t)
        {
            return t.To(dtype);
        }
    }

    public static Tensor Longs(params long[] values) => Tensor.From(values);

    /// <summary>A real English text every Debian machine has (base-files).</summary>
    public const string EnglishText = "/usr/share/common-licenses/GPL-3";
}
