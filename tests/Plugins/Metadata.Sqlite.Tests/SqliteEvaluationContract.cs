using XModHub.Core.Evaluations;
using XModHub.Plugins.Contracts;

namespace XModHub.Plugins.Metadata.Sqlite.Tests;

/// <summary>The SQLite evaluation store against the shared contract (in the index's database file, initialised twice as a restarted hub does).</summary>
public sealed class SqliteEvaluationContract : EvaluationStoreContract, IDisposable
{
    private readonly TempDir _dir = new("xmod-sqlite-eval-");

    protected override async Task<IEvaluationStore> CreateAsync()
    {
        var options = new SqliteMetadataOptions { ConnectionString = $"Data Source={_dir[Guid.NewGuid().ToString("N") + ".db"]};Pooling=False" };
        await new SqliteMetadataStore(options).InitializeAsync(default);
        var store = new SqliteEvaluationStore(options);
        await store.InitializeAsync(default);
        await store.InitializeAsync(default);
        return store;
    }

    public void Dispose() => _dir.Dispose();
}
