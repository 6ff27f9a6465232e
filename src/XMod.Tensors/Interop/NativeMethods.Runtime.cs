using System.Runtime.InteropServices;

namespace XMod.Tensors.Interop;

// runtime.cpp
internal static partial class NativeMethods
{
    [LibraryImport(Lib)] internal static partial void xmod_manual_seed(ulong seed);
    [LibraryImport(Lib)] internal static partial int xmod_set_num_threads(int n);
    [LibraryImport(Lib)] internal static partial int xmod_get_num_threads();
    [LibraryImport(Lib)] internal static partial int xmod_cuda_device_count();
    [LibraryImport(Lib)] internal static partial IntPtr xmod_torch_version();
    [LibraryImport(Lib)] internal static partial IntPtr xmod_torch_config();
    [LibraryImport(Lib)] internal static partial IntPtr xmod_parallel_info();
    [LibraryImport(Lib)] internal static partial int xmod_abi_version();
}
