using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using XMod.Tensors.Distributed;
using XMod.Tensors.DistributedWorker;

namespace XMod.Tensors.Tests;

/// <summary>
/// Two ranks on loopback: this process is rank 0, a started XMod.Tensors.DistributedWorker is
/// rank 1, and both run the same scenario (DistributedScenarios), each checking its own results.
/// </summary>
public sealed class DistributedTests
{
    private static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public void CollectivesOverTcpGiveEveryRankTheSameResults()
    {
        var store = $"tcp:127.0.0.1:{FreePort()}";
        using var worker = Worker.Start("collectives", store, JoinTimeout);
        using (var group = DistributedScenarios.Join(store, 0, 2, JoinTimeout))
        {
            Assert.True(group.IsLeader);
            Assert.Equal(2, group.WorldSize);
            DistributedScenarios.Run("collectives", group);
        }
        worker.AssertSucceeded();
    }

    [Fact]
    public void FileStoreRendezvousWorks()
    {
        using var dir = new TempDir();
        var store = $"file:{Path.Combine(dir.Path, "store")}";
        using var worker = Worker.Start("small", store, JoinTimeout);
        using (var group = DistributedScenarios.Join(store, 0, 2, JoinTimeout))
        {
            DistributedScenarios.Run("small", group);
        }
        worker.AssertSucceeded();
    }

    [Fact]
    public void DifferentTensorListsFailOnEveryRankInsteadOfSummingGarbage()
    {
        var store = $"tcp:127.0.0.1:{FreePort()}";
        using var worker = Worker.Start("mismatch", store, JoinTimeout);
        using (var group = DistributedScenarios.Join(store, 0, 2, JoinTimeout))
        {
            var e = Assert.Throws<DistributedException>(() => DistributedScenarios.Run("mismatch", group));
            Assert.Contains("different tensor lists", e.Message);
            // The group stays failed rather than hanging on the next call.
            using var t = Torch.Ones([4]);
            var again = Assert.Throws<DistributedException>(() => group.AllReduce([t]));
            Assert.Contains("failed earlier", again.Message);
        }
        var (code, _, stderr) = worker.WaitForExit();
        Assert.Equal(1, code);
        Assert.Contains("different tensor lists", stderr);
    }

    [Fact]
    public void ARankThatDiesEndsTheOthersCollectiveWithAClearMessage()
    {
        var timeout = TimeSpan.FromSeconds(15);
        var store = $"tcp:127.0.0.1:{FreePort()}";
        using var worker = Worker.Start("die", store, timeout);
        using var group = DistributedScenarios.Join(store, 0, 2, timeout);
        group.Barrier();
        Assert.Equal(3, worker.WaitForExit().ExitCode);
        using var t = Torch.Ones([1000]);
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<DistributedException>(() => group.AllReduce([t]));
        Assert.True(clock.Elapsed < timeout + TimeSpan.FromSeconds(5), $"the collective took {clock.Elapsed}");
        Assert.Contains("all-reduce failed on rank 0 of 2", e.Message);
        Assert.Contains("another rank stopped", e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void AStalledRankMakesTheOthersTimeOutInsteadOfHanging()
    {
        // One timeout covers the rendezvous too, so it leaves the worker time to start.
        var timeout = TimeSpan.FromSeconds(8);
        var store = $"tcp:127.0.0.1:{FreePort()}";
        using var worker = Worker.Start("stall", store, timeout);
        using var group = DistributedScenarios.Join(store, 0, 2, timeout);
        group.Barrier();
        using var t = Torch.Ones([1000]);
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<DistributedException>(() => group.AllReduce([t]));
        Assert.InRange(clock.Elapsed, timeout * 0.9, timeout + TimeSpan.FromSeconds(10));
        Assert.Contains("all-reduce failed on rank 0 of 2", e.Message);
        Assert.Contains("within 8 s", e.Message);
        worker.Kill();
    }

    [Fact]
    public void AWrongStoreAddressFailsWithinTheTimeoutNamingTheAddress()
    {
        // A port bound but never listened on: connecting is refused for the whole test, and no other
        // test (or process) can take the port meanwhile, as it could a port found free and released.
        using var held = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        held.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)held.LocalEndPoint!).Port;
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<DistributedException>(() => ProcessGroup.ConnectTcp("127.0.0.1", port, 1, 2, TimeSpan.FromSeconds(2)));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the rendezvous took {clock.Elapsed}");
        Assert.Contains($"rank 1 of 2 could not reach the TCP store at 127.0.0.1:{port} within 2 s", e.Message);
        Assert.Contains("MASTER_ADDR/MASTER_PORT", e.Message);

        var unresolvable = Assert.Throws<DistributedException>(() => ProcessGroup.ConnectTcp("no-such-host.invalid", port, 1, 2, TimeSpan.FromSeconds(2)));
        Assert.Contains("could not reach the TCP store at no-such-host.invalid", unresolvable.Message);
    }

