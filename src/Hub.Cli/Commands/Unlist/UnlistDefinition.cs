using System.CommandLine;
using XModHub.Cli.Commands.Keys;

namespace XModHub.Cli.Commands.Unlist;

/// <summary>`xmod-hub unlist|relist ID@VERSION [--source NAME]`: hide a version from installs (pinned installs still work, with a warning) or bring it back.</summary>
public static class UnlistDefinition
{
    public static readonly Argument<string> Spec = new("package") { Description = "id@version, the id as on the hub (e.g. xmod-mini.lang-de@1.0.0)" };

    public static Command CreateUnlist(IServiceProvider services) => Create(services, "unlist", "Unlist a version: installs skip it unless it is pinned", listed: false);

    public static Command CreateRelist(IServiceProvider services) => Create(services, "relist", "List an unlisted version again", listed: true);

    private static Command Create(IServiceProvider services, string name, string description, bool listed)
    {
        var command = new Command(name, description) { Spec, KeysDefinition.Source };
        command.Action = CliAction.For<UnlistCommand>(services, (u, p, c) => u.RunAsync(p.GetValue(Spec)!, listed, p.GetValue(KeysDefinition.Source), c));
        return command;
    }
}
