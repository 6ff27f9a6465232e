using XMod.Packaging.Nupkg;
using XModHub.Core;
using XModHub.Core.Evaluations;
using XModHub.Plugins.Metadata.PostgreSql;
using XModHub.Plugins.Metadata.Sqlite;
using XModHub.Plugins.Storage.AzureBlob;
using XModHub.Plugins.Storage.FileSystem;

namespace XModHub.Server;

/// <summary>
/// Builds the hub. Configuration (appsettings, environment XMODHUB__..., or code):
/// Hub:DataDir (default ./hub-data), Storage:Type (FileSystem) and Storage:Path,
/// Database:Type (Sqlite) and Database:ConnectionString; defaults put everything under the data
/// directory, so `xmod-hub serve` needs nothing configured. Hub:PublicBaseUrl is the address the
/// hub advertises in its URLs (default: the bound address; never the request's Host header).
/// </summary>
public static class HubApp
{
    // Providers by name (registries only for name lookup); a later provider adds one line.
    private static readonly Dictionary<string, Action<IServiceCollection, IConfiguration>> s_storage = new(StringComparer.OrdinalIgnoreCase)
    {
        ["FileSystem"] = (s, c) => s.AddFileSystemStorage(c),
        ["AzureBlob"] = (s, c) => s.AddAzureBlobStorage(c),
    };

