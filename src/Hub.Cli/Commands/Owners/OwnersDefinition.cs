using System.CommandLine;
using XMod.Packaging;
using XModHub.Cli.Commands.Keys;
using XModHub.Client;
using XModHub.Client.Feeds;

namespace XModHub.Cli.Commands.Owners;

/// <summary>`xmod-hub owners add|remove|list ID [USER] [--source NAME]`.</summary>
public static class OwnersDefinition
{
    public static readonly Argument<string> Id = new("id") { Description = "The package id on the hub (e.g. xmod-mini.lang-de)" };
    public static readonly Argument<string> User = new("user") { Description = "The owner to add or remove" };

    public static Command Create(IReporter reporter)
    {
        OwnersCommand Command() => new(reporter, ClientConfig.Load(XModPaths.Home), new HttpClient { Timeout = TimeSpan.FromMinutes(2) });
        var add = new Command("add", "Add an owner (an owner's push key, or an admin key)") { Id, User, KeysDefinition.Source };
        add.SetAction((p, c) => Command().ChangeAsync(p.GetValue(Id)!, p.GetValue(User)!, add: true, p.GetValue(KeysDefinition.Source), c));
        var remove = new Command("remove", "Remove an owner (the last one stays)") { Id, User, KeysDefinition.Source };
        remove.SetAction((p, c) => Command().ChangeAsync(p.GetValue(Id)!, p.GetValue(User)!, add: false, p.GetValue(KeysDefinition.Source), c));
        var list = new Command("list", "Who owns a package") { Id, KeysDefinition.Source };
        list.SetAction((p, c) => Command().ListAsync(p.GetValue(Id)!, p.GetValue(KeysDefinition.Source), c));
        return new Command("owners", "Manage who owns a package on a hub") { add, remove, list };
    }
}

public sealed class OwnersCommand(IReporter reporter, ClientConfig config, HttpClient http)
{
    public async Task<int> ChangeAsync(string id, string user, bool add, string? source, CancellationToken cancel)
    {
        var feed = SourceFeed.For(config, http, source);
        var answer = add
            ? await feed.ApiAsync(HttpMethod.Post, $"packages/{Uri.EscapeDataString(id)}/owners", new { owner = user }, $"add {user} to the owners of {id}", cancel)
            : await feed.ApiAsync(HttpMethod.Delete, $"packages/{Uri.EscapeDataString(id)}/owners/{Uri.EscapeDataString(user)}", null, $"remove {user} from the owners of {id}", cancel);
        reporter.Success($"{(add ? "added" : "removed")} {user}; owners of {id}: {Owners(answer)}");
        return 0;
    }

    public async Task<int> ListAsync(string id, string? source, CancellationToken cancel)
    {
        var feed = SourceFeed.For(config, http, source);
        reporter.Info($"{id}: {Owners(await feed.ApiAsync(HttpMethod.Get, $"packages/{Uri.EscapeDataString(id)}/owners", null, $"list the owners of {id}", cancel))}");
        return 0;
    }

    private static string Owners(System.Text.Json.JsonElement answer) => string.Join(", ", answer.GetProperty("owners").EnumerateArray().Select(o => o.GetString()));
}
