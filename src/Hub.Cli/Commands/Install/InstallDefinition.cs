using System.CommandLine;

namespace XModHub.Cli.Commands.Install;

/// <summary>`xmod-hub install lang-de[@1.0.0] [--trunk T]`.</summary>
public static class InstallDefinition
{
    public static readonly Argument<string> Spec = new("package") { Description = "lang-de, lang-de@1.0.0, or a trunk id" };
    public static readonly Option<string?> Trunk = new("--trunk") { Description = "The trunk a lang-/task- id belongs to (default: the one installed)" };

    public static Command Create(IServiceProvider services)
    {
        var command = new Command("install", "Install a trunk or a language/task package into the local cache (verified, atomic)") { Spec, Trunk };
        command.Action = CliAction.For<InstallCommand>(services, (c, p, cancel) => c.RunAsync(p.GetValue(Spec)!, p.GetValue(Trunk), cancel));
        return command;
    }
}
