using XModHub.Client;

namespace XModHub.Cli.Commands.Info;

public sealed class InfoCommand(PackageManagers packages, IReporter reporter, HttpClient http)
{
    public async Task<int> RunAsync(string spec, string? trunk, CancellationToken cancel)
    {
        var info = await packages.Create().InfoAsync(spec, trunk, cancel);
        reporter.Info(info.Id);
        foreach (var source in info.Sources)
        {
            reporter.Info($"  {source.Source}: {(source.Versions.Count == 0 ? "not there" : string.Join(", ", source.Versions))}");
            if (source.Versions.Count > 0 && packages.LoadConfig().Sources.FirstOrDefault(x => x.Name == source.Source) is { } feed
                && await new XModHub.Client.Feeds.FeedClient(http, feed).MetricsAsync(info.Id, cancel) is { } metrics)
            {
                reporter.Info($"    {metrics.Describe()}");
            }
        }
        reporter.Info($"  installed: {(info.Installed.Count == 0 ? "no" : string.Join(", ", info.Installed.Select(x => x.Package.Version)))}");
        foreach (var (package, manifest) in info.Installed)
        {
            reporter.Info($"  {package.Version}: {manifest.Description}; " + string.Join(", ", manifest.Metrics.Select(m => $"{m.Key} {m.Value:F2}")));
        }
        return 0;
    }
}
