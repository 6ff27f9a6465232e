using System.CommandLine;
using XMod;
using XMod.Packaging;
using XModHub.Cli.Commands.Keys;
using XModHub.Client;
using XModHub.Client.Feeds;
using XModHub.Client.Packages;

namespace XModHub.Cli.Commands.Unlist;

/// <summary>`xmod-hub unlist|relist ID@VERSION [--source NAME]`: hide a version from installs (pinned installs still work, with a warning) or bring it back.</summary>
public static class UnlistDefinition
{
    public static readonly Argument<string> Spec = new("package") { Description = "id@version, the id as on the hub (e.g. xmod-mini.lang-de@1.0.0)" };

    public static IEnumerable<Command> Create(IReporter reporter)
    {
        UnlistCommand Command() => new(reporter, ClientConfig.Load(XModPaths.Home), new HttpClient { Timeout = TimeSpan.FromMinutes(2) });
        var unlist = new Command("unlist", "Unlist a version: installs skip it unless it is pinned") { Spec, KeysDefinition.Source };
        unlist.SetAction((p, c) => Command().RunAsync(p.GetValue(Spec)!, listed: false, p.GetValue(KeysDefinition.Source), c));
        var relist = new Command("relist", "List an unlisted version again") { Spec, KeysDefinition.Source };
        relist.SetAction((p, c) => Command().RunAsync(p.GetValue(Spec)!, listed: true, p.GetValue(KeysDefinition.Source), c));
        return [unlist, relist];
    }
}

public sealed class UnlistCommand(IReporter reporter, ClientConfig config, HttpClient http)
{
    public async Task<int> RunAsync(string spec, bool listed, string? source, CancellationToken cancel)
    {
        var (id, version) = PackageManager.ParseSpec(spec);
        if (version is null)
        {
            throw new XModException($"{spec}: give the version to {(listed ? "relist" : "unlist")} (id@version, e.g. {spec}@1.0.0)");
        }
        var feed = SourceFeed.For(config, http, source);
        await feed.SetListedAsync(id, version, listed, cancel);
        reporter.Success($"{(listed ? "relisted" : "unlisted")} {id} {version} on {feed.Source.Name}");
        return 0;
    }
}
