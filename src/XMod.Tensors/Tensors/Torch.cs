using XMod.Tensors.Interop;

namespace XMod.Tensors;

/// <summary>Tensor factories, joins, and the process-wide libtorch settings.</summary>
public static unsafe class Torch
{
    private static readonly AtenOp s_zeros = new("aten::zeros");
    private static readonly AtenOp s_ones = new("aten::ones");
    private static readonly AtenOp s_full = new("aten::full");
    private static readonly AtenOp s_randn = new("aten::randn");
    private static readonly AtenOp s_rand = new("aten::rand");
    private static readonly AtenOp s_randint = new("aten::randint", "low");
    private static readonly AtenOp s_arange = new("aten::arange", "start_step");
    private static readonly AtenOp s_zerosLike = new("aten::zeros_like");
    private static readonly AtenOp s_onesLike = new("aten::ones_like");
    private static readonly AtenOp s_randLike = new("aten::rand_like");
    private static readonly AtenOp s_cat = new("aten::cat");
    private static readonly AtenOp s_stack = new("aten::stack");
    private static readonly AtenOp s_multinomial = new("aten::multinomial");

    // Factory schemas: (size, *, dtype, layout, device, pin_memory).
    private static unsafe Tensor Factory(AtenOp op, long[] shape, DType dtype, Device? device)
    {
        fixed (long* s = shape)
        {
            return op.Call([Arg.Ints(s, shape.Length), Arg.DType(dtype), Arg.None, Arg.Dev(device ?? Device.Cpu)]);
        }
    }

    public static Tensor Zeros(long[] shape, DType dtype = DType.Float32, Device? device = null) => Factory(s_zeros, shape, dtype, device);

    public static Tensor Ones(long[] shape, DType dtype = DType.Float32, Device? device = null) => Factory(s_ones, shape, dtype, device);

    /// <summary>Standard normal samples from the global generator (see <see cref="ManualSeed"/>).</summary>
    public static Tensor Randn(long[] shape, DType dtype = DType.Float32, Device? device = null) => Factory(s_randn, shape, dtype, device);

    /// <summary>Uniform samples in [0, 1).</summary>
    public static Tensor Rand(long[] shape, DType dtype = DType.Float32, Device? device = null) => Factory(s_rand, shape, dtype, device);

    public static unsafe Tensor Full(long[] shape, double value, DType dtype = DType.Float32, Device? device = null)
    {
        fixed (long* s = shape)
        {
            return s_full.Call([Arg.Ints(s, shape.Length), Arg.D(value), Arg.DType(dtype), Arg.None, Arg.Dev(device ?? Device.Cpu)]);
        }
    }

    /// <summary>Integers uniform in [low, high).</summary>
    public static unsafe Tensor RandInt(long low, long high, long[] shape, Device? device = null)
    {
        fixed (long* s = shape)
        {
            return s_randint.Call([Arg.I(low), Arg.I(high), Arg.Ints(s, shape.Length), Arg.DType(DType.Int64), Arg.None, Arg.Dev(device ?? Device.Cpu)]);
        }
    }

    public static Tensor Arange(long start, long end, long step = 1, DType dtype = DType.Int64, Device? device = null) =>
        s_arange.Call([Arg.I(start), Arg.I(end), Arg.I(step), Arg.DType(dtype), Arg.None, Arg.Dev(device ?? Device.Cpu)]);

    public static Tensor ZerosLike(Tensor t) => s_zerosLike.Call([Arg.T(t)], t);

    public static Tensor OnesLike(Tensor t) => s_onesLike.Call([Arg.T(t)], t);

    public static Tensor RandLike(Tensor t) => s_randLike.Call([Arg.T(t)], t);

    /// <summary>Draws <paramref name="samples"/> indices from each row of (unnormalised) probabilities.</summary>
    public static Tensor Multinomial(Tensor probabilities, int samples, bool replacement = false) =>
        s_multinomial.Call([Arg.T(probabilities), Arg.I(samples), Arg.B(replacement)], probabilities);

    public static Tensor Cat(IReadOnlyList<Tensor> tensors, int dim = 0) => Join(s_cat, tensors, dim);

    public static Tensor Stack(IReadOnlyList<Tensor> tensors, int dim = 0) => Join(s_stack, tensors, dim);

    private static unsafe Tensor Join(AtenOp op, IReadOnlyList<Tensor> tensors, int dim)
    {
        var handles = new IntPtr[tensors.Count];
        for (var k = 0; k < handles.Length; k++)
        {
            handles[k] = tensors[k].Handle;
        }
        fixed (IntPtr* h = handles)
        {
            var result = op.CallMany([Arg.Tensors(h, handles.Length), Arg.I(dim)], 1, keepMany: [.. tensors]);
            return result[0];
        }
    }

    // ---- process-wide settings ------------------------------------------------------------

    /// <summary>Seeds libtorch's global generators (CPU and, when present, CUDA).</summary>
    public static void ManualSeed(ulong seed) => NativeMethods.xmod_manual_seed(seed);

    /// <summary>Intra-op threads libtorch uses for one operator.</summary>
    public static int Threads
    {
        get => NativeMethods.xmod_get_num_threads();
        set => NativeError.Check(NativeMethods.xmod_set_num_threads(value));
    }

    public static int CudaDeviceCount => NativeError.Check(NativeMethods.xmod_cuda_device_count());

    public static bool CudaAvailable => CudaDeviceCount > 0;

    public static string Version => NativeError.String(NativeMethods.xmod_torch_version());

    /// <summary>libtorch's build configuration (at::show_config()).</summary>
    public static string BuildConfig => NativeError.String(NativeMethods.xmod_torch_config());

    /// <summary>libtorch's parallel backend and thread settings (at::get_parallel_info()).</summary>
    public static string ParallelInfo => NativeError.String(NativeMethods.xmod_parallel_info());

    /// <summary>Whether operators on this thread record autograd history.</summary>
    public static bool GradEnabled
    {
        get => NativeMethods.xmod_grad_enabled() != 0;
        set => NativeMethods.xmod_set_grad_enabled(value ? 1 : 0);
    }

    /// <summary>Disables autograd on this thread until disposed (restores the previous mode).</summary>
    public static IDisposable NoGrad() => new GradModeGuard(false);

    /// <summary>Enables autograd on this thread until disposed (restores the previous mode).</summary>
    public static IDisposable EnableGrad() => new GradModeGuard(true);

    /// <summary>
    /// libtorch's inference mode on this thread until disposed: no autograd and no version
    /// counting, faster than <see cref="NoGrad"/>; tensors made inside cannot enter autograd later.
    /// </summary>
    public static IDisposable InferenceMode() => new InferenceModeGuard();

    /// <summary>
    /// Mixed precision on this thread until disposed: libtorch's CPU autocast runs matrix products
    /// in bfloat16 and keeps precision-sensitive operators (softmax, losses, norms) in float32.
    /// </summary>
    public static IDisposable Autocast(DType dtype = DType.BFloat16) => new AutocastGuard(dtype);

    private sealed class GradModeGuard : IDisposable
    {
        private readonly bool _previous;
        private bool _done;

        public GradModeGuard(bool enabled)
        {
            _previous = GradEnabled;
            GradEnabled = enabled;
        }

        public void Dispose()
        {
            if (!_done)
            {
                _done = true;
                GradEnabled = _previous;
            }
        }
    }
}