    [Fact]
    public void Rank0ReportsAPortThatIsTaken()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var e = Assert.Throws<DistributedException>(() => ProcessGroup.ConnectTcp("127.0.0.1", port, 0, 2, TimeSpan.FromSeconds(2)));
        Assert.Contains($"rank 0 of 2 could not host the TCP store at 127.0.0.1:{port}", e.Message);
    }

    [Fact]
    public void ASingleRankGroupNeedsNoPeersAndChangesNothing()
    {
        var live = ProcessGroup.LiveCount;
        using (var group = ProcessGroup.ConnectTcp("127.0.0.1", FreePort(), 0, 1, TimeSpan.FromSeconds(20)))
        {
            Assert.Equal(live + 1, ProcessGroup.LiveCount);
            using var t = DistributedScenarios.Values(DType.Float32, 10, 0);
            group.AllReduce([t], ReduceOp.Average);
            group.Broadcast([t]);
            group.Barrier();
            Assert.Equal(Enumerable.Range(0, 10).Select(i => DistributedScenarios.Value(i, 0)), t.ToArray<double>());
        }
        Assert.Equal(live, ProcessGroup.LiveCount);
    }

    [Fact]
    public void BadArgumentsAreRefusedWithTheValueNamed()
    {
        Assert.Contains("rank 2 is outside [0, 2)", Assert.Throws<DistributedException>(() => ProcessGroup.ConnectTcp("127.0.0.1", 29500, 2, 2)).Message);
        Assert.Contains("world size must lie in [1, 65536], got 0", Assert.Throws<DistributedException>(() => ProcessGroup.ConnectTcp("127.0.0.1", 29500, 0, 0)).Message);
        Assert.Contains("port must lie in [1, 65535], got 70000", Assert.Throws<DistributedException>(() => ProcessGroup.ConnectTcp("127.0.0.1", 70000, 0, 2)).Message);
        Assert.Contains("timeout must lie", Assert.Throws<DistributedException>(() => ProcessGroup.ConnectTcp("127.0.0.1", 29500, 0, 2, TimeSpan.Zero)).Message);
        Assert.Contains("folder of the rendezvous file /nonexistent/dir/store does not exist", Assert.Throws<DistributedException>(() => ProcessGroup.ConnectFile("/nonexistent/dir/store", 0, 2)).Message);

        var group = ProcessGroup.ConnectTcp("127.0.0.1", FreePort(), 0, 1, TimeSpan.FromSeconds(20));
        using (var flags = Torch.Ones([3]).To(DType.Bool))
        using (var longs = Torch.Ones([3], DType.Int64))
        using (var floats = Torch.Ones([3]))
        {
            Assert.Contains("all-reduce cannot reduce Bool tensors (tensor 1)", Assert.Throws<DistributedException>(() => group.AllReduce([floats, flags])).Message);
            Assert.Contains("average of Long tensors is not defined", Assert.Throws<DistributedException>(() => group.AllReduce([longs], ReduceOp.Average)).Message);
            Assert.Contains("bucket size must be positive", Assert.Throws<DistributedException>(() => group.AllReduce([floats], bucketBytes: 0)).Message);
            Assert.Contains("bucket size must be positive", Assert.Throws<DistributedException>(() => group.AllReduce([floats], bucketBytes: -5)).Message);
            Assert.Contains("unknown reduce op 7", Assert.Throws<DistributedException>(() => group.AllReduce([floats], (ReduceOp)7)).Message);
            Assert.Contains("broadcast root 1 is outside [0, 1)", Assert.Throws<DistributedException>(() => group.Broadcast([floats], root: 1)).Message);
            group.Dispose();
            Assert.Throws<ObjectDisposedException>(() => group.AllReduce([floats]));
        }
    }

    [Fact]
    public void ThisBuildHasGloo() => Assert.Null(ProcessGroup.UnavailableReason);

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("xmod-dist-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }

    /// <summary>Rank 1 in a child process; killed on dispose if still running.</summary>
    private sealed class Worker : IDisposable
    {
        private readonly Process _process;
        private readonly Task<string> _stdout;
        private readonly Task<string> _stderr;

        private Worker(Process process)
        {
            _process = process;
            _stdout = process.StandardOutput.ReadToEndAsync();
            _stderr = process.StandardError.ReadToEndAsync();
        }

        public static Worker Start(string scenario, string store, TimeSpan timeout)
        {
            var psi = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "XMod.Tensors.DistributedWorker.dll"));
            foreach (var a in new[] { scenario, "1", "2", store, ((long)timeout.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture) })
            {
                psi.ArgumentList.Add(a);
            }
            psi.Environment["XMOD_THREADS"] = "1";
            return new Worker(Process.Start(psi)!);
        }

        public (int ExitCode, string StdOut, string StdErr) WaitForExit()
        {
            if (!_process.WaitForExit(TimeSpan.FromMinutes(2)))
            {
                Kill();
                throw new TimeoutException($"the worker did not finish in 2 minutes: {_stderr.Result}");
            }
            return (_process.ExitCode, _stdout.Result, _stderr.Result);
        }

        public void AssertSucceeded()
        {
            var (code, stdout, stderr) = WaitForExit();
            Assert.True(code == 0, $"rank 1 failed ({code}): {stderr}{stdout}");
            Assert.Contains(" ok", stdout);
        }

        public void Kill()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }
        }

        public void Dispose()
        {
            Kill();
            _process.Dispose();
        }
    }
}
