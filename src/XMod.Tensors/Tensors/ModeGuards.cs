using XMod.Tensors.Interop;

namespace XMod.Tensors;

/// <summary>
/// A thread-local libtorch mode held open between two calls: closed by Dispose on the thread that
/// opened it. A guard its owner forgot is freed by the finalizer without touching any thread's
/// modes (the native free function restores them only on the opening thread).
/// </summary>
internal abstract class ModeGuard(IntPtr handle) : NativeObject(handle)
{
    private readonly int _thread = Environment.CurrentManagedThreadId;

    protected override void BeforeDispose()
    {
        if (Environment.CurrentManagedThreadId != _thread)
        {
            throw new InvalidOperationException("a thread-local mode must be closed on the thread that opened it");
        }
    }
}

/// <summary>c10::InferenceMode on this thread (xmod_inference_guard).</summary>
internal sealed class InferenceModeGuard() : ModeGuard(NativeError.Check(NativeMethods.xmod_inference_mode_enter()))
{
    protected override void Free(IntPtr handle, bool finalizing) => NativeMethods.xmod_inference_guard_free(handle);
}

/// <summary>CPU autocast on this thread (xmod_autocast_guard).</summary>
internal sealed class AutocastGuard(DType dtype) : ModeGuard(NativeError.Check(NativeMethods.xmod_autocast_enter((int)dtype)))
{
    protected override void Free(IntPtr handle, bool finalizing) => NativeMethods.xmod_autocast_guard_free(handle);
}
