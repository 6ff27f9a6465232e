using XMod.Tensors.Interop;

namespace XMod.Tensors.Distributed;

/// <summary>How <see cref="ProcessGroup.AllReduce"/> combines the ranks' values.</summary>
public enum ReduceOp
{
    Sum = 0,
    /// <summary>The sum divided by the world size (floating-point tensors only).</summary>
    Average = 1,
}

/// <summary>c10d's communication backends.</summary>
public enum DistributedBackend
{
    /// <summary>CPU tensors (and the only one in a build against a CPU-only libtorch).</summary>
    Gloo = 0,
    /// <summary>CUDA tensors; only in a build against a CUDA libtorch (CMake selects it there).</summary>
    Nccl = 1,
}

/// <summary>A collective failed, a rendezvous could not complete, or this build cannot do either.</summary>
public sealed class DistributedException(string message) : XModException(message);

/// <summary>
/// One rank's membership in a group of processes that train together: libtorch's c10d Gloo
/// process group behind a TCP store (rank 0 hosts it, as torchrun's MASTER_ADDR) or a file store.
/// </summary>
/// <remarks>
/// Every collective blocks until all ranks have made the same call, in the same order, with the
/// same tensor list (a different list fails on every rank rather than summing garbage). A rank
/// that dies or stalls makes the others' collective fail after <see cref="Timeout"/> with a
/// <see cref="DistributedException"/>; the group cannot be used afterwards.
/// Disposal: like <see cref="Tensor"/>, a finalizer frees a forgotten group as a safety net and
/// counts in <see cref="FinalizedCount"/>, which tests keep at zero.
/// </remarks>
public sealed class ProcessGroup : IDisposable
{
    /// <summary>DistributedDataParallel's default bucket: large enough to amortise each message's latency.</summary>
    public const long DefaultBucketBytes = 25L * 1024 * 1024;

    /// <summary>Long enough for rank 0 to write a checkpoint while the others wait at the next collective.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(10);

    private static long s_finalized;
    private static long s_live;
    private readonly Lock _gate = new();
    private IntPtr _handle;

    private ProcessGroup(IntPtr handle, int rank, int worldSize, TimeSpan timeout)
    {
        _handle = handle;
        Rank = rank;
        WorldSize = worldSize;
        Timeout = timeout;
        Interlocked.Increment(ref s_live);
    }

    ~ProcessGroup()
    {
        if (_handle != IntPtr.Zero)
        {
            Interlocked.Increment(ref s_finalized);
            Release();
        }
    }

    public int Rank { get; }

    public int WorldSize { get; }

    /// <summary>Rank 0: the one that writes checkpoints and reports progress.</summary>
    public bool IsLeader => Rank == 0;

    public TimeSpan Timeout { get; }

    /// <summary>Groups freed by the garbage collector rather than by Dispose.</summary>
    public static long FinalizedCount => Interlocked.Read(ref s_finalized);

    /// <summary>Groups connected and not yet disposed (all threads).</summary>
    public static long LiveCount => Interlocked.Read(ref s_live);

    /// <summary>Whether this build of the native library has Gloo (libgloo-dev when it was built).</summary>
    public static bool IsAvailable => UnavailableReason is null;

    /// <summary>Why distributed training cannot run here, or null when it can.</summary>
    public static string? UnavailableReason
    {
        get
        {
            try
            {
                return (NativeMethods.xmod_dist_available() & 1) != 0
                    ? null
                    : "distributed training needs libgloo-dev: this libxmod_native was built without Gloo; install it (scripts/install-deps) and rebuild (dotnet build)";
            }
            catch (EntryPointNotFoundException)
            {
                return $"{NativeLibraryLoader.LibraryPath} predates distributed training: rebuild it (dotnet build)";
            }
        }
    }

    /// <summary>Whether this build has the NCCL backend (it was built against a CUDA libtorch).</summary>
    public static bool IsNcclAvailable
    {
        get
        {
            try
            {
                return (NativeMethods.xmod_dist_available() & 2) != 0;
            }
            catch (EntryPointNotFoundException)
            {
                return false;
            }
        }
    }

    /// <summary>Joins the group described by torchrun's variables (see <see cref="DistributedEnvironment"/>).</summary>
    public static ProcessGroup Connect(DistributedEnvironment environment, TimeSpan? timeout = null, DistributedBackend backend = DistributedBackend.Gloo) =>
        ConnectTcp(environment.MasterAddress, environment.MasterPort, environment.Rank, environment.WorldSize, timeout, backend);

