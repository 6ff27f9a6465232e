using Npgsql;
using XModHub.Plugins.Metadata.PostgreSql;

namespace XModHub.Plugins.Contracts;

/// <summary>
/// A throw-away PostgreSQL cluster (Debian's postgresql, installed by scripts/install-deps) in a
/// temporary folder on a free loopback port: initdb, pg_ctl start, and pg_ctl stop plus removal at the end.
/// Run as root, the server runs as the postgres OS user (PostgreSQL refuses root). No xunit here:
/// bench/XMod.Bench compiles this file in too.
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable
{
    private const string Bin = "/usr/lib/postgresql/15/bin";
    private readonly string _dir;

    private PostgresCluster(string dir, int port) => (_dir, Port) = (dir, port);

    public int Port { get; }

    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Pooling=true;Timeout=10";

    private static bool IsRoot => Environment.UserName == "root";

    private static Task<string> AsServerUserAsync(string program, params string[] args) =>
        IsRoot ? TestEnv.RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(Bin, program), .. args]) : TestEnv.RunAsync(Path.Combine(Bin, program), args);

    public static async Task<PostgresCluster> StartAsync()
    {
        if (!File.Exists(Path.Combine(Bin, "initdb")))
        {
            throw new InvalidOperationException($"PostgreSQL 15 is not installed ({Bin}/initdb missing): run scripts/install-deps");
        }
        var dir = Directory.CreateTempSubdirectory("xmod-pg-").FullName;
        if (IsRoot)
        {
            await TestEnv.RunAsync("chown", "postgres:postgres", dir);
        }
        var cluster = new PostgresCluster(dir, TestEnv.FreePort());
        var data = Path.Combine(dir, "data");
        await AsServerUserAsync("initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8");
        var options = $"-p {cluster.Port} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200";
        await AsServerUserAsync("pg_ctl", "-D", data, "-o", options, "-l", Path.Combine(dir, "log"), "-w", "-t", "60", "start");
        return cluster;
    }

    /// <summary>A new empty database (tests never share one).</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "t" + Guid.NewGuid().ToString("N")[..16];
        await using var c = new NpgsqlConnection(ConnectionString("postgres"));
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", c);
        await cmd.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    public async Task<PostgreSqlMetadataStore> CreateStoreAsync()
    {
        var store = new PostgreSqlMetadataStore(new PostgreSqlMetadataOptions { ConnectionString = await CreateDatabaseAsync() });
        await store.InitializeAsync(CancellationToken.None);
        return store;
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            await AsServerUserAsync("pg_ctl", "-D", Path.Combine(_dir, "data"), "-m", "immediate", "-w", "stop");
        }
        finally
        {
            Directory.Delete(_dir, recursive: true);
        }
    }
}
