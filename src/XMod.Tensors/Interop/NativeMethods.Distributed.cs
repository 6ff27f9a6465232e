using System.Runtime.InteropServices;

namespace XMod.Tensors.Interop;

// distributed.cpp
internal static unsafe partial class NativeMethods
{
    [LibraryImport(Lib)] internal static partial int xmod_dist_available();
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr xmod_dist_init_tcp(string host, int port, int rank, int worldSize, long timeoutMs, int backend);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr xmod_dist_init_file(string path, int rank, int worldSize, long timeoutMs, int backend);
    [LibraryImport(Lib)] internal static partial int xmod_dist_all_reduce(IntPtr pg, IntPtr* tensors, int n, int op, long bucketBytes);
    [LibraryImport(Lib)] internal static partial int xmod_dist_broadcast(IntPtr pg, IntPtr* tensors, int n, int root, long bucketBytes);
    [LibraryImport(Lib)] internal static partial int xmod_dist_barrier(IntPtr pg);
    [LibraryImport(Lib)] internal static partial void xmod_dist_destroy(IntPtr pg);
}
