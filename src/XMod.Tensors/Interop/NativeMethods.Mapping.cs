using System.Runtime.InteropServices;

namespace XMod.Tensors.Interop;

// mapping.cpp
internal static unsafe partial class NativeMethods
{
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial IntPtr xmod_mapping_open(string path, long* length);
    [LibraryImport(Lib)] internal static partial IntPtr xmod_mapping_data(IntPtr m);
    [LibraryImport(Lib)] internal static partial IntPtr xmod_mapping_tensor(IntPtr m, long offset, int dtype, long* shape, int ndim);
    [LibraryImport(Lib)] internal static partial void xmod_mapping_close(IntPtr m);
    [LibraryImport(Lib)] internal static partial long xmod_mapping_live_count();
    [LibraryImport(Lib)] internal static partial long xmod_mapping_bytes();
}
