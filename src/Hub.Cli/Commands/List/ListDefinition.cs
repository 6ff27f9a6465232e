using System.CommandLine;

namespace XModHub.Cli.Commands.List;

/// <summary>`xmod-hub list`.</summary>
public static class ListDefinition
{
    public static Command Create(IServiceProvider services) =>
        new("list", "Installed packages") { Action = CliAction.For<ListCommand>(services, (c, _, _) => c.Run()) };
}
