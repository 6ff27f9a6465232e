using XModHub.Core;
using XModHub.Plugins.Metadata.Sqlite;
using XModHub.Plugins.Storage.FileSystem;
using XModHub.Plugins.Tests.Contracts;
using XModHub.Plugins.Tests.Support;

namespace XModHub.Plugins.Tests;

public sealed class FileSystemStorageContract : BlobStorageContract, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("xmod-fs-").FullName;

    protected override Task<IBlobStorage> CreateAsync(int blockSize = 8 << 20) =>
        Task.FromResult<IBlobStorage>(new FileSystemStorage(new FileSystemStorageOptions { Path = Path.Combine(_root, Guid.NewGuid().ToString("N")) }));

    public void Dispose() => Directory.Delete(_root, recursive: true);
}

[Collection(AzuriteCollection.Name)]
public sealed class AzureBlobStorageContract(AzuriteFixture azurite) : BlobStorageContract
{
    protected override async Task<IBlobStorage> CreateAsync(int blockSize = 8 << 20) => await azurite.CreateStorageAsync(blockSize);
}

public sealed class SqliteMetadataContract : MetadataStoreContract, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("xmod-sqlite-").FullName;

    protected override async Task<IMetadataStore> CreateAsync()
    {
        var store = new SqliteMetadataStore(new SqliteMetadataOptions { ConnectionString = $"Data Source={Path.Combine(_root, Guid.NewGuid().ToString("N"))}.db;Pooling=false" });
        await store.InitializeAsync(default);
        return store;
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}

[Collection(PostgresCollection.Name)]
public sealed class PostgreSqlMetadataContract(PostgresFixture postgres) : MetadataStoreContract
{
    protected override async Task<IMetadataStore> CreateAsync() => await postgres.CreateStoreAsync();
}
