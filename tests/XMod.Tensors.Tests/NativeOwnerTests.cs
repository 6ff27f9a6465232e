using System.Runtime.CompilerServices;
using XMod.Tensors.Optim;
using XMod.Tensors.SentencePiece;

namespace XMod.Tensors.Tests;

/// <summary>
/// Every native owner other than a tensor (AdamW, a SentencePiece processor, the inference and
/// autocast guards) is disposed deterministically, with a finalizer as a counted safety net.
/// </summary>
[Collection(Serial.Name)] // reads the process-wide owner counters
public sealed class NativeOwnerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-owners-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string TrainSentencePiece()
    {
        var lines = File.ReadAllLines(TestData.EnglishText).Where(l => l.Trim().Length > 20).ToArray();
        var train = Path.Combine(_dir, "train.txt");
        File.WriteAllLines(train, lines);
        var prefix = Path.Combine(_dir, "spm");
        SentencePieceTrainer.Train([train], prefix, new SentencePieceOptions { VocabSize = 200, Threads = 1 });
        return prefix + ".model";
    }

    [Fact]
    public void DisposingEveryOwnerReturnsTheCountsToBaseline()
    {
        var spmFile = TrainSentencePiece();
        Settle();
        var finalized = NativeObject.FinalizedCount;
        var live = NativeObject.LiveCount;
        var tensors = Tensor.LiveHandles;

        var w = Torch.Ones([4]).AsParameter();
        var opt = new AdamW([w], [0.01]);
        var spm = SentencePieceModel.Load(spmFile);
        var inference = Torch.InferenceMode();
        var autocast = Torch.Autocast();
        Assert.Equal(live + 4, NativeObject.LiveCount);
        Assert.False(Torch.GradEnabled); // inference mode is on

        autocast.Dispose();
        inference.Dispose();
        Assert.True(Torch.GradEnabled); // and off again: the guard restored this thread's mode
        using (DisposeScope.Begin())
        {
            (w * w).Sum().Backward();
        }
        opt.Step(1e-2);
        Assert.Equal(1, opt.StepCount);
        opt.Dispose();
        Assert.True(opt.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => opt.Step(1e-2));
        Assert.True(spm.VocabSize > 0);
        spm.Dispose();
        Assert.Throws<ObjectDisposedException>(() => spm.VocabSize);
        opt.Dispose(); // twice is harmless
        w.ZeroGrad();
        w.Dispose();

        Assert.Equal(live, NativeObject.LiveCount);
        Assert.Equal(tensors, Tensor.LiveHandles);
        Settle();
        Assert.Equal(finalized, NativeObject.FinalizedCount); // nothing relied on the finalizer
    }

    [Fact]
    public void AForgottenOwnerIsFreedByTheFinalizerAndCounted()
    {
        var spmFile = TrainSentencePiece();
        Settle();
        var finalized = NativeObject.FinalizedCount;
        var live = NativeObject.LiveCount;
        var tensors = Tensor.LiveHandles;

        Forget(spmFile);
        // The guards are thread-local modes: forget them on a thread of their own, which ends.
        var thread = new Thread(ForgetGuards);
        thread.Start();
        thread.Join();
        Assert.Equal(live + 4, NativeObject.LiveCount);

        Settle();
        Assert.Equal(finalized + 4, NativeObject.FinalizedCount);
        Assert.Equal(live, NativeObject.LiveCount);
        Assert.Equal(tensors, Tensor.LiveHandles);
        Assert.True(Torch.GradEnabled); // the finalizer's frees left this thread's modes alone
    }

    [Fact]
    public void AGuardClosedOnAnotherThreadIsRefusedAndStaysOpen()
    {
        var live = NativeObject.LiveCount;
        var guard = Torch.InferenceMode();
        Exception? error = null;
        var other = new Thread(() => error = Record.Exception(guard.Dispose));
        other.Start();
        other.Join();
        Assert.IsType<InvalidOperationException>(error);
        Assert.False(Torch.GradEnabled); // still open here
        Assert.Equal(live + 1, NativeObject.LiveCount);
        guard.Dispose();
        Assert.True(Torch.GradEnabled);
        Assert.Equal(live, NativeObject.LiveCount);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Forget(string spmFile)
    {
        var w = Torch.Ones([4]).AsParameter();
        _ = new AdamW([w]);
        w.Dispose(); // the optimiser's native state keeps its own reference to the parameter
        _ = SentencePieceModel.Load(spmFile);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ForgetGuards()
    {
        _ = Torch.InferenceMode();
        _ = Torch.Autocast();
    }

    private static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }
}
