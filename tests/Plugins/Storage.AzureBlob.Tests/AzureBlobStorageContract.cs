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

    // A block upload that broke off leaves uncommitted blocks, and Azurite then refuses a conditional
    // (If-None-Match: *) re-upload of that same name as existing. The hub never re-uploads a name:
    // every push writes its blob under a name of its own (PackageService.UniqueBlobPath), so a
    // retried push after a broken one is stored (HubClusterTests kills an instance mid-push and then
    // pushes the same version). The provider-level behaviour stays as Azurite has it.
    protected override bool FailedWriteFreesThePath => false;
}
