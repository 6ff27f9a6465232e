using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using XMod.Tensors.Distributed;

namespace XMod.Training.Distributed;

/// <summary>
/// Starts N ranks of a command on this machine, as torchrun --nproc-per-node N does: each child
/// gets MASTER_ADDR=127.0.0.1, a free MASTER_PORT, RANK, WORLD_SIZE and LOCAL_RANK. Rank 0's
/// output is passed through; the other ranks' error output is passed through prefixed with their
/// rank. When a rank exits with a failure, the others are killed (they would otherwise wait in a
/// collective until its timeout) and the launcher returns a failure naming that rank.
/// Cancelled (Ctrl-C), it passes SIGINT on to every rank, as torchrun does, and waits for them:
/// the ranks agree in their next all-reduce to stop after the same step, rank 0 saves its
/// checkpoint, and each exits with <see cref="CancelledExitCode"/>. A rank still running
/// <see cref="StopGrace"/> later is killed.
/// </summary>
public static class LocalLauncher
{
    /// <summary>Most local ranks; beyond this the machine has more processes than any core count justifies.</summary>
    public const int MaxProcesses = 1024;

    /// <summary>A rank's exit code when it stopped because it was interrupted (128 + SIGINT, as the CLI returns).</summary>
    public const int CancelledExitCode = 130;

    /// <summary>How long the ranks may take to stop once one was interrupted (a step and rank 0's checkpoint), within the CLI's own two minutes.</summary>
    public static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(100);

    /// <param name="fileName">The executable (for a framework-dependent app, dotnet).</param>
    /// <param name="arguments">Its arguments, the same for every rank.</param>
    /// <param name="threadsPerRank">When given, XMOD_THREADS for each rank (so N ranks do not oversubscribe the cores).</param>
    /// <returns>0 when every rank succeeded; otherwise the failed rank's exit code (1 when it had none).</returns>
    public static int Run(string fileName, IReadOnlyList<string> arguments, int processes, Action<string> error, int? threadsPerRank = null,
        CancellationToken cancel = default)
    {
        if (processes is < 1 or > MaxProcesses)
        {
            throw new XModException($"--nproc must lie in [1, {MaxProcesses}] (got {processes})");
        }
        if (DistributedEnvironment.FromEnvironment() is not null)
        {
            throw new XModException("--nproc starts ranks itself and cannot be used inside a distributed run (RANK, WORLD_SIZE, ... are set): drop --nproc, or unset them");
        }
        var port = FreePort();
        var children = new List<Process>();
        try
        {
            for (var rank = 0; rank < processes; rank++)
            {
                children.Add(Start(fileName, arguments, rank, processes, port, threadsPerRank, error));
            }
            return Supervise(children, error, cancel);
        }
        finally
        {
            KillAll(children);
            foreach (var c in children)
            {
                c.Dispose();
            }
        }
    }

    /// <summary>
    /// Starts <paramref name="processes"/> ranks of this very command line (an xmod-hub verb with
    /// --nproc N), without its --nproc. Unless XMOD_THREADS or OMP_NUM_THREADS is set, each rank
    /// gets an equal share of the cores.
    /// </summary>
    public static int RunSelf(int processes, Action<string> error, CancellationToken cancel = default)
    {
        var (fileName, prefix) = Self();
        var arguments = prefix.Concat(WithoutOption(Environment.GetCommandLineArgs().Skip(1).ToList(), "--nproc")).ToList();
        int? threads = Environment.GetEnvironmentVariable("XMOD_THREADS") is { Length: > 0 } || Environment.GetEnvironmentVariable("OMP_NUM_THREADS") is { Length: > 0 }
            ? null
            : Math.Max(1, Environment.ProcessorCount / Math.Max(1, processes));
        return Run(fileName, arguments, processes, error, threads, cancel);
    }

    /// <summary>The arguments without <paramref name="option"/> and its value (either "--x N" or "--x=N").</summary>
    public static IReadOnlyList<string> WithoutOption(IReadOnlyList<string> arguments, string option)
    {
        var kept = new List<string>();
        for (var i = 0; i < arguments.Count; i++)
        {
            if (arguments[i] == option)
            {
                i++; // its value
            }
            else if (!arguments[i].StartsWith(option + "=", StringComparison.Ordinal))
            {
                kept.Add(arguments[i]);
            }
        }
        return kept;
    }

    /// <summary>How this process was started (the executable and, under dotnet, the dll), so it can start copies of itself.</summary>
    public static (string FileName, IReadOnlyList<string> Prefix) Self()
    {
        var process = Environment.ProcessPath ?? throw new XModException("cannot tell which executable this is, so --nproc cannot start its ranks; start them with torchrun's variables instead");
        var name = Path.GetFileNameWithoutExtension(process);
        if (name.Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            var dll = System.Reflection.Assembly.GetEntryAssembly()?.Location;
            if (string.IsNullOrEmpty(dll))
            {
                throw new XModException("cannot tell which application dotnet is running, so --nproc cannot start its ranks");
            }
            return (process, [dll]);
        }
        return (process, []);
    }

