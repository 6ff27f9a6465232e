using System.CommandLine;

namespace XModHub.Cli.Commands.Uninstall;

/// <summary>`xmod-hub uninstall lang-de[@1.0.0] [--trunk T]`.</summary>
public static class UninstallDefinition
{
    public static readonly Argument<string> Spec = new("package") { Description = "lang-de, lang-de@1.0.0, or a trunk id" };
    public static readonly Option<string?> Trunk = new("--trunk") { Description = "The trunk a lang-/task- id belongs to (default: the one installed)" };

    public static Command Create(IServiceProvider services)
    {
        var command = new Command("uninstall", "Remove an installed package (cache prune frees its file)") { Spec, Trunk };
        command.Action = CliAction.For<UninstallCommand>(services, (c, p, _) => c.Run(p.GetValue(Spec)!, p.GetValue(Trunk)));
        return command;
    }
}
