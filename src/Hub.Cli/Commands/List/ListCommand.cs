using XModHub.Client;

namespace XModHub.Cli.Commands.List;

public sealed class ListCommand(PackageManagers packages, IReporter reporter)
{
    public int Run()
    {
        var installed = packages.Cache().Installed();
        if (installed.Count == 0)
        {
            reporter.Info("nothing installed");
        }
        foreach (var i in installed)
        {
            reporter.Info($"{i.Id,-36} {i.Version,-10} {i.Kind,-9} {i.Language ?? "",-7} from {i.Source}, {i.Installed:yyyy-MM-dd}");
        }
        return 0;
    }
}
