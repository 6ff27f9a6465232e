using System.Diagnostics;

namespace Hub.Cli.Tests;

/// <summary>The CLI ships as a .NET tool carrying its native shims.</summary>
public sealed class DotnetToolTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-tool-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TheCliPacksAsADotnetToolThatRuns()
    {
        var root = XModHubRoot();
        var packages = Path.Combine(_dir, "tool-package");
        Run("dotnet", "pack", Path.Combine(root, "src", "Hub.Cli", "Hub.Cli.csproj"), "-c", "Release", "--no-build", "-o", packages, "-nologo", "-v", "quiet");
        Assert.Single(Directory.GetFiles(packages, "XModHub.Client.*.nupkg"));
        var tools = Path.Combine(_dir, "tools");
        Run("dotnet", "tool", "install", "XModHub.Client", "--tool-path", tools, "--add-source", packages);
        var doctor = Run(Path.Combine(tools, "xmod-hub"), "doctor");
        Assert.Contains("ok: the runtime is ready", doctor);
    }

    private static string XModHubRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "XModHub.sln")))
        {
            dir = dir.Parent;
        }
        return dir!.FullName;
    }

    private static string Run(string exe, params string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(5)), $"{exe} hung");
        Assert.True(p.ExitCode == 0, $"{exe} {string.Join(' ', args)} failed: {err.Result}{output}");
        return output;
    }
}
