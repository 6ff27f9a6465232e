using System.CommandLine;

namespace XModHub.Cli.Commands.Source;

/// <summary>`xmod-hub source add NAME URL [--api-key K] [--timeout S] [--no-check]`, `source list`, `source remove NAME`.</summary>
public static class SourceDefinition
{
    public static readonly Argument<string> Name = new("name");
    public static readonly Argument<string> Url = new("url") { Description = "The hub's address, e.g. http://127.0.0.1:5000 (its /v3/index.json is found), or a NuGet v3 service index" };
    public static readonly Option<string?> ApiKey = new("--api-key") { Description = "API key for pushing (stored in a file only its owner can read)" };
    public static readonly Option<bool> NoCheck = new("--no-check") { Description = "Save the URL without checking that a hub answers there" };
    public static readonly Option<int?> Timeout = new("--timeout") { Description = "Seconds the source has to answer before the next one is asked (default 30, or XMOD_SOURCE_TIMEOUT)" };

    public static Command Create(IServiceProvider services)
    {
        var add = new Command("add", "Add (or replace) a hub source, after checking that a hub answers at its URL") { Name, Url, ApiKey, NoCheck, Timeout };
        add.Action = CliAction.For<SourceCommand>(services, (c, p, cancel) =>
            c.AddAsync(p.GetValue(Name)!, p.GetValue(Url)!, p.GetValue(ApiKey), p.GetValue(NoCheck), p.GetValue(Timeout), cancel));
        var remove = new Command("remove", "Remove a source") { Name };
        remove.Action = CliAction.For<SourceCommand>(services, (c, p, _) => c.Remove(p.GetValue(Name)!));
        var list = new Command("list", "The configured sources, in the order they are tried") { Action = CliAction.For<SourceCommand>(services, (c, _, _) => c.List()) };
        return new Command("source", "Configure the hubs packages come from and go to") { add, list, remove };
    }
}
