using System.Diagnostics;

namespace XMod.TestSupport;

/// <summary>What a finished child process left: its exit code and both output streams.</summary>
public record ProcessResult(int ExitCode, string StdOut, string StdErr)
{
    public string Output => StdOut + StdErr;
}

/// <summary>The one way tests run a child process: arguments as a list (no shell quoting), output captured, a hard timeout.</summary>
public static class ProcessRunner
{
    public static ProcessResult Run(string exe, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null,
        string? workingDirectory = null, TimeSpan? timeout = null)
    {
        using var p = Process.Start(StartInfo(exe, args, env, workingDirectory)) ?? throw new InvalidOperationException($"cannot start {exe}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        var limit = timeout ?? TimeSpan.FromMinutes(3);
        if (!p.WaitForExit(limit))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            throw new TimeoutException($"{exe} {string.Join(' ', args)} did not finish in {limit.TotalSeconds:F0} s");
        }
        return new ProcessResult(p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Runs and throws (failing the test) unless the process exits with 0; returns its output.</summary>
    public static ProcessResult RunOk(string exe, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null,
        string? workingDirectory = null, TimeSpan? timeout = null)
    {
        var list = args.ToList();
        var r = Run(exe, list, env, workingDirectory, timeout);
        return r.ExitCode == 0 ? r : throw new InvalidOperationException($"{exe} {string.Join(' ', list)} failed ({r.ExitCode}): {r.StdErr}{r.StdOut}");
    }

    /// <summary>A start info with redirected output, no colour, no .NET telemetry or banners, and <paramref name="env"/> on top.</summary>
    public static ProcessStartInfo StartInfo(string exe, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["NO_COLOR"] = "1";
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }
        return psi;
    }
}

/// <summary>
/// The real xmod-hub CLI (xmod-hub.dll next to the test assembly: test projects that reference
/// Hub.Cli) run as a child process.
/// </summary>
public static class CliProcess
{
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "xmod-hub.dll");

    /// <summary>What the CLI left; the name the CLI tests have always used.</summary>
    public sealed record Result(int ExitCode, string StdOut, string StdErr) : ProcessResult(ExitCode, StdOut, StdErr);

    /// <summary>Runs the CLI with its own XMOD_HOME, <paramref name="dir"/>/home, and fails unless it succeeded.</summary>
    public static Result RunOk(string dir, params string[] args)
    {
        var r = Run(new Dictionary<string, string> { ["XMOD_HOME"] = Path.Combine(dir, "home") }, args);
        return r.ExitCode == 0 ? r : throw new InvalidOperationException($"xmod-hub {string.Join(' ', args)} failed ({r.ExitCode}): {r.StdErr}{r.StdOut}");
    }

    /// <summary>
    /// Runs the CLI; without an XMOD_HOME in <paramref name="env"/> it inherits the test process's
    /// hermetic one (see tests/HermeticHome.cs).
    /// </summary>
    public static Result Run(IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        var r = ProcessRunner.Run("dotnet", [Dll, .. args], env, timeout: s_hangLimit);
        return new Result(r.ExitCode, r.StdOut, r.StdErr);
    }

    /// <summary>Only a guard against a hung child: a loaded CI machine can make the quickstart take minutes.</summary>
    private static readonly TimeSpan s_hangLimit = TimeSpan.FromMinutes(10);
}
