using XModHub.Core;

namespace XModHub.Plugins.Metadata.PostgreSql.Tests;

/// <summary>One PostgreSQL cluster for the whole test assembly (xunit wants the definition in the test assembly).</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}

/// <summary>The PostgreSQL index, owners and keys against the shared metadata contract.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgreSqlMetadataContract(PostgresFixture postgres) : MetadataStoreContract<PostgreSqlMetadataStore>
{
    protected override Task<PostgreSqlMetadataStore> CreateAsync() => postgres.CreateStoreAsync();
}
