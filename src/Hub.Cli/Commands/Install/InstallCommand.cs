using XModHub.Client;

namespace XModHub.Cli.Commands.Install;

public sealed class InstallCommand(PackageManagers packages, IReporter reporter)
{
    public async Task<int> RunAsync(string spec, string? trunk, CancellationToken cancel)
    {
        var manager = packages.Create();
        var installed = await manager.InstallAsync(spec, trunk, cancel);
        reporter.Info($"  in {manager.Cache.SnapshotDir(installed.Id, installed.Version)}");
        return 0;
    }
}
