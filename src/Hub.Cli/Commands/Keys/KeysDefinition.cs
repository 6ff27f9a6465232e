using System.CommandLine;

namespace XModHub.Cli.Commands.Keys;

/// <summary>`xmod-hub keys create|list|revoke [--source NAME]`: API keys of a hub, with the source's own key.</summary>
public static class KeysDefinition
{
    public static readonly Option<string?> Source = new("--source") { Description = "Source name (default: the first configured)" };
    public static readonly Option<string> User = new("--user") { Description = "Who the new key acts for", Required = true };
    public static readonly Option<string[]> Scopes = new("--scope") { Description = "push, unlist, admin (repeat for several), or evaluate alone (the hub's evaluator)", Required = true, AllowMultipleArgumentsPerToken = true };
    public static readonly Option<string?> Name = new("--name") { Description = "A label for the key (e.g. the machine it lives on)" };
    public static readonly Argument<string> KeyId = new("key-id") { Description = "The key's id, as 'keys list' shows it" };

    public static Command Create(IServiceProvider services)
    {
        var create = new Command("create", "Create a key (needs an admin key); it is shown once");
        foreach (var o in new Option[] { User, Scopes, Name, Source })
        {
            create.Options.Add(o);
        }
        create.Action = CliAction.For<KeysCommand>(services, (k, p, c) => k.CreateAsync(p.GetValue(User)!, p.GetValue(Scopes)!, p.GetValue(Name), p.GetValue(Source), c));
        var list = new Command("list", "Keys of the hub (all for an admin key, else your own); never the keys themselves");
        list.Options.Add(Source);
        list.Action = CliAction.For<KeysCommand>(services, (k, p, c) => k.ListAsync(p.GetValue(Source), c));
        var revoke = new Command("revoke", "Revoke a key: it stops working at once");
        revoke.Arguments.Add(KeyId);
        revoke.Options.Add(Source);
        revoke.Action = CliAction.For<KeysCommand>(services, (k, p, c) => k.RevokeAsync(p.GetValue(KeyId)!, p.GetValue(Source), c));
        return new Command("keys", "Manage a hub's API keys") { create, list, revoke };
    }
}
