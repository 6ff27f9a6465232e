using XMod.Tensors.Distributed;

namespace XMod.Tensors.DistributedWorker;

/// <summary>
/// What the ranks of a distributed test do, one method per scenario, run identically by the test
/// process (rank 0) and the worker (rank 1): each rank checks its own results and throws
/// <see cref="ScenarioFailed"/> with what differed.
/// </summary>
public static class DistributedScenarios
{
    public sealed class ScenarioFailed(string message) : XModException(message);

    /// <summary>STORE is tcp:HOST:PORT or file:PATH.</summary>
    public static ProcessGroup Join(string store, int rank, int worldSize, TimeSpan timeout)
    {
        if (store.StartsWith("tcp:", StringComparison.Ordinal))
        {
            var hostPort = store[4..];
            var colon = hostPort.LastIndexOf(':');
            return ProcessGroup.ConnectTcp(hostPort[..colon], int.Parse(hostPort[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture), rank, worldSize, timeout);
        }
        if (store.StartsWith("file:", StringComparison.Ordinal))
        {
            return ProcessGroup.ConnectFile(store[5..], rank, worldSize, timeout);
        }
        throw new ScenarioFailed($"unknown store '{store}'");
    }

    public static void Run(string scenario, ProcessGroup group)
    {
        switch (scenario)
        {
            case "collectives":
                AllReduceDTypes(group);
                AllReduceAcrossBuckets(group);
                AllReduceAverage(group);
                Broadcast(group);
                Barrier(group);
                break;
            case "small":
                AllReduceAcrossBuckets(group);
                Barrier(group);
                break;
            case "mismatch":
                // Rank 1 passes one tensor more than rank 0: both must fail, neither may hang.
                using (var a = Values(DType.Float32, 100, group.Rank))
                using (var b = Values(DType.Float32, 10, group.Rank))
                {
                    group.AllReduce(group.Rank == 0 ? [a] : [a, b]);
                }
                break;
            case "die":
                // Joins, proves the group works, then ends without leaving it (a crashed rank).
                group.Barrier();
                Environment.Exit(3);
                break;
            case "stall":
                // Joins, then never reaches the next collective (a hung rank).
                group.Barrier();
                Thread.Sleep(TimeSpan.FromMinutes(2));
                break;
            default:
                throw new ScenarioFailed($"unknown scenario '{scenario}'");
        }
    }

    /// <summary>Rank r's test values: small integers, exact in every dtype and in their sums.</summary>
    public static double Value(long index, int rank) => index % 7 + 10 * rank + 1;

    public static Tensor Values(DType dtype, long n, int rank, long offset = 0)
    {
        var data = new double[n];
        for (var i = 0; i < n; i++)
        {
            data[i] = Value(offset + i, rank);
        }
        using var t = Tensor.From(data);
        return t.To(dtype);
    }

    // Rank 0's flags are the complement of rank 1's.
    private static Tensor Flags(long n, int rank)
    {
        var data = new byte[n];
        for (var i = 0; i < n; i++)
        {
            data[i] = (byte)((i % 7 + rank) % 2 == 0 ? 1 : 0);
        }
        using var t = Tensor.From(data);
        return t.To(DType.Bool);
    }

    private static double Sum(long index, int worldSize)
    {
        var s = 0.0;
        for (var r = 0; r < worldSize; r++)
        {
            s += Value(index, r);
        }
        return s;
    }

    private static void Expect(string what, Tensor t, Func<long, double> expected)
    {
        var got = t.ToArray<double>();
        for (var i = 0; i < got.Length; i++)
        {
            if (got[i] != expected(i))
            {
                throw new ScenarioFailed($"{what}: element {i} is {got[i]}, expected {expected(i)}");
            }
        }
    }

    private static void AllReduceDTypes(ProcessGroup group)
    {
        DType[] dtypes = [DType.Float32, DType.Float64, DType.BFloat16, DType.Float16, DType.Int64, DType.Int32, DType.UInt8];
        var tensors = dtypes.Select(d => Values(d, 1000, group.Rank)).ToList();
        // A non-contiguous view is reduced in place too (through its flattened bucket copy).
        using var matrix = Values(DType.Float32, 12, group.Rank);
        using var square = matrix.Reshape([3, 4]);
        using var transposed = square.Transpose(0, 1);
        tensors.Add(transposed);
        group.AllReduce(tensors);
        for (var k = 0; k < dtypes.Length; k++)
        {
            Expect($"all-reduce of {dtypes[k]}", tensors[k], i => Sum(i, group.WorldSize));
            if (tensors[k].DType != dtypes[k])
            {
                throw new ScenarioFailed($"all-reduce changed {dtypes[k]} into {tensors[k].DType}");
            }
        }
        Expect("all-reduce through a transposed view", matrix, i => Sum(i, group.WorldSize));
        foreach (var t in tensors.Take(dtypes.Length))
        {
            t.Dispose();
        }
    }

    // 37 tensors of 1000 float32 (4 kB each) and one of 5000 (larger than a bucket) with 10 kB
    // buckets: 16 buckets, boundaries inside and between tensors of every size.
    private static void AllReduceAcrossBuckets(ProcessGroup group)
    {
        var sizes = Enumerable.Repeat(1000L, 37).Append(5000L).Append(0L).Append(3L).ToArray();
        var offsets = new long[sizes.Length];
        for (var k = 1; k < sizes.Length; k++)
        {
            offsets[k] = offsets[k - 1] + sizes[k - 1];
        }
        var tensors = sizes.Select((n, k) => Values(DType.Float32, n, group.Rank, offsets[k])).ToList();
        group.AllReduce(tensors, ReduceOp.Sum, bucketBytes: 10_000);
        for (var k = 0; k < tensors.Count; k++)
        {
            var offset = offsets[k];
            Expect($"all-reduce across buckets, tensor {k}", tensors[k], i => Sum(offset + i, group.WorldSize));
            tensors[k].Dispose();
        }
    }

    private static void AllReduceAverage(ProcessGroup group)
    {
        using var t = Values(DType.Float64, 64, group.Rank);
        group.AllReduce([t], ReduceOp.Average);
        Expect("average", t, i => Sum(i, group.WorldSize) / group.WorldSize);
    }

    private static void Broadcast(ProcessGroup group)
    {
        DType[] dtypes = [DType.Float32, DType.BFloat16, DType.Int64, DType.Bool];
        var tensors = dtypes.Select(d => d == DType.Bool ? Flags(300, group.Rank) : Values(d, 300, group.Rank)).ToList();
        using var parameter = Values(DType.Float32, 50, group.Rank).AsParameter();
        tensors.Add(parameter);
        group.Broadcast(tensors, root: 0, bucketBytes: 512);
        for (var k = 0; k < dtypes.Length; k++)
        {
            Expect($"broadcast of {dtypes[k]}", tensors[k], i => dtypes[k] == DType.Bool ? (i % 7 % 2 == 0 ? 1 : 0) : Value(i, 0));
            tensors[k].Dispose();
        }
        Expect("broadcast into a parameter", parameter, i => Value(i, 0));
        if (!parameter.RequiresGrad)
        {
            throw new ScenarioFailed("broadcast dropped requires_grad of a parameter");
        }
    }

    // The last rank arrives late: nobody may leave the barrier before it arrives.
    private static void Barrier(ProcessGroup group)
    {
        var late = TimeSpan.FromMilliseconds(800);
        if (group.Rank == group.WorldSize - 1)
        {
            Thread.Sleep(late);
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        group.Barrier();
        if (group.Rank == 0 && clock.Elapsed < late * 0.8)
        {
            throw new ScenarioFailed($"rank 0 left the barrier after {clock.ElapsedMilliseconds} ms, before the late rank arrived");
        }
    }
}
