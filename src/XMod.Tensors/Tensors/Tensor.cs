using System.Runtime.InteropServices;
using XMod.Tensors.Interop;

namespace XMod.Tensors;

/// <summary>
/// A libtorch tensor. Each instance owns exactly one native handle (one at::Tensor reference).
/// </summary>
/// <remarks>
/// Disposal policy: tensors are <see cref="IDisposable"/> and are freed deterministically by
/// <see cref="Dispose"/> or by the <see cref="DisposeScope"/> open when they were created. A
/// finalizer remains as a safety net so a forgotten tensor cannot leak native memory forever; it
/// counts in <see cref="FinalizedCount"/>, which tests keep at zero to prove that nothing relies
/// on it. Parameters (<see cref="AsParameter"/>) are never owned by a scope.
/// </remarks>
public sealed partial class Tensor : IDisposable
{
    private static long s_finalized;
    private IntPtr _handle;

    internal Tensor(IntPtr handle)
    {
        _handle = handle;
        DisposeScope.Current?.Register(this);
    }

    ~Tensor()
    {
        if (_handle != IntPtr.Zero)
        {
            Interlocked.Increment(ref s_finalized);
            Release();
        }
    }

    /// <summary>Tensors freed by the garbage collector rather than by Dispose or a scope.</summary>
    public static long FinalizedCount => Interlocked.Read(ref s_finalized);

    /// <summary>Native tensor handles alive right now (all threads).</summary>
    public static long LiveHandles => NativeMethods.xmod_tensor_live_count();

    /// <summary>The most native handles alive at once since the last <see cref="ResetPeakHandles"/>.</summary>
    public static long PeakHandles => NativeMethods.xmod_tensor_peak_count();

    public static void ResetPeakHandles() => NativeMethods.xmod_tensor_reset_peak();

    internal DisposeScope? Scope { get; set; }

    public bool IsDisposed => _handle == IntPtr.Zero;

    /// <summary>True for tensors marked with <see cref="AsParameter"/>.</summary>
    public bool IsParameter { get; private set; }

    internal IntPtr Handle =>
        _handle != IntPtr.Zero ? _handle : throw new ObjectDisposedException(nameof(Tensor), "the tensor was disposed");

    public void Dispose()
    {
        Release();
        GC.SuppressFinalize(this);
    }

    private void Release()
    {
        var h = Interlocked.Exchange(ref _handle, IntPtr.Zero);
        if (h != IntPtr.Zero)
        {
            NativeMethods.xmod_tensor_free(h);
        }
    }

    /// <summary>
    /// Marks this tensor as a trainable parameter: it requires grad and no dispose scope will ever
    /// free it; its owner (a model) disposes it.
    /// </summary>
    public Tensor AsParameter(bool requiresGrad = true)
    {
        DetachFromScope();
        IsParameter = true;
        RequiresGrad = requiresGrad;
        return this;
    }

    /// <summary>Takes this tensor out of its dispose scope: the caller now owns it.</summary>
    public Tensor DetachFromScope()
    {
        Scope = null;
        return this;
    }

    /// <summary>Moves this tensor from its scope to the enclosing one (or to the caller).</summary>
    public Tensor MoveToOuterScope() => Scope is { } s ? s.MoveToOuter(this) : this;

    // ---- metadata -------------------------------------------------------------------------

    // Native calls on this tensor's own handle go through these: using `this` after the call keeps
    // the finalizer from freeing the handle while native code still reads it.
    private int Checked(int rc)
    {
        GC.KeepAlive(this);
        return NativeError.Check(rc);
    }

    private long Checked(long rc)
    {
        GC.KeepAlive(this);
        return NativeError.Check(rc);
    }

    private IntPtr Checked(IntPtr handle)
    {
        GC.KeepAlive(this);
        return NativeError.Check(handle);
    }

    public int Dim => Checked(NativeMethods.xmod_tensor_dim(Handle));

    public unsafe long[] Shape
    {
        get
        {
            var h = Handle;
            Span<long> buf = stackalloc long[16];
            int n;
            fixed (long* p = buf)
            {
                n = Checked(NativeMethods.xmod_tensor_shape(h, p, buf.Length));
            }
            if (n <= buf.Length)
            {
                return buf[..n].ToArray();
            }
            var big = new long[n];
            fixed (long* p = big)
            {
                Checked(NativeMethods.xmod_tensor_shape(h, p, n));
            }
            return big;
        }
    }

