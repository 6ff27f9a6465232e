using System.Runtime.InteropServices;

namespace XMod.Tensors.Interop;

/// <summary>One argument of a boxed operator call; mirrors xmod_arg in xmod_native.h.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NativeArg
{
    public const int None = 0, Tensor = 1, Int = 2, Double = 3, Bool = 4, Ints = 5, Tensors = 6,
        DType = 7, String = 8, Device = 9, Doubles = 10, Default = 11;

    public int Tag;
    private int _reserved;
    public long I;
    public double D;
    public IntPtr P;
    public long N;
}

// ops.cpp
internal static unsafe partial class NativeMethods
{
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr xmod_op_find(string name, string overload);

    [LibraryImport(Lib)] internal static partial IntPtr xmod_op_schema(IntPtr op);
    [LibraryImport(Lib)] internal static partial int xmod_op_call(IntPtr op, NativeArg* args, int nargs, IntPtr* outs, int cap);
}
