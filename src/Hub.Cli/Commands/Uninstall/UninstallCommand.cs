using XModHub.Client;

namespace XModHub.Cli.Commands.Uninstall;

public sealed class UninstallCommand(PackageManagers packages, IReporter reporter)
{
    public int Run(string spec, string? trunk)
    {
        reporter.Success($"uninstalled {packages.Create().Uninstall(spec, trunk)}");
        return 0;
    }
}
