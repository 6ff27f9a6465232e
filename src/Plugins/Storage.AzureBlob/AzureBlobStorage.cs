using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using XMod;
using XModHub.Core;

namespace XModHub.Plugins.Storage.AzureBlob;

public sealed class AzureBlobStorageOptions
{
    /// <summary>A storage connection string (Storage:ConnectionString).</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>The container that holds the packages; created at start when missing.</summary>
    public string Container { get; set; } = "packages";

    /// <summary>Content up to this size goes up in one Put Blob; larger content in blocks of this size.</summary>
    public int BlockSizeBytes { get; set; } = 8 << 20;
}

/// <summary>
/// Package files in one Azure Blob Storage container. Writes without overwrite are conditional on the
/// service (If-None-Match: *), so several hub instances can never replace each other's versions.
/// </summary>
public sealed partial class AzureBlobStorage : IRangedBlobStorage, IStoreInitializer, IDisposable
{
    private readonly BlobRestClient _client;
    private readonly string _container;
    private readonly int _blockSize;

    public AzureBlobStorage(AzureBlobStorageOptions options, HttpMessageHandler? handler = null)
    {
        if (!ContainerName().IsMatch(options.Container) || options.Container.Contains("--", StringComparison.Ordinal))
        {
            throw new XModException($"Storage:Container '{options.Container}' is not a container name: 3 to 63 lower-case letters, digits and single hyphens");
        }
        // Azure allows at most 4000 MiB per block; below 64 KiB the request overhead dominates.
        if (options.BlockSizeBytes is < 64 << 10 or > 1 << 30)
        {
            throw new XModException($"Storage:BlockSizeBytes {options.BlockSizeBytes} is out of range: 65536 to 1073741824");
        }
        _client = new BlobRestClient(BlobAccount.Parse(options.ConnectionString), handler);
        _container = options.Container;
        _blockSize = options.BlockSizeBytes;
    }

    public BlobRestClient Client => _client;

    public override string ToString() => $"Azure Blob storage (container '{_container}' of {_client.Account})";

    [GeneratedRegex("^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$")]
    private static partial Regex ContainerName();

    // The hub's blob paths are ids and versions: letters, digits, '.', '-', '_' in '/'-separated segments.
    [GeneratedRegex(@"^[A-Za-z0-9_\-.+]+(?:/[A-Za-z0-9_\-.+]+)*\z")]
    private static partial Regex BlobPath();

    private static string Check(string path)
    {
        if (path.Length > 1024 || !BlobPath().IsMatch(path) || path.Split('/').Any(s => s is "." or ".."))
        {
            throw new ArgumentException($"storage path '{path}' is not a valid blob path");
        }
        return path;
    }

    /// <summary>
    /// Creates the container if it is missing (idempotent, several instances may race). An endpoint that
    /// refuses the key or cannot be reached is one <see cref="XModException"/> line naming the setting to fix.
    /// </summary>
    public async Task InitializeAsync(CancellationToken cancel)
    {
        var where = $"Azure Blob storage at {_client.Account.Endpoint}";
        try
        {
            await _client.CreateContainerIfNotExistsAsync(_container, cancel);
        }
        catch (BlobServiceException e) when (e.Status == HttpStatusCode.Forbidden)
        {
            throw new XModException($"{where} refused the account key ({e.ErrorCode ?? "403"}): check Storage:ConnectionString", e);
        }
        catch (BlobServiceException e)
        {
            throw new XModException($"{where} answered {(int)e.Status} {e.ErrorCode} creating container '{_container}': check Storage:ConnectionString and Storage:Container", e);
        }
        catch (HttpRequestException e) when (!cancel.IsCancellationRequested)
        {
            var why = e.InnerException is SocketException s ? s.SocketErrorCode.ToString() : e.HttpRequestError.ToString();
            throw new XModException($"{where} is unreachable ({why}): check Storage:ConnectionString (BlobEndpoint) and that the service runs", e);
        }
    }

    public Task<Stream?> GetAsync(string path, CancellationToken cancel) => _client.DownloadAsync(_container, Check(path), null, cancel);

    public Task<Stream?> GetRangeAsync(string path, long offset, long? length, CancellationToken cancel)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (length is { } l)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(l);
        }
        return _client.DownloadAsync(_container, Check(path), (offset, length), cancel);
    }

    public async Task<PutResult> PutAsync(string path, Stream content, bool overwrite, CancellationToken cancel)
    {
        Check(path);
        // Cheap early answer for the common conflict; the conditional commit is what guarantees it.
        if (!overwrite && await _client.ExistsAsync(_container, path, cancel))
        {
            return PutResult.AlreadyExists;
        }
        return await _client.UploadAsync(_container, path, content, overwrite, _blockSize, cancel) ? PutResult.Success : PutResult.AlreadyExists;
    }

    public Task<bool> DeleteAsync(string path, CancellationToken cancel) => _client.DeleteIfExistsAsync(_container, Check(path), cancel);

    public async IAsyncEnumerable<BlobEntry> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancel)
    {
        await foreach (var entry in _client.GetBlobsAsync(_container, prefix, 1000, cancel))
        {
            yield return entry;
        }
    }

    public void Dispose() => _client.Dispose();
}

public static class AzureBlobStorageExtensions
{
    /// <summary>
    /// Registers Azure Blob storage from a configuration section (Storage:ConnectionString,
    /// Storage:Container, Storage:BlockSizeBytes); the container is created when the host starts.
    /// </summary>
    public static IServiceCollection AddAzureBlobStorage(this IServiceCollection services, IConfiguration section)
    {
        var options = section.Get<AzureBlobStorageOptions>() ?? new AzureBlobStorageOptions();
        var storage = new AzureBlobStorage(options);
        services.AddSingleton(storage);
        services.AddSingleton<IBlobStorage>(storage);
        // The host awaits it at start, before the hub serves (no blocking on async work at build time).
        return services.AddSingleton<IStoreInitializer>(storage);
    }
}
