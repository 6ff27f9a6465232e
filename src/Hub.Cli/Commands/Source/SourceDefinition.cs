using System.CommandLine;

namespace XModHub.Cli.Commands.Source;

/// <summary>`xmod-hub source add NAME URL [--api-key K]`, `source list`, `source remove NAME`.</summary>
public static class SourceDefinition
{
    public static readonly Argument<string> Name = new("name");
    public static readonly Argument<string> Url = new("url") { Description = "The source's NuGet v3 service index, e.g. http://127.0.0.1:5000/v3/index.json" };
    public static readonly Option<string?> ApiKey = new("--api-key") { Description = "API key for pushing (stored in a file only its owner can read)" };

    public static Command Create(IServiceProvider services)
    {
        var add = new Command("add", "Add (or replace) a hub source") { Name, Url, ApiKey };
        add.Action = CliAction.For<SourceCommand>(services, (c, p, _) => c.Add(p.GetValue(Name)!, p.GetValue(Url)!, p.GetValue(ApiKey)));
        var remove = new Command("remove", "Remove a source") { Name };
        remove.Action = CliAction.For<SourceCommand>(services, (c, p, _) => c.Remove(p.GetValue(Name)!));
        var list = new Command("list", "The configured sources, in the order they are tried") { Action = CliAction.For<SourceCommand>(services, (c, _, _) => c.List()) };
        return new Command("source", "Configure the hubs packages come from and go to") { add, list, remove };
    }
}
