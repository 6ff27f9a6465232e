using XModHub.Client;

namespace XModHub.Cli.Commands.Cache;

public sealed class CacheCommand(PackageManagers packages, IReporter reporter)
{
    public int Verify()
    {
        var problems = packages.Cache().Verify();
        foreach (var problem in problems)
        {
            reporter.Error(problem);
        }
        if (problems.Count == 0)
        {
            reporter.Success("every installed package is intact");
        }
        return problems.Count == 0 ? 0 : 1;
    }

    public int Prune()
    {
        var (files, bytes) = packages.Cache().Prune();
        reporter.Success($"removed {files} entries, {bytes / 1e6:F1} MB");
        return 0;
    }
}
