using System.CommandLine;

namespace XModHub.Cli.Commands.Uninstall;

/// <summary>`xmod-hub uninstall lang-de[@1.0.0] [--trunk T] [--all]`.</summary>
public static class UninstallDefinition
{
    public static readonly Argument<string> Spec = new("package") { Description = "lang-de, lang-de@1.0.0, or a trunk id (its languages and tasks go with it)" };
    public static readonly Option<string?> Trunk = new("--trunk") { Description = "The trunk a lang-/task- id belongs to (default: the one installed)" };
    public static readonly Option<bool> All = new("--all") { Description = "Remove every installed version (needed when there are several and none is named)" };

    public static Command Create(IServiceProvider services)
    {
        var command = new Command("uninstall", "Remove an installed package (cache prune frees its file)") { Spec, Trunk, All };
        command.Action = CliAction.For<UninstallCommand>(services, (c, p, _) => c.Run(p.GetValue(Spec)!, p.GetValue(Trunk), p.GetValue(All)));
        return command;
    }
}
