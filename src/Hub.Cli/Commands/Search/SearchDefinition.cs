using System.CommandLine;

namespace XModHub.Cli.Commands.Search;

/// <summary>`xmod-hub search [TEXT] [--type T] [--script S] [--family F] [--trunk T]`.</summary>
public static class SearchDefinition
{
    public static readonly Argument<string> Query = new("text") { Description = "Words to search for", DefaultValueFactory = _ => "" };
    public static readonly Option<string?> Type = new("--type") { Description = "XModTrunk, XModLanguage or XModTask" };
    public static readonly Option<string?> Script = new("--script") { Description = "ISO 15924 script, e.g. Cyrl" };
    public static readonly Option<string?> Family = new("--family") { Description = "Language family, e.g. Slavic" };
    public static readonly Option<string?> Trunk = new("--trunk") { Description = "The trunk a lang-/task- id belongs to (default: the one installed)" };

    public static Command Create(IServiceProvider services)
    {
        var command = new Command("search", "Search the configured hubs") { Query, Type, Script, Family, Trunk };
        command.Action = CliAction.For<SearchCommand>(services, (c, p, cancel) =>
            c.RunAsync(p.GetValue(Query)!, p.GetValue(Type), p.GetValue(Script), p.GetValue(Family), p.GetValue(Trunk), cancel));
        return command;
    }
}
