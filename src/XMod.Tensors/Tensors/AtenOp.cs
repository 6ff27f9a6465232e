using XMod.Tensors.Interop;

namespace XMod.Tensors;

/// <summary>
/// An ATen operator resolved once by schema name and called through the boxed dispatcher, so
/// every operator (and its autograd) is reachable through one native entry point.
/// </summary>
/// <remarks>
/// Callers pass the tensors whose handles are in the arguments as <c>keep</c>: they stay reachable
/// until the native call has taken its own references, so a finalizer can never free a handle
/// that is still being read.
/// </remarks>
internal sealed class AtenOp(string name, string overload = "")
{
    private IntPtr _handle;

    public string Name => overload.Length == 0 ? name : $"{name}.{overload}";

    private IntPtr Handle
    {
        get
        {
            var h = Volatile.Read(ref _handle);
            if (h == IntPtr.Zero)
            {
                // Resolution is idempotent; a race only resolves twice.
                h = NativeError.Check(NativeMethods.xmod_op_find(name, overload));
                Volatile.Write(ref _handle, h);
            }
            return h;
        }
    }

    public string Schema => NativeError.String(NativeMethods.xmod_op_schema(Handle));

    public unsafe Tensor Call(ReadOnlySpan<NativeArg> args, Tensor? keep0 = null, Tensor? keep1 = null, Tensor? keep2 = null)
    {
        IntPtr result;
        int n;
        fixed (NativeArg* a = args)
        {
            n = NativeMethods.xmod_op_call(Handle, a, args.Length, &result, 1);
        }
        GC.KeepAlive(keep0);
        GC.KeepAlive(keep1);
        GC.KeepAlive(keep2);
        if (n != 1)
        {
            if (n < 0)
            {
                throw NativeError.Take();
            }
            throw new InvalidOperationException($"{Name} returned {n} results, expected one");
        }
        return new Tensor(result);
    }

    public unsafe Tensor[] CallMany(ReadOnlySpan<NativeArg> args, int maxResults, Tensor? keep0 = null, Tensor[]? keepMany = null)
    {
        var buffer = new IntPtr[maxResults];
        int n;
        fixed (NativeArg* a = args)
        fixed (IntPtr* outs = buffer)
        {
            n = NativeMethods.xmod_op_call(Handle, a, args.Length, outs, maxResults);
        }
        GC.KeepAlive(keep0);
        GC.KeepAlive(keepMany);
        NativeError.Check(n);
        var results = new Tensor[n];
        for (var k = 0; k < n; k++)
        {
            results[k] = new Tensor(buffer[k]);
        }
        return results;
    }

    /// <summary>For in-place operators: results (aliases of an argument) are not returned.</summary>
    public unsafe void CallInPlace(ReadOnlySpan<NativeArg> args, Tensor keep0, Tensor? keep1 = null, Tensor? keep2 = null)
    {
        int n;
        fixed (NativeArg* a = args)
        {
            n = NativeMethods.xmod_op_call(Handle, a, args.Length, null, 0);
        }
        GC.KeepAlive(keep0);
        GC.KeepAlive(keep1);
        GC.KeepAlive(keep2);
        NativeError.Check(n);
    }
}

/// <summary>Builders of <see cref="NativeArg"/> values.</summary>
internal static class Arg
{
    public static NativeArg T(Tensor t) => new() { Tag = NativeArg.Tensor, P = t.Handle };

    public static NativeArg OptT(Tensor? t) => t is null ? None : T(t);

    public static NativeArg I(long v) => new() { Tag = NativeArg.Int, I = v };

    public static NativeArg D(double v) => new() { Tag = NativeArg.Double, D = v };

    public static NativeArg B(bool v) => new() { Tag = NativeArg.Bool, I = v ? 1 : 0 };

    public static NativeArg DType(DType t) => new() { Tag = NativeArg.DType, I = (int)t };

    public static NativeArg OptDType(DType? t) => t is { } v ? DType(v) : None;

    public static NativeArg Dev(Device d) => new() { Tag = NativeArg.Device, I = (int)d.Type, N = d.Index };

    /// <summary>An int list; the memory must stay pinned for the call (fixed or stackalloc).</summary>
    public static unsafe NativeArg Ints(long* p, int n) => new() { Tag = NativeArg.Ints, P = (IntPtr)p, N = n };

    /// <summary>A tensor list; the handle array must stay pinned for the call.</summary>
    public static unsafe NativeArg Tensors(IntPtr* p, int n) => new() { Tag = NativeArg.Tensors, P = (IntPtr)p, N = n };

    /// <summary>A NUL-terminated UTF-8 string in static data, such as "none\0"u8.</summary>
    public static unsafe NativeArg Str(byte* p) => new() { Tag = NativeArg.String, P = (IntPtr)p };

    public static NativeArg None => new() { Tag = NativeArg.None };

    public static NativeArg Default => new() { Tag = NativeArg.Default };
}