    /// <summary>A TCP port no one listens on now (the OS picks it); rank 0 binds it a moment later.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static Process Start(string fileName, IReadOnlyList<string> arguments, int rank, int worldSize, int port, int? threads, Action<string> error)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = rank != 0,
            RedirectStandardError = rank != 0,
        };
        foreach (var a in arguments)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment[DistributedEnvironment.MasterAddressVariable] = "127.0.0.1";
        psi.Environment[DistributedEnvironment.MasterPortVariable] = port.ToString(CultureInfo.InvariantCulture);
        psi.Environment[DistributedEnvironment.RankVariable] = rank.ToString(CultureInfo.InvariantCulture);
        psi.Environment[DistributedEnvironment.WorldSizeVariable] = worldSize.ToString(CultureInfo.InvariantCulture);
        psi.Environment[DistributedEnvironment.LocalRankVariable] = rank.ToString(CultureInfo.InvariantCulture);
        if (threads is { } t)
        {
            psi.Environment["XMOD_THREADS"] = t.ToString(CultureInfo.InvariantCulture);
        }
        var process = Process.Start(psi) ?? throw new XModException($"could not start rank {rank} ({fileName})");
        if (rank != 0)
        {
            // Other ranks' progress is silent by design; what they print is drained so they never
            // block on a full pipe, and their errors are shown with their rank.
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is { Length: > 0 } line)
                {
                    error($"[rank {rank}] {line}");
                }
            };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }
        return process;
    }

    private static int Supervise(List<Process> children, Action<string> error, CancellationToken cancel)
    {
        var running = new HashSet<int>(Enumerable.Range(0, children.Count));
        // Set once the run is stopping (the launcher was interrupted, or a rank was): the ranks still running must end by then.
        DateTime? deadline = null;
        var interrupted = false;
        while (running.Count > 0)
        {
            if (cancel.IsCancellationRequested && !interrupted)
            {
                interrupted = true;
                deadline ??= DateTime.UtcNow + StopGrace;
                Interrupt(children.Where((_, r) => running.Contains(r)));
            }
            if (deadline is { } d && DateTime.UtcNow > d)
            {
                KillAll(children);
                error($"{running.Count} rank(s) did not stop within {StopGrace.TotalSeconds:F0} s of the interruption and were killed");
                return CancelledExitCode;
            }
            var exited = running.Where(r => children[r].HasExited).ToList();
            foreach (var rank in exited)
            {
                children[rank].WaitForExit(); // drains the redirected output
                running.Remove(rank);
            }
            // The rank that failed FIRST is the one to name: a survivor's collective fails soon
            // after (Gloo sees the closed connection) and must not be blamed.
            if (exited.Any(r => children[r].ExitCode == CancelledExitCode))
            {
                // An interrupted rank agrees with the others to stop after the same step; they follow it shortly.
                deadline ??= DateTime.UtcNow + StopGrace;
            }
            var failed = exited.Where(r => children[r].ExitCode is not 0 and not CancelledExitCode).OrderBy(r => children[r].ExitTime).ToList();
            if (failed.Count > 0)
            {
                var rank = failed[0];
                var others = running.Count;
                KillAll(children);
                error($"rank {rank} of {children.Count} failed (exit code {children[rank].ExitCode})" +
                    (others > 0 ? $"; stopped the other {others} rank(s)" : ""));
                return children[rank].ExitCode;
            }
            Thread.Sleep(50);
        }
        return children.Any(c => c.ExitCode == CancelledExitCode) || interrupted ? CancelledExitCode : 0;
    }

    /// <summary>SIGINT, so that each rank stops as after Ctrl-C (on Windows, where there is none to send, they are killed).</summary>
    private static void Interrupt(IEnumerable<Process> children)
    {
        foreach (var c in children)
        {
            try
            {
                if (OperatingSystem.IsWindows())
                {
                    c.Kill(entireProcessTree: true);
                }
                else if (!c.HasExited)
                {
                    // kill(1): .NET has no managed way to signal another process. It fails only when the rank has just exited.
                    using var kill = Process.Start(new ProcessStartInfo("kill", ["-INT", c.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false });
                    kill?.WaitForExit();
                }
            }
            catch (InvalidOperationException)
            {
                // exited meanwhile
            }
        }
    }


    private static void KillAll(List<Process> children)
    {
        foreach (var c in children)
        {
            try
            {
                if (!c.HasExited)
                {
                    c.Kill(entireProcessTree: true);
                }
            }
            catch (InvalidOperationException)
            {
                // exited meanwhile
            }
        }
    }
}
