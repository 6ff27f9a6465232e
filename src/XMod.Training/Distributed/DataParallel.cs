using XMod.Packaging;
using XMod.Runtime.Model;
using XMod.Runtime.Scoring;
using XMod.Tensors;
using XMod.Tensors.Distributed;
using XMod.Training.Loop;
using XMod.Training.Pretraining;

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
    public double Reduce(IReadOnlyList<Tensor> parameters, double loss) => Reduce(parameters, loss, false).Loss;

    /// <summary>
    /// As <see cref="Reduce(IReadOnlyList{Tensor}, double)"/>; the stop request travels beside the
    /// loss in the same all-reduce (no extra message), and its mean is positive when any rank asked.
    /// </summary>
    public (double Loss, bool Stop) Reduce(IReadOnlyList<Tensor> parameters, double loss, bool stop)
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
            grads[^1] = Tensor.From(new[] { (float)loss, stop ? 1f : 0f }, 2);
            _group.AllReduce(grads, ReduceOp.Average, BucketBytes);
            foreach (var i in missing)
            {
                // Accumulates the mean into the empty .grad: d/dp sum(p * g) = g.
                using var product = parameters[i].Mul(grads[i]);
                using var sum = product.Sum();
                sum.Backward();
            }
            var lossAndStop = grads[^1].ToArray<float>();
            return (lossAndStop[0], lossAndStop[1] > 0);
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

    /// <summary>
    /// The masked-language-model loss of this rank's rows of a global batch (rank r takes rows
    /// [r x rows, (r + 1) x rows)). It is the sum over this rank's masked tokens, over the GLOBAL
    /// batch's masked count, times the world size: the all-reduce averages the gradients, so their
    /// mean is exactly the gradient of one process's mean loss over the whole batch.
    /// </summary>
    public Tensor MlmLoss(XModModel model, MlmBatch batch, int rows, bool bf16)
    {
        var span = rows * batch.Length;
        var ids = batch.InputIds.AsSpan(Rank * span, span).ToArray();
        var labels = batch.Labels.AsSpan(Rank * span, span).ToArray();
        var masked = Math.Max(1, MlmObjective.MaskedCount(batch.Labels));
        var sum = MlmObjective.Loss(model, ids, labels, rows, batch.Length, batch.Language, bf16, F.Reduction.Sum);
        return sum.Mul((double)WorldSize / masked);
    }

    /// <summary>Largest file <see cref="BroadcastDirectory"/> sends (a vocabulary is a few MB).</summary>
    public const long MaxBroadcastFileBytes = 1L << 30;

    /// <summary>
    /// Gives every rank the leader's copy of the files directly in <paramref name="dir"/> (a
    /// vocabulary the leader trained, say: SentencePiece training is not promised to repeat
    /// bit-for-bit, and the ranks may be on machines that share no file system). The leader sends;
    /// the others write the files into their own <paramref name="dir"/>, creating it.
    /// </summary>
    public void BroadcastDirectory(string dir)
    {
        var files = IsLeader ? Directory.GetFiles(dir).Order(StringComparer.Ordinal).ToArray() : [];
        var count = BroadcastLongs(IsLeader ? [files.Length] : [0])[0];
        if (count is < 0 or > 1000)
        {
            throw new DistributedException($"rank 0 announced {count} files to send; expected at most 1000");
        }
        if (!IsLeader)
        {
            Directory.CreateDirectory(dir);
        }
        for (var i = 0; i < count; i++)
        {
            byte[] name = [], content = [];
            if (IsLeader)
            {
                name = System.Text.Encoding.UTF8.GetBytes(Path.GetFileName(files[i]));
                content = File.ReadAllBytes(files[i]);
            }
            var lengths = BroadcastLongs([name.Length, content.Length]);
            if (lengths[0] is < 1 or > 255 || lengths[1] is < 0 or > MaxBroadcastFileBytes)
            {
                throw new DistributedException($"rank 0 announced a file of {lengths[0]} name bytes and {lengths[1]} bytes; expected a name of 1 to 255 bytes and at most {MaxBroadcastFileBytes} bytes");
            }
            var bytes = new byte[lengths[0] + lengths[1]];
            if (IsLeader)
            {
                name.CopyTo(bytes, 0);
                content.CopyTo(bytes, name.Length);
            }
            using (var t = Tensor.From(bytes, bytes.LongLength))
            {
                _group.Broadcast([t], 0, BucketBytes);
                bytes = t.ToArray<byte>();
            }
            if (!IsLeader)
            {
                var fileName = System.Text.Encoding.UTF8.GetString(bytes, 0, (int)lengths[0]);
                // Only a plain file name: nothing rank 0 sends may land outside dir.
                if (fileName is "." or ".." || fileName != Path.GetFileName(fileName) || fileName.Contains('\\') || fileName.Any(char.IsControl))
                {
                    throw new DistributedException($"rank 0 sent a file named '{new string([.. fileName.Select(c => char.IsControl(c) ? '?' : c)])}', which is not a plain file name");
                }
                AtomicFile.WriteAllBytes(Path.Combine(dir, fileName), bytes.AsSpan((int)lengths[0]).ToArray());
            }
        }
    }

    /// <summary>
    /// Checks that every rank holds bit-identical <paramref name="tensors"/> (the trained weights
    /// and AdamW moments at the end of a run, say): rank 0 sends a digest of its bytes, each rank
    /// compares, and a one-number all-reduce tells every rank whether any differed. Throws on
    /// every rank when they differ, naming <paramref name="what"/>.
    /// </summary>
    public void VerifyIdentical(IReadOnlyList<Tensor> tensors, string what)
    {
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var t in tensors)
        {
            sha.AppendData(t.ToBytes());
        }
        // 62 bits: exact as the int64 the broadcast carries.
        var digest = (long)(BitConverter.ToUInt64(sha.GetHashAndReset(), 0) & ((1UL << 62) - 1));
        var leaders = BroadcastLongs([digest])[0];
        using var differs = Tensor.From(new[] { leaders == digest ? 0L : 1L }, 1);
        _group.AllReduce([differs], ReduceOp.Sum, BucketBytes);
        var count = differs.ToArray<long>()[0];
        if (count > 0)
        {
            throw new DistributedException($"the ranks' {what} differ: {count} of {WorldSize} rank(s) no longer match rank 0 " +
                "(the ranks must start from the same weights and apply the same all-reduced updates)");
        }
    }

    /// <summary>Checks that every rank ends with the same trained tensors and AdamW moments (see <see cref="VerifyIdentical(IReadOnlyList{Tensor}, string)"/>).</summary>
    public void VerifyIdentical(TrainingLoop loop)
    {
        var moments = new List<Tensor>();
        try
        {
            for (var i = 0; i < loop.Parameters.Count; i++)
            {
                var (m, v) = loop.Optimizer.State(i);
                moments.Add(m);
                moments.Add(v);
            }
            VerifyIdentical([.. loop.Parameters, .. moments], "trained weights and optimiser state");
        }
        finally
        {
            moments.ForEach(t => t.Dispose());
        }
    }

    private long[] BroadcastLongs(long[] values)
    {
        using var t = Tensor.From(values, values.Length);
        _group.Broadcast([t], 0, BucketBytes);
        return t.ToArray<long>();
    }

    public void Dispose()
    {
        if (_owned)
        {
            _group.Dispose();
        }
    }
}
