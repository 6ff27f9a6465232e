using System.Runtime.InteropServices;

namespace XMod.Tensors.Interop;

/// <summary>
/// P/Invoke declarations of libxmod_native.so, one partial file per native area
/// (Native/src/*.cpp), all resolved through <see cref="NativeLibraryLoader"/>.
/// </summary>
internal static partial class NativeMethods
{
    private const string Lib = NativeLibraryLoader.LibraryName;

    static NativeMethods() => NativeLibraryLoader.Register();

    // errors.cpp
    [LibraryImport(Lib)] internal static partial IntPtr xmod_last_error();
    [LibraryImport(Lib)] internal static partial void xmod_clear_error();
}
