using XMod.Tensors.Interop;
using XMod.Tensors;

namespace XMod.Tensors.Optim;

/// <summary>
/// AdamW (decoupled weight decay) over a fixed list of parameters, one fused native call per
/// step. The learning rate is given per step so that schedules live with the training loop.
/// Moments are kept in float32 (float64 for float64 parameters).
/// </summary>
public sealed class AdamW : IDisposable
{
    private readonly Tensor[] _parameters;
    private IntPtr _handle;

    /// <param name="parameters">Trainable tensors, typically marked with <see cref="Tensor.AsParameter"/>.</param>
    /// <param name="weightDecay">One decay per parameter (0 for biases and LayerNorms, say), or null for none.</param>
    public unsafe AdamW(IReadOnlyList<Tensor> parameters, IReadOnlyList<double>? weightDecay = null,
        double beta1 = 0.9, double beta2 = 0.98, double eps = 1e-6)
    {
        if (weightDecay is not null && weightDecay.Count != parameters.Count)
        {
            throw new ArgumentException($"{weightDecay.Count} weight decays for {parameters.Count} parameters");
        }
        _parameters = [.. parameters];
        var handles = HandlesOf(_parameters);
        var decay = weightDecay?.ToArray() ?? new double[_parameters.Length];
        fixed (IntPtr* p = handles)
        fixed (double* d = decay)
        {
            _handle = NativeError.Check(NativeMethods.xmod_adamw_new(p, d, handles.Length, beta1, beta2, eps));
        }
        GC.KeepAlive(_parameters);
    }

    public IReadOnlyList<Tensor> Parameters => _parameters;

    private IntPtr Handle => _handle != IntPtr.Zero ? _handle : throw new ObjectDisposedException(nameof(AdamW));

    /// <summary>Steps taken so far (drives bias correction); restored from checkpoints.</summary>
    public long StepCount
    {
        get => NativeMethods.xmod_adamw_get_step(Handle);
        set => NativeError.Check(NativeMethods.xmod_adamw_set_step(Handle, value));
    }

    /// <summary>Updates every parameter that has a gradient.</summary>
    public void Step(double learningRate)
    {
        NativeError.Check(NativeMethods.xmod_adamw_step(Handle, learningRate));
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
        return (new Tensor(m), new Tensor(v));
    }

    public void Dispose()
    {
        var h = Interlocked.Exchange(ref _handle, IntPtr.Zero);
        if (h != IntPtr.Zero)
        {
            NativeMethods.xmod_adamw_free(h);
        }
    }

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
