using System.CommandLine;
using XModHub.Cli.Commands.Keys;

namespace XModHub.Cli.Commands.Owners;

/// <summary>`xmod-hub owners add|remove|list ID [USER] [--source NAME]`.</summary>
public static class OwnersDefinition
{
    public static readonly Argument<string> Id = new("id") { Description = "The package id on the hub (e.g. xmod-mini.lang-de)" };
    public static readonly Argument<string> User = new("user") { Description = "The owner to add or remove" };

    public static Command Create(IServiceProvider services)
    {
        var add = new Command("add", "Add an owner (an owner's push key, or an admin key)") { Id, User, KeysDefinition.Source };
        add.Action = CliAction.For<OwnersCommand>(services, (o, p, c) => o.ChangeAsync(p.GetValue(Id)!, p.GetValue(User)!, add: true, p.GetValue(KeysDefinition.Source), c));
        var remove = new Command("remove", "Remove an owner (the last one stays)") { Id, User, KeysDefinition.Source };
        remove.Action = CliAction.For<OwnersCommand>(services, (o, p, c) => o.ChangeAsync(p.GetValue(Id)!, p.GetValue(User)!, add: false, p.GetValue(KeysDefinition.Source), c));
        var list = new Command("list", "Who owns a package") { Id, KeysDefinition.Source };
        list.Action = CliAction.For<OwnersCommand>(services, (o, p, c) => o.ListAsync(p.GetValue(Id)!, p.GetValue(KeysDefinition.Source), c));
        return new Command("owners", "Manage who owns a package on a hub") { add, remove, list };
    }
}
