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
        var limits = new PackageLimits
        {
            MaxPackageBytes = config.GetValue("Hub:MaxPackageBytes", new PackageLimits().MaxPackageBytes),
            MaxExpandedBytes = config.GetValue("Hub:MaxExpandedBytes", new PackageLimits().MaxExpandedBytes),
        };
        builder.Services.AddSingleton(limits);
        builder.Services.AddSingleton<ApiKeyService>();
        builder.Services.AddSingleton<PackageService>();
        builder.Services.AddSingleton<EvaluationService>();
        builder.Services.AddSingleton(new HubOptions(dataDir));
        builder.Services.AddSingleton(new PushOptions(Path.Combine(dataDir, "tmp")));
        builder.Services.AddSingleton(new HubUrls(config["Hub:PublicBaseUrl"]));
        // Registered after the providers: hosted services start in order, so storage is ready (an
        // Azure container created, a wrong key reported in its own words) before the sweep reads it.
        builder.Services.AddHostedService<StartupSweep>();
        // Every route takes kilobytes; the push route alone raises its own limit, after the key is checked.
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = HubRoutes.JsonBodyLimit);
        var app = builder.Build();
        app.Logger.LogInformation("hub providers: storage {Storage} ({StorageAt}), metadata {Database} ({DatabaseAt})",
            config["Storage:Type"] ?? "FileSystem", Describe(app.Services.GetRequiredService<IBlobStorage>(), config["Storage:Path"]),
            config["Database:Type"] ?? "Sqlite", Describe(app.Services.GetRequiredService<IMetadataStore>(), config["Database:ConnectionString"]));
        app.Services.GetRequiredService<IMetadataStore>().InitializeAsync(CancellationToken.None).GetAwaiter().GetResult();
        app.Services.GetRequiredService<IEvaluationStore>().InitializeAsync(CancellationToken.None).GetAwaiter().GetResult();
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

    /// <summary>At start, before requests are served: removes what a killed hub left (spooled uploads, half-copied and orphan blobs).</summary>
    private sealed class StartupSweep(PackageService packages, PushOptions push) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancel)
        {
            if (Directory.Exists(push.TempDirectory))
            {
                foreach (var f in Directory.EnumerateFiles(push.TempDirectory))
                {
                    File.Delete(f);
                }
            }
            await packages.SweepAsync(cancel);
        }

        public Task StopAsync(CancellationToken cancel) => Task.CompletedTask;
    }

    private static void Register(Dictionary<string, Action<IServiceCollection, IConfiguration>> registry, string name, string key,
        IServiceCollection services, IConfiguration section)
    {
        if (!registry.TryGetValue(name, out var add))
        {
            throw new InvalidOperationException($"{key} '{name}' is not a known provider; known: {string.Join(", ", registry.Keys)}");
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
        if (File.Exists(path))
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
