using XModHub.Cli.Workflows;
using XMod.Training.Corpora;
using XMod.Runtime.Model;
using XMod.Runtime.Tasks;
using XModHub.Client.Packages;
using XModHub.Client;
using System.CommandLine;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using XModHub.Cli;
using XModHub.Server;

namespace XModHub.Cli.Commands.Serve;

/// <summary>`xmod-hub serve [--port P] [--data DIR]`: the embedded hub (file-system packages, SQLite index).</summary>
public static class ServeDefinition
{
    public static readonly Option<int> Port = new("--port") { Description = "Port to listen on (0 picks a free one)", DefaultValueFactory = _ => 5000 };
    public static readonly Option<string> Data = new("--data") { Description = "Data directory (packages and index)", DefaultValueFactory = _ => "hub-data" };
    public static readonly Option<string> Host = new("--host") { Description = "Address to bind (0.0.0.0 to serve other machines)", DefaultValueFactory = _ => "127.0.0.1" };

    public static Command Create(IReporter reporter)
    {
        var command = new Command("serve", "Run a hub: a NuGet v3 feed of trunks and language modules, with a language browser");
        command.Options.Add(Port);
        command.Options.Add(Data);
        command.Options.Add(Host);
        command.SetAction(async (p, cancel) =>
        {
            var data = Path.GetFullPath(p.GetValue(Data)!);
            RunningHub hub;
            try
            {
                hub = await HubApp.StartAsync(data, p.GetValue(Host)!, p.GetValue(Port), b =>
                {
                    // Start-up failures are reported as one line below, not as the host's stack trace.
                    b.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
                    b.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
                    b.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning); // our own lines say where it listens
                }, cancel);
            }
            catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
            {
                throw new XMod.XModException($"port {p.GetValue(Port)} on {p.GetValue(Host)} is in use: choose another with --port (0 picks a free one)");
            }
            await using (hub)
            {
                reporter.Success($"hub listening on {hub.Address} (data in {data})");
                reporter.Info($"  browse:  {hub.Address}/");
                reporter.Info($"  feed:    {hub.FeedUrl}   (NuGet v3: dotnet nuget push / dotnet package search --source ...)");
                if (await HubApp.BootstrapAdminKeyAsync(hub.App, cancel) is { } key)
                {
                    reporter.Info($"  admin API key: {key}   (saved to {Path.Combine(data, "admin-key")}; create publisher keys with POST /api/keys)");
                }
                reporter.Info("press Ctrl-C to stop");
                // Ends on Ctrl-C and SIGTERM: the host's console lifetime turns both into a shutdown.
                await hub.App.WaitForShutdownAsync(cancel);
            }
            return 0;
        });
        return command;
    }
}