    public unsafe long[] Strides
    {
        get
        {
            var h = Handle;
            var n = Dim;
            var s = new long[n];
            fixed (long* p = s)
            {
                Checked(NativeMethods.xmod_tensor_strides(h, p, n));
            }
            return s;
        }
    }

    /// <summary>Size of one dimension; negative indexes count from the end.</summary>
    public long Size(int dim)
    {
        var shape = Shape;
        var d = dim < 0 ? dim + shape.Length : dim;
        if (d < 0 || d >= shape.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(dim), dim, $"tensor has {shape.Length} dimensions");
        }
        return shape[d];
    }

    public long NumEl => Checked(NativeMethods.xmod_tensor_numel(Handle));

    public DType DType => (DType)Checked(NativeMethods.xmod_tensor_dtype(Handle));

    public unsafe Device Device
    {
        get
        {
            int index;
            var type = Checked(NativeMethods.xmod_tensor_device(Handle, &index));
            return new Device((DeviceType)type, index);
        }
    }

    public bool IsContiguous => Checked(NativeMethods.xmod_tensor_is_contiguous(Handle)) != 0;

    public bool RequiresGrad
    {
        get => Checked(NativeMethods.xmod_tensor_requires_grad(Handle)) != 0;
        set => Checked(NativeMethods.xmod_tensor_set_requires_grad(Handle, value ? 1 : 0));
    }

    public override string ToString() =>
        IsDisposed ? "Tensor(disposed)" : NativeError.String(Checked(NativeMethods.xmod_tensor_to_string(Handle)));

    /// <summary>Shape as "(2, 3)" for messages.</summary>
    public string ShapeString => "(" + string.Join(", ", Shape) + ")";

    // ---- data in and out ------------------------------------------------------------------

    /// <summary>Copies managed data into a new tensor of the given shape.</summary>
    public static unsafe Tensor From<T>(ReadOnlySpan<T> data, ReadOnlySpan<long> shape, Device? device = null)
        where T : unmanaged
    {
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException($"negative dimension {d} in shape", nameof(shape));
            }
            count *= d;
        }
        if (count != data.Length)
        {
            throw new ArgumentException($"shape ({string.Join(", ", shape.ToArray())}) holds {count} elements, data has {data.Length}");
        }
        var dev = device ?? Device.Cpu;
        fixed (T* p = data)
        fixed (long* s = shape)
        {
            return new Tensor(NativeError.Check(NativeMethods.xmod_tensor_from_data(
                p, (int)DTypeExtensions.Of<T>(), s, shape.Length, (int)dev.Type, dev.Index)));
        }
    }

    public static Tensor From<T>(T[] data, params long[] shape) where T : unmanaged =>
        From<T>(data.AsSpan(), shape.Length == 0 ? [data.Length] : shape);

    /// <summary>A 0-dim tensor.</summary>
    public static Tensor Scalar<T>(T value) where T : unmanaged => From<T>([value], ReadOnlySpan<long>.Empty);

    /// <summary>
    /// Wraps external memory without copying (memory-mapped weights, say). <paramref name="release"/>
    /// runs when libtorch drops the last reference to the storage.
    /// </summary>
    public static unsafe Tensor FromBlob(IntPtr data, DType dtype, ReadOnlySpan<long> shape, Action? release = null)
    {
        var ctx = release is null ? IntPtr.Zero : GCHandle.ToIntPtr(GCHandle.Alloc(release));
        fixed (long* s = shape)
        {
            var h = NativeMethods.xmod_tensor_from_blob((void*)data, (int)dtype, s, shape.Length, &ReleaseBlob, ctx);
            if (h == IntPtr.Zero && ctx != IntPtr.Zero)
            {
                GCHandle.FromIntPtr(ctx).Free();
            }
            return new Tensor(NativeError.Check(h));
        }
    }

    [UnmanagedCallersOnly]
    private static void ReleaseBlob(IntPtr ctx)
    {
        if (ctx == IntPtr.Zero)
        {
            return;
        }
        var handle = GCHandle.FromIntPtr(ctx);
        var release = (Action)handle.Target!;
        handle.Free();
        try
        {
            release();
        }
        catch (Exception e)
        {
            // Nothing may unwind into libtorch; a failing release is reported, not rethrown.
            Console.Error.WriteLine($"xmod: releasing external tensor memory failed: {e.Message}");
        }
    }

    /// <summary>Copies the elements (row-major, on the CPU) into a new managed array.</summary>
    public unsafe T[] ToArray<T>() where T : unmanaged
    {
        var want = DTypeExtensions.Of<T>();
        if (DType != want)
        {
            using var converted = To(want);
            return converted.ToArray<T>();
        }
        var result = new T[NumEl];
        fixed (T* p = result)
        {
            Checked(NativeMethods.xmod_tensor_copy_out(Handle, p, (long)result.Length * sizeof(T)));
        }
        return result;
    }

    /// <summary>Copies raw element bytes (any dtype, row-major, CPU) into a new tensor.</summary>
    public static unsafe Tensor FromBytes(ReadOnlySpan<byte> data, DType dtype, ReadOnlySpan<long> shape)
    {
        long count = 1;
        foreach (var d in shape)
        {
            count *= d;
        }
        if (count * dtype.ElementSize() != data.Length)
        {
            throw new ArgumentException($"shape ({string.Join(", ", shape.ToArray())}) of {dtype} needs {count * dtype.ElementSize()} bytes, got {data.Length}");
        }
        fixed (byte* p = data)
        fixed (long* s = shape)
        {
            return new Tensor(NativeError.Check(NativeMethods.xmod_tensor_from_data(p, (int)dtype, s, shape.Length, 0, -1)));
        }
    }

    /// <summary>The tensor's own bytes without a copy (CPU, contiguous); valid while it is alive.</summary>
    public unsafe ReadOnlySpan<byte> DataBytes()
    {
        var p = Checked(NativeMethods.xmod_tensor_data_ptr(Handle));
        return new ReadOnlySpan<byte>((void*)p, checked((int)(NumEl * DType.ElementSize())));
    }

    /// <summary>The raw element bytes (row-major, copied to the CPU), whatever the dtype.</summary>
    public unsafe byte[] ToBytes()
    {
        var bytes = new byte[checked(NumEl * DType.ElementSize())];
        fixed (byte* p = bytes)
        {
            Checked(NativeMethods.xmod_tensor_copy_out(Handle, p, bytes.Length));
        }
        return bytes;
    }

    /// <summary>
    /// The tensor's own memory, without a copy: CPU, contiguous, and valid only while this tensor
    /// is alive and not resized.
    /// </summary>
    public unsafe Span<T> DataSpan<T>() where T : unmanaged
    {
        if (DType != DTypeExtensions.Of<T>())
        {
            throw new InvalidOperationException($"tensor holds {DType}, not {typeof(T).Name}");
        }
        var p = Checked(NativeMethods.xmod_tensor_data_ptr(Handle));
        return new Span<T>((void*)p, checked((int)NumEl));
    }

    /// <summary>The value of a one-element tensor.</summary>
    public double Item()
    {
        var v = NativeMethods.xmod_tensor_item(Handle);
        GC.KeepAlive(this);
        return NativeError.CheckNaN(v);
    }

    public float ItemFloat() => (float)Item();

    public long ItemLong() => (long)Item();

    // ---- autograd -------------------------------------------------------------------------

    /// <summary>Back-propagates from this tensor (a scalar unless a gradient is given).</summary>
    public void Backward(Tensor? gradient = null, bool retainGraph = false)
    {
        Checked(NativeMethods.xmod_backward(Handle, gradient?.Handle ?? IntPtr.Zero, retainGraph ? 1 : 0));
        GC.KeepAlive(gradient);
    }

    /// <summary>The accumulated gradient as a new handle, or null when there is none.</summary>
    public unsafe Tensor? Grad
    {
        get
        {
            IntPtr g;
            Checked(NativeMethods.xmod_tensor_grad(Handle, &g));
            return g == IntPtr.Zero ? null : new Tensor(g);
        }
    }

    /// <summary>Drops the accumulated gradient (PyTorch's zero_grad(set_to_none=True)).</summary>
    public void ZeroGrad() => Checked(NativeMethods.xmod_tensor_zero_grad(Handle));

    /// <summary>A second, independently owned handle on the same tensor (same storage).</summary>
    public Tensor Share() => new(Checked(NativeMethods.xmod_tensor_share(Handle)));

    /// <summary>Converts dtype and/or device; returns a new handle (the same data when nothing changes).</summary>
    public Tensor To(DType dtype, Device? device = null, bool copy = false)
    {
        var d = device ?? Device;
        var h = NativeMethods.xmod_tensor_to(Handle, (int)dtype, (int)d.Type, d.Index, copy ? 1 : 0);
        GC.KeepAlive(this);
        return new Tensor(NativeError.Check(h));
    }

    public Tensor To(Device device) => To(DType, device);
}
