using XModHub.Core.Evaluations;
using XModHub.Plugins.Contracts;

namespace XModHub.Plugins.Metadata.PostgreSql.Tests;

/// <summary>The PostgreSQL evaluation store against the shared contract, beside the index in one database (both migrate, in either order, twice).</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgreSqlEvaluationContract(PostgresFixture postgres) : EvaluationStoreContract
{
    protected override async Task<IEvaluationStore> CreateAsync()
    {
        var options = new PostgreSqlMetadataOptions { ConnectionString = await postgres.CreateDatabaseAsync() };
        var store = new PostgreSqlEvaluationStore(options);
        await store.InitializeAsync(default);
        await new PostgreSqlMetadataStore(options).InitializeAsync(default);
        await store.InitializeAsync(default);
        return store;
    }
}
