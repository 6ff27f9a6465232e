namespace Hub.Cli.Tests;

/// <summary>The CLI ships as a .NET tool carrying its native shims.</summary>
public sealed class DotnetToolTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-tool-").FullName;

    public void Dispose() => TempDir.Delete(_dir);

    [Fact]
    public void TheCliPacksAsADotnetToolThatRuns()
    {
        var root = RepoRoot.Path;
        var packages = Path.Combine(_dir, "tool-package");
        Run("dotnet", "pack", Path.Combine(root, "src", "Hub.Cli", "Hub.Cli.csproj"), "-c", "Release", "--no-build", "-o", packages, "-nologo", "-v", "quiet");
        Assert.Single(Directory.GetFiles(packages, "XModHub.Client.*.nupkg"));
        var tools = Path.Combine(_dir, "tools");
        Run("dotnet", "tool", "install", "XModHub.Client", "--tool-path", tools, "--add-source", packages);
        var doctor = Run(Path.Combine(tools, "xmod-hub"), "doctor");
        Assert.Contains("ok: the runtime is ready", doctor);
    }

    private string Run(string exe, params string[] args) =>
        ProcessRunner.RunOk(exe, args, new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(_dir, "nuget-packages") }, timeout: TimeSpan.FromMinutes(5)).StdOut;
}
