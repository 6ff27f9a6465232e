using System.Runtime.InteropServices;

namespace XMod.Tensors.Interop;

// optim.cpp
internal static unsafe partial class NativeMethods
{
    [LibraryImport(Lib)] internal static partial IntPtr xmod_adamw_new(IntPtr* parameters, double* weightDecay, int n, double beta1, double beta2, double eps);
    [LibraryImport(Lib)] internal static partial int xmod_adamw_step(IntPtr opt, double lr);
    [LibraryImport(Lib)] internal static partial long xmod_adamw_get_step(IntPtr opt);
    [LibraryImport(Lib)] internal static partial int xmod_adamw_set_step(IntPtr opt, long step);
    [LibraryImport(Lib)] internal static partial int xmod_adamw_state(IntPtr opt, int index, IntPtr* expAvg, IntPtr* expAvgSq);
    [LibraryImport(Lib)] internal static partial void xmod_adamw_free(IntPtr opt);
    [LibraryImport(Lib)] internal static partial double xmod_clip_grad_norm(IntPtr* parameters, int n, double maxNorm);
}
