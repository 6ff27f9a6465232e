using System.Diagnostics;
using Npgsql;
using XModHub.Plugins.Metadata.PostgreSql;

namespace XModHub.Plugins.Tests.Support;

/// <summary>
/// A throw-away PostgreSQL cluster (Debian's postgresql, installed by scripts/install-deps) in a
/// temporary folder on a free loopback port: initdb, pg_ctl start, and pg_ctl stop plus removal at the end.
/// Run as root, the server runs as the postgres OS user (PostgreSQL refuses root).
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private const string Bin = "/usr/lib/postgresql/15/bin";
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-pg-").FullName;

    public int Port { get; private set; }

    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Pooling=true;Timeout=10";

    private static bool IsRoot => Environment.UserName == "root";

    private Task<string> AsServerUserAsync(string program, params string[] args) =>
        IsRoot ? TestEnv.RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(Bin, program), .. args]) : TestEnv.RunAsync(Path.Combine(Bin, program), args);

    public async Task InitializeAsync()
    {
        if (!File.Exists(Path.Combine(Bin, "initdb")))
        {
            throw new InvalidOperationException($"PostgreSQL 15 is not installed ({Bin}/initdb missing): run scripts/install-deps");
        }
        if (IsRoot)
        {
            await TestEnv.RunAsync("chown", "postgres:postgres", _dir);
        }
        Port = TestEnv.FreePort();
        var data = Path.Combine(_dir, "data");
        await AsServerUserAsync("initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8");
        var options = $"-p {Port} -k {_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200";
        await AsServerUserAsync("pg_ctl", "-D", data, "-o", options, "-l", Path.Combine(_dir, "log"), "-w", "-t", "60", "start");
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

    public async Task DisposeAsync()
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

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}
