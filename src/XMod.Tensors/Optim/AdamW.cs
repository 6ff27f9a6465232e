using XMod.Tensors.Interop;

namespace XMod.Tensors.Optim;

/// <summary>
/// AdamW (decoupled weight decay) over a fixed list of parameters, one fused native call per
/// step. The learning rate is given per step so that schedules live with the training loop.
/// Moments are kept in float32 (float64 for float64 parameters), inside the native state that this
/// object owns (see <see cref="NativeObject"/> for the disposal policy).
/// </summary>
public sealed class AdamW : NativeObject
{
    private readonly Tensor[] _parameters;

    /// <param name="parameters">Trainable tensors, typically marked with <see cref="Tensor.AsParameter"/>.</param>
    /// <param name="weightDecay">One decay per parameter (0 for biases and LayerNorms, say), or null for none.</param>
    public AdamW(IReadOnlyList<Tensor> parameters, IReadOnlyList<double>? weightDecay = null,
        double beta1 = 0.9, double beta2 = 0.98, double eps = 1e-6)
        : base(Create(parameters, weightDecay, beta1, beta2, eps))
    {
        _parameters = [.. parameters];
    }

    private static unsafe IntPtr Create(IReadOnlyList<Tensor> parameters, IReadOnlyList<double>? weightDecay,
        double beta1, double beta2, double eps)
    {
        if (weightDecay is not null && weightDecay.Count != parameters.Count)
        {
            throw new ArgumentException($"{weightDecay.Count} weight decays for {parameters.Count} parameters");
        }
        var handles = HandlesOf(parameters);
        var decay = weightDecay?.ToArray() ?? new double[handles.Length];
        IntPtr h;
        fixed (IntPtr* p = handles)
        fixed (double* d = decay)
        {
            h = NativeMethods.xmod_adamw_new(p, d, handles.Length, beta1, beta2, eps);
        }
        GC.KeepAlive(parameters);
        return NativeError.Check(h);
    }

    public IReadOnlyList<Tensor> Parameters => _parameters;

    /// <summary>Steps taken so far (drives bias correction); restored from checkpoints.</summary>
    public long StepCount
    {
        get
        {
            var step = NativeMethods.xmod_adamw_get_step(Handle);
            GC.KeepAlive(this);
            return step;
        }
        set
        {
            NativeError.Check(NativeMethods.xmod_adamw_set_step(Handle, value));
            GC.KeepAlive(this);
        }
    }

    /// <summary>Updates every parameter that has a gradient.</summary>
    public void Step(double learningRate)
    {
        NativeError.Check(NativeMethods.xmod_adamw_step(Handle, learningRate));
        GC.KeepAlive(this);
        GC.KeepAlive(_parameters);
    }

    /// <summary>Drops every parameter's gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters)
        {
            p.ZeroGrad();
        }
    }

    /// <summary>New handles on parameter <paramref name="index"/>'s first and second moments.</summary>
    public unsafe (Tensor ExpAvg, Tensor ExpAvgSq) State(int index)
    {
        IntPtr m, v;
        NativeError.Check(NativeMethods.xmod_adamw_state(Handle, index, &m, &v));
        GC.KeepAlive(this);
        return (new Tensor(m), new Tensor(v));
    }

    /// <summary>Frees the native state and with it the moment tensors (the parameters are not this optimiser's).</summary>
    protected override void Free(IntPtr handle, bool finalizing) => NativeMethods.xmod_adamw_free(handle);

    internal static IntPtr[] HandlesOf(IReadOnlyList<Tensor> tensors)
    {
        var handles = new IntPtr[tensors.Count];
        for (var k = 0; k < handles.Length; k++)
        {
            handles[k] = tensors[k].Handle;
        }
        return handles;
    }
}

public static class Gradients
{
    /// <summary>
    /// Scales all gradients together so their global L2 norm is at most <paramref name="maxNorm"/>
    /// (torch.nn.utils.clip_grad_norm_); returns the norm before clipping.
    /// </summary>
    public static unsafe double ClipNorm(IReadOnlyList<Tensor> parameters, double maxNorm)
    {
        var handles = AdamW.HandlesOf(parameters);
        double norm;
        fixed (IntPtr* p = handles)
        {
            norm = NativeMethods.xmod_clip_grad_norm(p, handles.Length, maxNorm);
        }
        GC.KeepAlive(parameters);
        return NativeError.CheckNaN(norm);
    }
}
