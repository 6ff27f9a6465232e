using System.CommandLine;

namespace XModHub.Cli.Commands.Pack;

/// <summary>`xmod-hub pack DIR [--license SPDX] [--out DIR]`: a package directory (with its edited card) as a checked .nupkg.</summary>
public static class PackDefinition
{
    public static readonly Argument<string> Dir = new("dir") { Description = "A package directory (modules/lang-xx, a task model, ...) or lang-xx for modules/lang-xx" };
    public static readonly Option<string?> License = new("--license") { Description = "SPDX license of the package (MIT, Apache-2.0, CC-BY-4.0, ...): written into its manifest and card" };
    public static readonly Option<string> Out = new("--out") { Description = "Directory the .nupkg is written to", DefaultValueFactory = _ => "." };

    public static Command Create(IServiceProvider services)
    {
        var command = new Command("pack", "Update a package's manifest for its edited README.md (weights stay checked), set its license, and pack it as the hub will check it") { Dir, License, Out };
        command.Action = CliAction.For<PackCommand>(services, (c, p, _) => c.Run(p.GetValue(Dir)!, p.GetValue(License), p.GetValue(Out)!));
        return command;
    }
}
