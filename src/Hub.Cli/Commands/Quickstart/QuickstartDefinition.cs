using System.CommandLine;

namespace XModHub.Cli.Commands.Quickstart;

/// <summary>`xmod-hub quickstart [--dir D] [--steps N]`: the whole story on this machine (see <see cref="Workflows.Quickstart"/>).</summary>
public static class QuickstartDefinition
{
    public static readonly Option<string> Dir = new("--dir") { Description = "Working directory (corpus, trunk, hub, user cache)", DefaultValueFactory = _ => "quickstart" };
    public static readonly Option<int> Steps = new("--steps") { Description = "Pre-training steps of the trunk", DefaultValueFactory = _ => 1200 };

    public static Command Create(IServiceProvider services)
    {
        var command = new Command("quickstart", "Pre-train a trunk, run a hub, publish, install, add Yoruba, and serve two languages in one model") { Dir, Steps };
        command.Action = CliAction.For<QuickstartCommand>(services, (c, p, cancel) => c.RunAsync(Path.GetFullPath(p.GetValue(Dir)!), p.GetValue(Steps), cancel), CliAction.SavingStopGrace);
        return command;
    }
}
