using XMod;
using XModHub.Server;

try
{
    // The host would log a start-up failure with its stack trace; it is reported below in one line.
    var app = HubApp.Build(args, b => b.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None));
    // Started first: the providers are initialised at start (asynchronously), so the key store exists.
    await app.StartAsync();
    if (await HubApp.BootstrapAdminKeyAsync(app) is { } key)
    {
        Console.WriteLine($"admin API key (also in the data directory's admin-key file): {key}");
    }
    await app.WaitForShutdownAsync();
    return 0;
}
catch (XModException e)
{
    // A wrong setting (a connection string, an unreachable service) is one line naming it, not a stack trace.
    Console.Error.WriteLine($"xmod-hub: {e.Message}");
    return 1;
}
