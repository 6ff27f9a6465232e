namespace XMod.Tensors;

/// <summary>
/// The one managed owner of one native object other than a tensor: an optimiser's state, a
/// SentencePiece processor, a thread-local mode guard.
/// </summary>
/// <remarks>
/// The same disposal policy as <see cref="Tensor"/>: <see cref="Dispose"/> frees deterministically,
/// and a finalizer remains as a safety net that counts in <see cref="FinalizedCount"/> (tests keep
/// it from growing to prove nothing relies on it). A finalizer rather than a SafeHandle because the
/// counters need to tell the two paths apart and the P/Invoke signatures stay plain pointers.
/// Subclasses keep themselves alive (<see cref="GC.KeepAlive"/>) across native calls on
/// <see cref="Handle"/>, so the finalizer cannot free the object while native code reads it.
/// </remarks>
public abstract class NativeObject : IDisposable
{
    private static long s_live;
    private static long s_finalized;
    private IntPtr _handle;

    /// <param name="handle">A valid native handle (checked by the caller); this object now owns it.</param>
    protected NativeObject(IntPtr handle)
    {
        _handle = handle;
        Interlocked.Increment(ref s_live);
    }

    ~NativeObject()
    {
        var h = Interlocked.Exchange(ref _handle, IntPtr.Zero);
        if (h != IntPtr.Zero)
        {
            Interlocked.Increment(ref s_finalized);
            Interlocked.Decrement(ref s_live);
            Free(h, finalizing: true);
        }
    }

    /// <summary>Native objects (not tensors) owned right now, of every kind.</summary>
    public static long LiveCount => Interlocked.Read(ref s_live);

    /// <summary>Native objects (not tensors) freed by the garbage collector rather than by Dispose.</summary>
    public static long FinalizedCount => Interlocked.Read(ref s_finalized);

    public bool IsDisposed => _handle == IntPtr.Zero;

    protected IntPtr Handle =>
        _handle != IntPtr.Zero ? _handle : throw new ObjectDisposedException(GetType().Name);

    public void Dispose()
    {
        if (_handle == IntPtr.Zero)
        {
            return;
        }
        BeforeDispose();
        var h = Interlocked.Exchange(ref _handle, IntPtr.Zero);
        if (h != IntPtr.Zero)
        {
            Interlocked.Decrement(ref s_live);
            Free(h, finalizing: false);
        }
        GC.SuppressFinalize(this);
    }

    /// <summary>Checks that disposing is allowed now (throws to refuse, leaving the object alive).</summary>
    protected virtual void BeforeDispose()
    {
    }

    /// <summary>Frees the native object; <paramref name="finalizing"/> when on the finalizer thread.</summary>
    protected abstract void Free(IntPtr handle, bool finalizing);
}
