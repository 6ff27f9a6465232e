using XModHub.Client;
using XModHub.Client.Feeds;

namespace XModHub.Cli.Commands.Source;

public sealed class SourceCommand(PackageManagers packages, IReporter reporter)
{
    public int Add(string name, string url, string? apiKey)
    {
        var source = new FeedSource(name, url, apiKey);
        packages.SaveConfig(packages.LoadConfig().WithSource(source));
        reporter.Success($"source {source.Name} -> {source.Url}{(source.ApiKey is null ? "" : " (with an API key)")}");
        return 0;
    }

    public int List()
    {
        foreach (var s in packages.LoadConfig().Sources)
        {
            reporter.Info($"{s.Name,-12} {s.Url}{(s.ApiKey is null ? "" : "   (API key set)")}");
        }
        return 0;
    }

    public int Remove(string name)
    {
        packages.SaveConfig(packages.LoadConfig().WithoutSource(name));
        return 0;
    }
}
