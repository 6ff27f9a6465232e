using XMod;
using XModHub.Cli.Commands.Keys;
using XModHub.Client;
using XModHub.Client.Packages;

namespace XModHub.Cli.Commands.Unlist;

public sealed class UnlistCommand(IReporter reporter, PackageManagers packages, HttpClient http)
{
    public async Task<int> RunAsync(string spec, bool listed, string? source, CancellationToken cancel)
    {
        var (id, version) = PackageManager.ParseSpec(spec);
        if (version is null)
        {
            throw new XModException($"{spec}: give the version to {(listed ? "relist" : "unlist")} (id@version, e.g. {spec}@1.0.0)");
        }
        var feed = SourceFeed.For(packages.LoadConfig(), http, source);
        await feed.SetListedAsync(id, version, listed, cancel);
        reporter.Success($"{(listed ? "relisted" : "unlisted")} {id} {version} on {feed.Source.Name}");
        return 0;
    }
}
