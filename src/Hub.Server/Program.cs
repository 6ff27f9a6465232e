using XModHub.Server;

var app = HubApp.Build(args);
if (await HubApp.BootstrapAdminKeyAsync(app) is { } key)
{
    Console.WriteLine($"admin API key (also in the data directory's admin-key file): {key}");
}
await app.RunAsync();
