using XModHub.Plugins.Metadata.PostgreSql;

namespace XModHub.Plugins.Contracts;

/// <summary>One <see cref="PostgresCluster"/> for the tests that share the fixture.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private PostgresCluster? _cluster;

    private PostgresCluster Cluster => _cluster ?? throw new InvalidOperationException("the PostgreSQL fixture is not initialised");

    public int Port => Cluster.Port;

    public string ConnectionString(string database) => Cluster.ConnectionString(database);

    public async Task InitializeAsync() => _cluster = await PostgresCluster.StartAsync();

    /// <summary>A new empty database (tests never share one).</summary>
    public Task<string> CreateDatabaseAsync() => Cluster.CreateDatabaseAsync();

    public Task<PostgreSqlMetadataStore> CreateStoreAsync() => Cluster.CreateStoreAsync();

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}
