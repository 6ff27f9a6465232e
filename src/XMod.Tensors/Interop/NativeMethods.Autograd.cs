using System.Runtime.InteropServices;

namespace XMod.Tensors.Interop;

// autograd.cpp
internal static unsafe partial class NativeMethods
{
    [LibraryImport(Lib)] internal static partial int xmod_backward(IntPtr t, IntPtr gradOrNull, int retainGraph);
    [LibraryImport(Lib)] internal static partial int xmod_tensor_grad(IntPtr t, IntPtr* grad);
    [LibraryImport(Lib)] internal static partial int xmod_tensor_zero_grad(IntPtr t);
    [LibraryImport(Lib)] internal static partial int xmod_grad_enabled();
    [LibraryImport(Lib)] internal static partial void xmod_set_grad_enabled(int enabled);
    [LibraryImport(Lib)] internal static partial IntPtr xmod_inference_mode_enter();
    [LibraryImport(Lib)] internal static partial void xmod_inference_guard_free(IntPtr guard);
    [LibraryImport(Lib)] internal static partial IntPtr xmod_autocast_enter(int dtype);
    [LibraryImport(Lib)] internal static partial void xmod_autocast_guard_free(IntPtr guard);
}
