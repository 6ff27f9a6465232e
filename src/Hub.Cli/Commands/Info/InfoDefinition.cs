using System.CommandLine;

namespace XModHub.Cli.Commands.Info;

/// <summary>`xmod-hub info lang-de [--trunk T]`.</summary>
public static class InfoDefinition
{
    public static readonly Argument<string> Spec = new("package") { Description = "lang-de, lang-de@1.0.0, or a trunk id" };
    public static readonly Option<string?> Trunk = new("--trunk") { Description = "The trunk a lang-/task- id belongs to (default: the one installed)" };

    public static Command Create(IServiceProvider services)
    {
        var command = new Command("info", "Versions of a package on the hubs, and what is installed") { Spec, Trunk };
        command.Action = CliAction.For<InfoCommand>(services, (c, p, cancel) => c.RunAsync(p.GetValue(Spec)!, p.GetValue(Trunk), cancel));
        return command;
    }
}
