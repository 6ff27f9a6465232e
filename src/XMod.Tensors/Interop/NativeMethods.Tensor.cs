using System.Runtime.InteropServices;

namespace XMod.Tensors.Interop;

// tensor.cpp
internal static unsafe partial class NativeMethods
{
    [LibraryImport(Lib)] internal static partial IntPtr xmod_tensor_from_data(void* data, int dtype, long* shape, int ndim, int deviceType, int deviceIndex);
    [LibraryImport(Lib)] internal static partial IntPtr xmod_tensor_from_blob(void* data, int dtype, long* shape, int ndim, delegate* unmanaged<IntPtr, void> deleter, IntPtr ctx);
    [LibraryImport(Lib)] internal static partial IntPtr xmod_tensor_empty(int dtype, long* shape, int ndim, int deviceType, int deviceIndex);
    [LibraryImport(Lib)] internal static partial int xmod_tensor_copy_out(IntPtr t, void* dst, long nbytes);
    [LibraryImport(Lib)] internal static partial IntPtr xmod_tensor_data_ptr(IntPtr t);
    [LibraryImport(Lib)] internal static partial IntPtr xmod_tensor_share(IntPtr t);
    [LibraryImport(Lib)] internal static partial void xmod_tensor_free(IntPtr t);
    [LibraryImport(Lib)] internal static partial int xmod_tensor_dim(IntPtr t);
    [LibraryImport(Lib)] internal static partial int xmod_tensor_shape(IntPtr t, long* shape, int cap);
    [LibraryImport(Lib)] internal static partial int xmod_tensor_strides(IntPtr t, long* strides, int cap);
    [LibraryImport(Lib)] internal static partial long xmod_tensor_numel(IntPtr t);
    [LibraryImport(Lib)] internal static partial int xmod_tensor_dtype(IntPtr t);
    [LibraryImport(Lib)] internal static partial int xmod_tensor_device(IntPtr t, int* index);
    [LibraryImport(Lib)] internal static partial int xmod_tensor_is_contiguous(IntPtr t);
    [LibraryImport(Lib)] internal static partial int xmod_tensor_requires_grad(IntPtr t);
    [LibraryImport(Lib)] internal static partial int xmod_tensor_set_requires_grad(IntPtr t, int requiresGrad);
    [LibraryImport(Lib)] internal static partial double xmod_tensor_item(IntPtr t);
    [LibraryImport(Lib)] internal static partial IntPtr xmod_tensor_to(IntPtr t, int dtype, int deviceType, int deviceIndex, int copy);
    [LibraryImport(Lib)] internal static partial IntPtr xmod_tensor_to_string(IntPtr t);
    [LibraryImport(Lib)] internal static partial long xmod_tensor_live_count();
    [LibraryImport(Lib)] internal static partial long xmod_tensor_peak_count();
    [LibraryImport(Lib)] internal static partial void xmod_tensor_reset_peak();
}
