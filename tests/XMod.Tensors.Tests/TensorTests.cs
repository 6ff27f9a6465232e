namespace XMod.Tensors.Tests;

public sealed class TensorTests
{
    [Fact]
    public void DataRoundTripsThroughEachDtype()
    {
        using var scope = DisposeScope.Begin();
        var f = Tensor.From(new float[] { 1.5f, -2, 3.25f, 0, 5, 6 }, 2, 3);
        Assert.Equal([2L, 3], f.Shape);
        Assert.Equal(DType.Float32, f.DType);
        Assert.Equal(new float[] { 1.5f, -2, 3.25f, 0, 5, 6 }, f.ToArray<float>());

        var l = Tensor.From(new long[] { long.MaxValue, -1, 42 });
        Assert.Equal(DType.Int64, l.DType);
        Assert.Equal(new long[] { long.MaxValue, -1, 42 }, l.ToArray<long>());

        var b = Tensor.From(new[] { true, false, true });
        Assert.Equal(DType.Bool, b.DType);
        Assert.Equal(new[] { true, false, true }, b.ToArray<bool>());

        // bfloat16 keeps 8 bits of mantissa: 1.5 and 3.25 are exact, 1/3 is not.
        var bf = Tensor.From(new float[] { 1.5f, 3.25f, 1f / 3 }).To(DType.BFloat16);
        Assert.Equal(DType.BFloat16, bf.DType);
        var back = bf.ToArray<float>();
        Assert.Equal(1.5f, back[0]);
        Assert.Equal(3.25f, back[1]);
        Assert.NotEqual(1f / 3, back[2]);
        Assert.Equal(1f / 3, back[2], 0.002f);
    }

    [Fact]
    public void ShapeMismatchInDataIsRejectedBeforeNativeCode()
    {
        var e = Assert.Throws<ArgumentException>(() => Tensor.From(new float[] { 1, 2, 3 }, 2, 2));
        Assert.Contains("holds 4 elements, data has 3", e.Message);
    }

    [Fact]
    public void DataSpanIsZeroCopy()
    {
        using var t = Torch.Zeros([4]);
        var span = t.DataSpan<float>();
        span[2] = 7;
        Assert.Equal(new float[] { 0, 0, 7, 0 }, t.ToArray<float>());
        using var transposed = Torch.Zeros([2, 3]).Transpose(0, 1);
        Assert.False(transposed.IsContiguous);
        var e = Assert.Throws<TorchException>(() => transposed.DataSpan<float>());
        Assert.Contains("contiguous", e.Message);
    }

    [Fact]
    public unsafe void FromBlobSharesMemoryAndReleasesIt()
    {
        var memory = System.Runtime.InteropServices.NativeMemory.Alloc(4 * sizeof(float));
        var span = new Span<float>(memory, 4);
        span.Fill(2);
        var released = 0;
        var t = Tensor.FromBlob((IntPtr)memory, DType.Float32, [2, 2], () =>
        {
            released++;
            System.Runtime.InteropServices.NativeMemory.Free(memory);
        });
        Assert.Equal(8, t.Sum().Item());
        span[0] = 10;
        Assert.Equal(16, t.Sum().Item());
        var view = t.View(4);
        t.Dispose();
        Assert.Equal(0, released); // the view still holds the storage
        view.Dispose();
        Assert.Equal(1, released);
    }

    [Fact]
    public void OpsComputeWhatTheySay()
    {
        using var scope = DisposeScope.Begin();
        var x = Tensor.From(new float[] { 1, 5, 3, 2, 8, 4 }, 2, 3);
        Assert.Equal(new long[] { 1, 1 }, x.Argmax(1).ToArray<long>());
        var (values, indices) = x.TopK(2, 1);
        Assert.Equal(new float[] { 5, 3, 8, 4 }, values.ToArray<float>());
        Assert.Equal(new long[] { 1, 2, 1, 2 }, indices.ToArray<long>());
        Assert.Equal(new float[] { 3, 13, 7 }, x.Sum(0).ToArray<float>());
        Assert.Equal(23f / 6, x.Mean().ItemFloat(), 5);
        Assert.Equal(new float[] { 1, 2, 5, 8, 3, 4 }, x.Transpose(0, 1).Contiguous().ToArray<float>());
        var halves = x.Split(2, 1);
        Assert.Equal(2, halves.Length);
        Assert.Equal([2L, 1], halves[1].Shape);
        Assert.Equal(new float[] { 1, 5, 3, 2, 8, 4, 1, 5, 3 }, Torch.Cat([x, x.Narrow(0, 0, 1)], 0).Flatten().ToArray<float>());
        Assert.Equal(new long[] { 0, 2, 4 }, Torch.Arange(0, 6, 2).ToArray<long>());
        var masked = x.MaskedFill(x.Gt(4), -1);
        Assert.Equal(new float[] { 1, -1, 3, 2, -1, 4 }, masked.ToArray<float>());
        var probs = F.Softmax(x, 1).Sum(1).ToArray<float>();
        Assert.All(probs, p => Assert.Equal(1f, p, 5));
    }

