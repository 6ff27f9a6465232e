using System.Diagnostics;

namespace Hub.Cli.Tests;

/// <summary>Runs the real xmod-hub CLI (the built assembly) as a child process.</summary>
internal static class CliProcess
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr);

    /// <summary>Runs the CLI with its own XMOD_HOME under <paramref name="home"/> and asserts it succeeded.</summary>
    public static Result RunOk(string home, params string[] args)
    {
        var r = Run(new Dictionary<string, string> { ["XMOD_HOME"] = Path.Combine(home, "home") }, args);
        Assert.True(r.ExitCode == 0, $"xmod-hub {string.Join(' ', args)} failed ({r.ExitCode}): {r.StdErr}{r.StdOut}");
        return r;
    }

    public static Result Run(IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "xmod-hub.dll"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["NO_COLOR"] = "1";
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"xmod-hub {string.Join(' ', args)} did not finish in 2 minutes");
        }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }
}