    /// <summary>
    /// Joins through a TCP store at <paramref name="host"/>:<paramref name="port"/>, which rank 0
    /// hosts; returns once all <paramref name="worldSize"/> ranks are connected.
    /// </summary>
    public static ProcessGroup ConnectTcp(string host, int port, int rank, int worldSize, TimeSpan? timeout = null,
        DistributedBackend backend = DistributedBackend.Gloo)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        var t = CheckArguments(rank, worldSize, timeout);
        if (port is < 1 or > 65535)
        {
            throw new DistributedException($"the rendezvous port must lie in [1, 65535], got {port}");
        }
        return Open(() => NativeMethods.xmod_dist_init_tcp(host, port, rank, worldSize, (long)t.TotalMilliseconds, (int)backend), rank, worldSize, t);
    }

    /// <summary>
    /// Joins through a store file every rank can reach (a fresh path per run, on a shared file
    /// system when the ranks are on several machines).
    /// </summary>
    public static ProcessGroup ConnectFile(string path, int rank, int worldSize, TimeSpan? timeout = null,
        DistributedBackend backend = DistributedBackend.Gloo)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var t = CheckArguments(rank, worldSize, timeout);
        var full = Path.GetFullPath(path);
        if (!Directory.Exists(Path.GetDirectoryName(full)))
        {
            throw new DistributedException($"the folder of the rendezvous file {full} does not exist: create it, on a file system every rank can reach");
        }
        return Open(() => NativeMethods.xmod_dist_init_file(full, rank, worldSize, (long)t.TotalMilliseconds, (int)backend), rank, worldSize, t);
    }

    private static TimeSpan CheckArguments(int rank, int worldSize, TimeSpan? timeout)
    {
        if (UnavailableReason is { } why)
        {
            throw new DistributedException(why);
        }
        if (worldSize is < 1 or > 65536)
        {
            throw new DistributedException($"world size must lie in [1, 65536], got {worldSize}");
        }
        if (rank < 0 || rank >= worldSize)
        {
            throw new DistributedException($"rank {rank} is outside [0, {worldSize})");
        }
        var t = timeout ?? DefaultTimeout;
        if (t < TimeSpan.FromMilliseconds(1) || t > TimeSpan.FromDays(7))
        {
            throw new DistributedException($"timeout must lie in [1 ms, 7 days], got {t}");
        }
        return t;
    }

    private static ProcessGroup Open(Func<IntPtr> init, int rank, int worldSize, TimeSpan timeout)
    {
        var h = init();
        if (h == IntPtr.Zero)
        {
            throw TakeError();
        }
        return new ProcessGroup(h, rank, worldSize, timeout);
    }

    /// <summary>
    /// Replaces each tensor, in place, by the sum (or average) of that tensor over all ranks.
    /// Tensors are flattened into buckets of at most <paramref name="bucketBytes"/> per element
    /// type, so a model's few hundred gradients travel as a few large messages.
    /// </summary>
    public unsafe void AllReduce(IReadOnlyList<Tensor> tensors, ReduceOp op = ReduceOp.Sum, long bucketBytes = DefaultBucketBytes)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        Collective(tensors, (h, p, n) => NativeMethods.xmod_dist_all_reduce(h, p, n, (int)op, bucketBytes));
    }

    /// <summary>Copies <paramref name="root"/>'s tensors into every other rank's, in place (initial weights, say).</summary>
    public unsafe void Broadcast(IReadOnlyList<Tensor> tensors, int root = 0, long bucketBytes = DefaultBucketBytes)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        Collective(tensors, (h, p, n) => NativeMethods.xmod_dist_broadcast(h, p, n, root, bucketBytes));
    }

    /// <summary>Returns once every rank has called it.</summary>
    public void Barrier()
    {
        lock (_gate)
        {
            if (NativeMethods.xmod_dist_barrier(Handle) < 0)
            {
                throw TakeError();
            }
        }
    }

    private unsafe delegate int Call(IntPtr group, IntPtr* tensors, int n);

    private unsafe void Collective(IReadOnlyList<Tensor> tensors, Call call)
    {
        var handles = new IntPtr[tensors.Count];
        for (var k = 0; k < handles.Length; k++)
        {
            handles[k] = (tensors[k] ?? throw new ArgumentException($"tensor {k} is null", nameof(tensors))).Handle;
        }
        // One collective at a time: the ranks must issue them in the same order, which calls
        // racing on several threads of one rank could not guarantee.
        lock (_gate)
        {
            int rc;
            fixed (IntPtr* p = handles)
            {
                rc = call(Handle, p, handles.Length);
            }
            GC.KeepAlive(tensors);
            if (rc < 0)
            {
                throw TakeError();
            }
        }
    }

    private IntPtr Handle => _handle != IntPtr.Zero ? _handle : throw new ObjectDisposedException(nameof(ProcessGroup));

    private static unsafe DistributedException TakeError() =>
        new(NativeError.TakeMessage(&NativeMethods.xmod_last_error, &NativeMethods.xmod_clear_error));

    /// <summary>Leaves the group (no collective: the other ranks are not waited for).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            Release();
        }
        GC.SuppressFinalize(this);
    }

    private void Release()
    {
        var h = Interlocked.Exchange(ref _handle, IntPtr.Zero);
        if (h != IntPtr.Zero)
        {
            NativeMethods.xmod_dist_destroy(h);
            Interlocked.Decrement(ref s_live);
        }
    }
}
