using XMod.Tensors;
using XMod.Tensors.Distributed;
using XMod.Training.Loop;

namespace XMod.Training.Distributed;

/// <summary>
/// This process's part in a data-parallel run: a <see cref="ProcessGroup"/> and the gradient
/// reducer the <see cref="TrainingLoop"/> calls after backward. Every rank holds a full replica;
/// the ranks start identical (<see cref="BroadcastFromLeader"/>), all-reduce the mean of their
/// gradients each step, and so clip and step AdamW on the same numbers: the optimiser state stays
/// identical without ever being sent.
/// </summary>
/// <remarks>
/// X-MOD's per-language batches: every rank draws the SAME language for a step (from (seed,
/// step), as a single process does) and trains on its own rows of that language's global batch.
/// The alternative, per-rank languages with zero gradients for absent modules, would mix several
/// languages in one optimiser step, which the paper's one-language-per-batch training does not,
/// and would make a run's result depend on the world size; with one language per step, N ranks x
/// batch B compute the same update as one process with batch N x B (up to summation order).
/// </remarks>
public sealed class DataParallel : IGradientReducer, IDisposable
{
    private readonly ProcessGroup _group;
    private readonly bool _owned;

    /// <param name="owned">Whether disposing this disposes the group.</param>
    public DataParallel(ProcessGroup group, bool owned = true)
    {
        _group = group;
        _owned = owned;
    }

    /// <summary>Joins the run described by torchrun's variables; null when they are not set (a single-process run).</summary>
    public static DataParallel? FromEnvironment(TimeSpan? timeout = null)
    {
        var environment = DistributedEnvironment.FromEnvironment();
        return environment is null ? null : new DataParallel(ProcessGroup.Connect(environment, timeout));
    }

    public int Rank => _group.Rank;

    public int WorldSize => _group.WorldSize;

    /// <summary>Rank 0 reports progress and writes checkpoints.</summary>
    public bool IsLeader => _group.IsLeader;

    public ProcessGroup Group => _group;

    /// <summary>Bytes per all-reduce message (the shim flattens gradients into buckets of this size).</summary>
    public long BucketBytes { get; init; } = ProcessGroup.DefaultBucketBytes;

    /// <summary>Time this rank spent inside the gradient all-reduce (waiting for slower ranks included).</summary>
    public TimeSpan CommunicationTime { get; private set; }

    /// <summary>Copies rank 0's tensors into every rank's (the initial weights of a new run).</summary>
    public void BroadcastFromLeader(IReadOnlyList<Tensor> tensors)
    {
        using var _ = Torch.NoGrad();
        _group.Broadcast(tensors, 0, BucketBytes);
    }

    /// <summary>Returns once every rank has called it (the leader has prepared a run's files, say).</summary>
    public void Barrier() => _group.Barrier();

    public void Reduce(IReadOnlyList<Tensor> parameters) => Reduce(parameters, 0);

    /// <summary>
    /// Replaces every parameter's gradient by its mean over the ranks and returns the mean of
    /// <paramref name="loss"/>, which travels in the same all-reduce. A parameter without a
    /// gradient on this rank takes part with zeros, so every rank passes the same list; when
    /// another rank had a gradient for it, the mean becomes its gradient here too.
    /// </summary>
    public double Reduce(IReadOnlyList<Tensor> parameters, double loss)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var grads = new Tensor[parameters.Count + 1];
        var missing = new List<int>();
        try
        {
            for (var i = 0; i < parameters.Count; i++)
            {
                var g = parameters[i].Grad;
                if (g is null)
                {
                    using var _ = Torch.NoGrad();
                    g = Torch.ZerosLike(parameters[i]);
                    missing.Add(i);
                }
                grads[i] = g;
            }
            grads[^1] = Tensor.From(new[] { (float)loss }, 1);
            _group.AllReduce(grads, ReduceOp.Average, BucketBytes);
            foreach (var i in missing)
            {
                // Accumulates the mean into the empty .grad: d/dp sum(p * g) = g.
                using var product = parameters[i].Mul(grads[i]);
                using var sum = product.Sum();
                sum.Backward();
            }
            return grads[^1].Item();
        }
        finally
        {
            foreach (var g in grads)
            {
                g?.Dispose();
            }
            CommunicationTime += System.Diagnostics.Stopwatch.GetElapsedTime(started);
        }
    }

    public void Dispose()
    {
        if (_owned)
        {
            _group.Dispose();
        }
    }
}
