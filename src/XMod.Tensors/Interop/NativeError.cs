using System.Runtime.InteropServices;

namespace XMod.Tensors.Interop;

/// <summary>
/// The one place where a native failure becomes a managed exception: libtorch's errors through
/// this class, SentencePiece's through <see cref="SpmError"/>, both over the same logic.
/// </summary>
internal static unsafe class NativeError
{
    internal static string TakeMessage(delegate*<IntPtr> last, delegate*<void> clear)
    {
        var p = last();
        var message = p == IntPtr.Zero ? "native call failed without a message" : Marshal.PtrToStringUTF8(p)!;
        clear();
        return message.Trim();
    }

    public static Exception Take() =>
        new TorchException(TakeMessage(&NativeMethods.xmod_last_error, &NativeMethods.xmod_clear_error));

    public static IntPtr Check(IntPtr handle) => handle != IntPtr.Zero ? handle : throw Take();

    public static int Check(int rc) => rc >= 0 ? rc : throw Take();

    public static long Check(long rc) => rc >= 0 ? rc : throw Take();

    public static double CheckNaN(double value)
    {
        if (double.IsNaN(value) && NativeMethods.xmod_last_error() != IntPtr.Zero)
        {
            throw Take();
        }
        return value;
    }

    /// <summary>Copies a string the shim returned (valid only until the next shim call).</summary>
    public static string String(IntPtr p) => Marshal.PtrToStringUTF8(Check(p))!;
}

internal static unsafe class SpmError
{
    public static Exception Take() =>
        new TokenizerException(NativeError.TakeMessage(&SpmNativeMethods.xmod_spm_last_error, &SpmNativeMethods.xmod_spm_clear_error));

    public static IntPtr Check(IntPtr handle) => handle != IntPtr.Zero ? handle : throw Take();

    public static int Check(int rc) => rc >= 0 ? rc : throw Take();

    public static string String(IntPtr p) => Marshal.PtrToStringUTF8(Check(p))!;
}
