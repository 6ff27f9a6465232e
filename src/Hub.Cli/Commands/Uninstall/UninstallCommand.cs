using XModHub.Client;

namespace XModHub.Cli.Commands.Uninstall;

public sealed class UninstallCommand(PackageManagers packages, IReporter reporter)
{
    /// <summary>Says every version it removed, and the packages of a trunk that went with it.</summary>
    public int Run(string spec, string? trunk, bool all)
    {
        var removed = packages.Create().Uninstall(spec, trunk, all);
        var asked = removed.TakeWhile(p => p.Id == removed[0].Id).ToList();
        reporter.Success($"uninstalled {removed[0].Id} {string.Join(", ", asked.Select(p => p.Version))}");
        var dependents = removed.Skip(asked.Count).ToList();
        if (dependents.Count > 0)
        {
            reporter.Info($"  and what was built for that trunk (it cannot load without it): {string.Join(", ", dependents.Select(p => $"{p.Id} {p.Version}"))}");
        }
        reporter.Info("  'xmod-hub cache prune' frees their downloaded files");
        return 0;
    }
}
