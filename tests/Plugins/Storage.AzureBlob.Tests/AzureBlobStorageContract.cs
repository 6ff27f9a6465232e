using XModHub.Core;

namespace XModHub.Plugins.Storage.AzureBlob.Tests;

/// <summary>One Azurite for the whole test assembly (xunit wants the definition in the test assembly).</summary>
[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "azurite";
}

/// <summary>Azure Blob storage (on Azurite) against the shared IBlobStorage contract.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureBlobStorageContract(AzuriteFixture azurite) : BlobStorageContract
{
    protected override async Task<IBlobStorage> CreateAsync(int blockSize = 8 << 20) => await azurite.CreateStorageAsync(blockSize);

    // Known gap: a block upload that broke off leaves uncommitted blocks, and Azurite then refuses the
    // conditional (If-None-Match: *) re-upload of that name as existing, so a retried push reads
    // "already exists" although nothing is readable. Open until the provider clears its uncommitted
    // blocks on failure (or real Azure is shown to behave differently).
    protected override bool FailedWriteFreesThePath => false;
}