    private static readonly Dictionary<string, Action<IServiceCollection, IConfiguration>> s_databases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Sqlite"] = (s, c) => s.AddSqliteMetadata(c).AddSqliteEvaluations(c),
        ["PostgreSql"] = (s, c) => s.AddPostgreSqlMetadata(c).AddPostgreSqlEvaluations(c),
    };

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Configuration.AddEnvironmentVariables("XMODHUB__");
        configure?.Invoke(builder);
        var config = builder.Configuration;
        var dataDir = Path.GetFullPath(config["Hub:DataDir"] ?? "hub-data");
        Directory.CreateDirectory(dataDir);
        config["Storage:Path"] ??= Path.Combine(dataDir, "packages");
        if (string.Equals(config["Database:Type"] ?? "Sqlite", "Sqlite", StringComparison.OrdinalIgnoreCase))
        {
            config["Database:ConnectionString"] ??= $"Data Source={Path.Combine(dataDir, "hub.db")}";
        }
        Register(s_storage, config["Storage:Type"] ?? "FileSystem", "Storage:Type", builder.Services, config.GetSection("Storage"));
        Register(s_databases, config["Database:Type"] ?? "Sqlite", "Database:Type", builder.Services, config.GetSection("Database"));
        builder.Services.AddSingleton(s => new HubProviders(
            config["Storage:Type"] ?? "FileSystem", Describe(s.GetRequiredService<IBlobStorage>(), config["Storage:Path"]),
            config["Database:Type"] ?? "Sqlite", Describe(s.GetRequiredService<IPackageIndex>(), SafeConnectionString(config["Database:ConnectionString"]))));
        var limits = new PackageLimits
        {
            MaxPackageBytes = config.GetValue("Hub:MaxPackageBytes", new PackageLimits().MaxPackageBytes),
            MaxExpandedBytes = config.GetValue("Hub:MaxExpandedBytes", new PackageLimits().MaxExpandedBytes),
        };
        builder.Services.AddSingleton(limits);
        builder.Services.AddSingleton<ApiKeyService>();
        builder.Services.AddSingleton<PackageService>();
        builder.Services.AddSingleton<PackageSearch>();
        builder.Services.AddSingleton<OrphanSweeper>();
        builder.Services.AddSingleton(new SweepOptions(
            TimeSpan.FromSeconds(config.GetValue("Hub:OrphanMinAgeSeconds", 900)),
            TimeSpan.FromSeconds(config.GetValue("Hub:SweepIntervalSeconds", 3600))));
        builder.Services.AddSingleton<EvaluationService>();
        builder.Services.AddSingleton(new HubOptions(dataDir));
        builder.Services.AddSingleton(new PushOptions(Path.Combine(dataDir, "tmp")));
        builder.Services.AddSingleton(DownloadOptions.From(config["Hub:AccelRedirectPrefix"], config["Storage:Type"] ?? "FileSystem"));
        builder.Services.AddSingleton(new HubUrls(config["Hub:PublicBaseUrl"]));
        // Hosted services start in order, before the server listens: the providers are initialised
        // (a schema migrated, an Azure container created, a wrong setting reported in its own words),
        // awaited, never blocked on; then the sweeper runs, at start and every interval.
        builder.Services.AddHostedService<HubStartup>();
        // Every route takes kilobytes; the push route alone raises its own limit, after the key is checked.
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = HubRoutes.JsonBodyLimit);
        var app = builder.Build();
        app.Logger.LogInformation("hub providers: {Providers}", app.Services.GetRequiredService<HubProviders>().Describe());
        if (app.Services.GetRequiredService<DownloadOptions>().AccelRedirectPrefix is { } accel)
        {
            app.Logger.LogInformation("downloads through nginx (X-Sendfile-Type: X-Accel-Redirect) are handed to its internal location {Prefix}", accel);
            if (string.IsNullOrWhiteSpace(config["Hub:PublicBaseUrl"]))
            {
                // The service index would advertise this process's own address, and clients would bypass nginx.
                app.Logger.LogWarning("Hub:AccelRedirectPrefix is set but Hub:PublicBaseUrl is not: set it to nginx's public address, or clients download from this process directly");
            }
        }
        HubRoutes.Map(app);
        return app;
    }

    /// <summary>
    /// Builds and starts a hub on <paramref name="host"/>:<paramref name="port"/> (0 picks a free
    /// port) with its data in <paramref name="dataDir"/>; the result knows the bound address.
    /// </summary>
    public static async Task<RunningHub> StartAsync(string dataDir, string host = "127.0.0.1", int port = 0,
        Action<WebApplicationBuilder>? configure = null, CancellationToken cancel = default)
    {
        var app = Build(["--urls", $"http://{host}:{port}"], b =>
        {
            b.Configuration["Hub:DataDir"] = dataDir;
            configure?.Invoke(b);
        });
        try
        {
            await app.StartAsync(cancel);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        var address = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First();
        app.Services.GetRequiredService<HubUrls>().Bound(address);
        return new RunningHub(app, address);
    }

    // What a provider says about itself (never a secret), else the setting that locates it.
    private static string? Describe(object provider, string? fallback) =>
        provider.ToString() is { } s && s != provider.GetType().ToString() ? s : fallback;

    // A connection string in a log line without its password.
    private static string? SafeConnectionString(string? value) =>
        value is null ? null : System.Text.RegularExpressions.Regex.Replace(value, "(?i)(password|pwd)=[^;]*", "$1=***");

    /// <summary>
    /// At start, before requests are served: initialises every provider (awaited in order), removes
    /// this instance's spooled uploads and blobs without rows; then sweeps orphans every interval (an
    /// instance killed mid-push on another machine leaves one that nobody restarts to remove).
    /// </summary>
    private sealed class HubStartup(IEnumerable<IStoreInitializer> stores, OrphanSweeper sweeper, SweepOptions sweep, PushOptions push, ILogger<HubStartup> log) : IHostedService, IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private Task _periodic = Task.CompletedTask;

        public async Task StartAsync(CancellationToken cancel)
        {
            foreach (var store in stores)
            {
                await store.InitializeAsync(cancel);
            }
            if (Directory.Exists(push.TempDirectory))
            {
                foreach (var f in Directory.EnumerateFiles(push.TempDirectory))
                {
                    File.Delete(f);
                }
            }
            await sweeper.SweepAsync(sweep.MinAge, cancel);
            _periodic = SweepPeriodicallyAsync(_stop.Token);
        }

        private async Task SweepPeriodicallyAsync(CancellationToken stop)
        {
            using var timer = new PeriodicTimer(sweep.Interval);
            try
            {
                while (await timer.WaitForNextTickAsync(stop))
                {
                    try
                    {
                        var removed = await sweeper.SweepAsync(sweep.MinAge, stop);
                        if (removed > 0)
                        {
                            log.LogInformation("orphan sweep removed {Count} blob(s) without an index row", removed);
                        }
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        // A sweep that fails (the store briefly unreachable) is retried at the next tick.
                        log.LogWarning("orphan sweep failed: {Message}", e.Message);
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // Stopping.
            }
        }

        public async Task StopAsync(CancellationToken cancel)
        {
            await _stop.CancelAsync();
            await _periodic;
        }

        public void Dispose() => _stop.Dispose();
    }

    private static void Register(Dictionary<string, Action<IServiceCollection, IConfiguration>> registry, string name, string key,
        IServiceCollection services, IConfiguration section)
    {
        if (!registry.TryGetValue(name, out var add))
        {
            throw new XMod.XModException($"{key} '{name}' is not a known provider; known: {string.Join(", ", registry.Keys)}");
        }
        add(services, section);
    }

    /// <summary>
    /// On a hub without keys, creates an admin key and writes it to DATA/admin-key (readable by
    /// its owner only); returns it, or null when keys exist.
    /// </summary>
    public static async Task<string?> BootstrapAdminKeyAsync(WebApplication app, CancellationToken cancel = default)
    {
        var options = app.Services.GetRequiredService<HubOptions>();
        var path = Path.Combine(options.DataDir, "admin-key");
        // Keys are shared by every instance of a hub: only the first start of the whole hub makes one.
        if (File.Exists(path) || (await app.Services.GetRequiredService<IApiKeyStore>().ListApiKeysAsync(cancel)).Count > 0)
        {
            return null;
        }
        var key = await app.Services.GetRequiredService<ApiKeyService>().CreateAsync("admin", [ApiKeyService.Admin], "bootstrap", cancel);
        await File.WriteAllTextAsync(path, key + "\n", cancel);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        return key;
    }
}

public sealed record HubOptions(string DataDir);

/// <summary>
/// The orphan sweeper's settings: Hub:OrphanMinAgeSeconds (default 900: a blob younger than this may
/// be a push in flight on another instance) and Hub:SweepIntervalSeconds (default 3600).
/// </summary>
public sealed record SweepOptions(TimeSpan MinAge, TimeSpan Interval);

/// <summary>Which providers this hub uses and where they are (never a secret): logged at start, printed by `xmod-hub serve`.</summary>
public sealed record HubProviders(string StorageType, string? Storage, string DatabaseType, string? Database)
{
    public string Describe() => $"storage {StorageType} ({Storage}), metadata {DatabaseType} ({Database})";
}

/// <summary>
/// The base of every URL the hub advertises: Hub:PublicBaseUrl when configured, else the address
/// it is bound to (a wildcard bind advertises localhost). Never the request's Host header, which a
/// client chooses.
/// </summary>
public sealed class HubUrls(string? configured)
{
    private string? _bound;

    public void Bound(string address) => _bound ??= address;

    public string Base(IServiceProvider services)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return configured.TrimEnd('/');
        }
        var address = _bound ?? services.GetService<Microsoft.AspNetCore.Hosting.Server.IServer>()?
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "http://localhost";
        var uri = new UriBuilder(address.Replace("://+", "://localhost").Replace("://*", "://localhost"));
        if (uri.Host is "0.0.0.0" or "[::]" or "::")
        {
            uri.Host = "localhost";
        }
        return uri.Uri.GetLeftPart(UriPartial.Authority);
    }
}
