using System.CommandLine;

namespace XModHub.Cli.Commands.Serve;

/// <summary>`xmod-hub serve [--port P] [--data DIR]`: the embedded hub (file-system packages, SQLite index).</summary>
public static class ServeDefinition
{
    public static readonly Option<int> Port = new("--port") { Description = "Port to listen on (0 picks a free one)", DefaultValueFactory = _ => 5000 };
    public static readonly Option<string> Data = new("--data") { Description = "Data directory (packages and index)", DefaultValueFactory = _ => "hub-data" };
    public static readonly Option<string> Host = new("--host") { Description = "Address to bind (0.0.0.0 to serve other machines)", DefaultValueFactory = _ => "127.0.0.1" };

    public static Command Create(IServiceProvider services)
    {
        var command = new Command("serve", "Run a hub: a NuGet v3 feed of trunks and language modules, with a language browser") { Port, Data, Host };
        command.Action = CliAction.For<ServeCommand>(services, (c, p, cancel) => c.RunAsync(p.GetValue(Data)!, p.GetValue(Host)!, p.GetValue(Port), cancel), CliAction.SavingStopGrace);
        return command;
    }
}