    [Fact]
    public void LibtorchErrorsBecomeManagedExceptionsAndTheProcessCarriesOn()
    {
        using var scope = DisposeScope.Begin();
        var a = Torch.Ones([2, 3]);
        var b = Torch.Ones([4, 5]);
        var e = Assert.Throws<TorchException>(() => a.Matmul(b));
        Assert.Contains("cannot be multiplied", e.Message); // libtorch's own wording
        Assert.DoesNotContain("Exception raised from", e.Message); // no C++ backtrace

        var view = Assert.Throws<TorchException>(() => a.View(5));
        Assert.Contains("invalid for input of size 6", view.Message);

        // After the errors the same thread keeps working, and no stale error leaks into later calls.
        Assert.Equal(6, a.Sum().Item());
        Assert.Equal(6.0, a.Matmul(Torch.Ones([3, 1])).Sum().Item());
    }

    [Fact]
    public void DisposedTensorsAreRejected()
    {
        var t = Torch.Ones([2]);
        t.Dispose();
        t.Dispose(); // idempotent
        Assert.True(t.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => t.Sum());
        Assert.Equal("Tensor(disposed)", t.ToString());
    }

    [Fact]
    public void NoGradAndInferenceModeStopRecording()
    {
        using var scope = DisposeScope.Begin();
        var w = Torch.Ones([3]).AsParameter();
        try
        {
            Assert.True(Torch.GradEnabled);
            using (Torch.NoGrad())
            {
                Assert.False(Torch.GradEnabled);
                Assert.False((w * 2.0).RequiresGrad);
                using (Torch.EnableGrad())
                {
                    Assert.True((w * 2.0).RequiresGrad);
                }
            }
            Assert.True(Torch.GradEnabled);
            using (Torch.InferenceMode())
            {
                Assert.False((w * 2.0).RequiresGrad);
            }
            Assert.True((w * 2.0).RequiresGrad);
        }
        finally
        {
            w.Dispose();
        }
    }

    [Fact]
    public void BackwardAccumulatesAndZeroGradDropsTheGradient()
    {
        using var scope = DisposeScope.Begin();
        var w = Tensor.From(new double[] { 1, 2, 3 }).AsParameter();
        try
        {
            Assert.Null(w.Grad);
            (w * w).Sum().Backward();
            Assert.Equal(new double[] { 2, 4, 6 }, w.Grad!.ToArray<double>());
            (w * 3.0).Sum().Backward();
            Assert.Equal(new double[] { 5, 7, 9 }, w.Grad!.ToArray<double>());
            w.ZeroGrad();
            Assert.Null(w.Grad);
            var e = Assert.Throws<TorchException>(() => (w * w).Backward());
            Assert.Contains("scalar outputs", e.Message);
        }
        finally
        {
            w.Dispose();
        }
    }

    [Fact]
    public void DevicesParseAndCudaIsReportedHonestly()
    {
        Assert.Equal(Device.Cpu, Device.Parse("cpu"));
        Assert.Equal(Device.Cuda(1), Device.Parse("cuda:1"));
        Assert.Throws<XModException>(() => Device.Parse("tpu"));
        Assert.True(Torch.CudaDeviceCount >= 0);
        using var t = Torch.Ones([1]);
        Assert.Equal(Device.Cpu, t.Device with { Index = -1 });
        if (!Torch.CudaAvailable)
        {
            Assert.Throws<TorchException>(() => Torch.Ones([1], device: Device.Cuda()));
        }
    }

    [Fact]
    public void ThreadsCanBeSet()
    {
        var before = Torch.Threads;
        Assert.True(before >= 1);
        Assert.Throws<TorchException>(() => Torch.Threads = 0);
        Assert.Equal(before, Torch.Threads);
    }

    [Fact]
    public void EmbeddingPaddingRowGetsNoGradient()
    {
        using var scope = DisposeScope.Begin();
        var weight = TestData.Uniform(1, [4, 3]);
        weight.RequiresGrad = true;
        var ids = TestData.Longs(0, 1, 1, 3);
        F.Embedding(weight, ids, paddingIndex: 1).Sum().Backward();
        var grad = weight.Grad!.ToArray<double>();
        Assert.Equal(new double[] { 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1 }, grad);
    }
}
