using System.CommandLine;
using XModHub.Cli.Commands.Keys;

namespace XModHub.Cli.Commands.Unlist;

/// <summary>`xmod-hub unlist|relist ID@VERSION [--source NAME]`: hide a version from installs (pinned installs still work, with a warning) or bring it back.</summary>
public static class UnlistDefinition
{
    public static readonly Argument<string> Spec = new("package") { Description = "id@version, the id as on the hub (e.g. xmod-mini.lang-de@1.0.0)" };

    public static IEnumerable<Command> Create(IServiceProvider services)
    {
        var unlist = new Command("unlist", "Unlist a version: installs skip it unless it is pinned") { Spec, KeysDefinition.Source };
        unlist.Action = CliAction.For<UnlistCommand>(services, (u, p, c) => u.RunAsync(p.GetValue(Spec)!, listed: false, p.GetValue(KeysDefinition.Source), c));
        var relist = new Command("relist", "List an unlisted version again") { Spec, KeysDefinition.Source };
        relist.Action = CliAction.For<UnlistCommand>(services, (u, p, c) => u.RunAsync(p.GetValue(Spec)!, listed: true, p.GetValue(KeysDefinition.Source), c));
        return [unlist, relist];
    }
}
