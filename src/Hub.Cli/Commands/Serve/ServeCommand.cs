using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using XMod;
using XModHub.Client;
using XModHub.Server;

namespace XModHub.Cli.Commands.Serve;

public sealed class ServeCommand(IReporter reporter)
{
    /// <summary>Runs until cancelled (Ctrl-C, SIGTERM), then shuts the hub down; that is a normal end (exit 0).</summary>
    public async Task<int> RunAsync(string dataDir, string host, int port, CancellationToken cancel)
    {
        var data = Path.GetFullPath(dataDir);
        RunningHub hub;
        try
        {
            hub = await HubApp.StartAsync(data, host, port, b =>
            {
                // Start-up failures are reported as one line below, not as the host's stack trace.
                b.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
                b.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
                b.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning); // our own lines say where it listens
            }, cancel);
        }
        catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
        {
            throw new XModException($"port {port} on {host} is in use: choose another with --port (0 picks a free one)");
        }
        await using (hub)
        {
            reporter.Success($"hub listening on {hub.Address} (data in {data})");
            reporter.Info($"  providers: {hub.Service<HubProviders>().Describe()}");
            reporter.Info($"  browse:  {hub.Address}/");
            reporter.Info($"  feed:    {hub.FeedUrl}   (NuGet v3: dotnet nuget push / dotnet package search --source ...)");
            if (await HubApp.BootstrapAdminKeyAsync(hub.App, cancel) is { } key)
            {
                reporter.Info($"  admin API key: {key}   (saved to {Path.Combine(data, "admin-key")}; create publisher keys with POST /api/keys)");
            }
            reporter.Info("press Ctrl-C to stop");
            // Ends on Ctrl-C and SIGTERM: they cancel the token (and the host's console lifetime stops it too).
            await hub.App.WaitForShutdownAsync(cancel);
        }
        return 0;
    }
}
