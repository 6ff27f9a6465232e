using System.Net;
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
        CheckAddress(host, port);
        if (File.Exists(dataDir))
        {
            throw new XModException($"--data {dataDir} is a file; give a directory for the hub's packages and index");
        }
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

    /// <summary>
    /// Kestrel binds every interface for a host it cannot parse (300.1.1.1, a typo): only an IP
    /// address or localhost is accepted, and a port in 0..65535.
    /// </summary>
    public static void CheckAddress(string host, int port)
    {
        if (port is < 0 or > 65535)
        {
            throw new XModException($"--port {port} is not a port: give 1 to 65535 (0 picks a free one)");
        }
        if (host != "localhost" && !(IPAddress.TryParse(host, out var ip) && ip.ToString() == NormalizedLiteral(host)))
        {
            throw new XModException($"--host '{XMod.Packaging.Manifests.ModelCard.Printable(host)}' is not an IP address: give 127.0.0.1 (this machine only), 0.0.0.0 (every interface), " +
                "::1, or one of this machine's addresses");
        }
    }

    /// <summary>IPAddress.TryParse takes "1" or "0x7f.1" as IPv4 shorthands; the address must be written out.</summary>
    private static string NormalizedLiteral(string host) => host.Trim('[', ']');
}
