using XModHub.Plugins.Storage.AzureBlob;

namespace XModHub.Plugins.Contracts;

/// <summary>One <see cref="AzuriteServer"/> for the tests that share the fixture.</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private AzuriteServer? _server;

    private AzuriteServer Server => _server ?? throw new InvalidOperationException("the Azurite fixture is not initialised");

    public int Port => Server.Port;

    public string Endpoint => Server.Endpoint;

    /// <summary>The development account and its published key (public, for emulators only).</summary>
    public string ConnectionString => Server.ConnectionString;

    public async Task InitializeAsync() => _server = await AzuriteServer.StartAsync();

    /// <summary>A storage on its own new container, so tests do not see each other's blobs.</summary>
    public Task<AzureBlobStorage> CreateStorageAsync(int blockSize = 8 << 20, HttpMessageHandler? handler = null) => Server.CreateStorageAsync(blockSize, handler);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
