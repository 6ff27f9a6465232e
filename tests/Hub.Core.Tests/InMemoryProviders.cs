namespace XModHub.Core.Tests;

/// <summary>The providers' contracts in memory (the plugin projects test the real ones): enough to test the service's policy alone.</summary>
internal sealed class InMemoryMetadataStore : IMetadataStore
{
    private readonly Lock _lock = new();
    private readonly List<PackageRecord> _packages = [];
    private readonly Dictionary<string, List<string>> _owners = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, ApiKeyRecord> _keys = [];

    public IReadOnlyList<ApiKeyRecord> Keys
    {
        get
        {
            lock (_lock)
            {
                return [.. _keys.Values];
            }
        }
    }

    public Task InitializeAsync(CancellationToken cancel) => Task.CompletedTask;

    public async Task<AddResult> AddAsync(PackageRecord record, Func<CancellationToken, Task> storeBlob, CancellationToken cancel)
    {
        lock (_lock)
        {
            if (_packages.Any(p => Same(p, record.Id, record.Version)))
            {
                return AddResult.AlreadyExists;
            }
            if (_owners.TryGetValue(record.Id, out var owners) && !owners.Contains(record.Publisher))
            {
                return AddResult.Forbidden;
            }
        }
        await storeBlob(cancel); // a failure here adds nothing, as the real store's transaction does
        lock (_lock)
        {
            if (_packages.Any(p => Same(p, record.Id, record.Version)))
            {
                return AddResult.AlreadyExists;
            }
            _packages.Add(record);
            if (!_owners.ContainsKey(record.Id))
            {
                _owners[record.Id] = [record.Publisher];
            }
            return AddResult.Added;
        }
    }

    private static bool Same(PackageRecord p, string id, string version) =>
        string.Equals(p.Id, id, StringComparison.OrdinalIgnoreCase) && string.Equals(p.Version, version, StringComparison.OrdinalIgnoreCase);

    public Task<PackageRecord?> GetAsync(string id, string version, CancellationToken cancel)
    {
        lock (_lock)
        {
            return Task.FromResult(_packages.FirstOrDefault(p => Same(p, id, version)));
        }
    }

    public Task<IReadOnlyList<PackageRecord>> GetVersionsAsync(string id, bool includeUnlisted, CancellationToken cancel)
    {
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<PackageRecord>>([.. _packages.Where(p => string.Equals(p.Id, id, StringComparison.OrdinalIgnoreCase) && (includeUnlisted || p.Listed))]);
        }
    }

    public Task<bool> SetListedAsync(string id, string version, bool listed, CancellationToken cancel) =>
        Task.FromResult(Update(id, version, p => p with { Listed = listed }));

    public Task AddDownloadAsync(string id, string version, CancellationToken cancel) =>
        Task.FromResult(Update(id, version, p => p with { Downloads = p.Downloads + 1 }));

    private bool Update(string id, string version, Func<PackageRecord, PackageRecord> change)
    {
        lock (_lock)
        {
            var i = _packages.FindIndex(p => Same(p, id, version));
            if (i >= 0)
            {
                _packages[i] = change(_packages[i]);
            }
            return i >= 0;
        }
    }

    public Task<(int Total, IReadOnlyList<PackageRecord> Page)> SearchAsync(SearchQuery query, CancellationToken cancel) =>
        throw new NotSupportedException("the service does not search");

    public Task<PackageRecord?> FindTrunkAsync(string trunkId, string weightsSha256, CancellationToken cancel)
    {
        lock (_lock)
        {
            return Task.FromResult(_packages.FirstOrDefault(p => p.Id == trunkId && p.WeightsSha256 == weightsSha256));
        }
    }

    public Task<IReadOnlyList<string>> GetOwnersAsync(string id, CancellationToken cancel)
    {
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<string>>(_owners.TryGetValue(id, out var o) ? [.. o] : []);
        }
    }

    public Task<bool> AddOwnerAsync(string id, string owner, CancellationToken cancel)
    {
        lock (_lock)
        {
            if (!_owners.TryGetValue(id, out var o) || o.Contains(owner))
            {
                return Task.FromResult(false);
            }
            o.Add(owner);
            return Task.FromResult(true);
        }
    }

    public Task AddApiKeyAsync(ApiKeyRecord key, CancellationToken cancel)
    {
        lock (_lock)
        {
            _keys.Add(key.Hash, key);
        }
        return Task.CompletedTask;
    }

    public Task<ApiKeyRecord?> FindApiKeyAsync(string hash, CancellationToken cancel)
    {
        lock (_lock)
        {
            return Task.FromResult(_keys.GetValueOrDefault(hash));
        }
    }

    public Task<bool> RemoveOwnerAsync(string id, string owner, CancellationToken cancel)
    {
        lock (_lock)
        {
            return Task.FromResult(_owners.TryGetValue(id, out var o) && o.Remove(owner));
        }
    }

    public Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(CancellationToken cancel)
    {
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<ApiKeyRecord>>([.. _keys.Values.OrderBy(k => k.Created)]);
        }
    }

    public Task<bool> DeleteApiKeyAsync(string hash, CancellationToken cancel)
    {
        lock (_lock)
        {
            return Task.FromResult(_keys.Remove(hash));
        }
    }
}

internal sealed class InMemoryBlobStorage : IBlobStorage
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, byte[]> _blobs = [];

    /// <summary>Makes every put fail, as a full disk would.</summary>
    public bool Failing { get; set; }

    public IReadOnlyCollection<string> Paths
    {
        get
        {
            lock (_lock)
            {
                return [.. _blobs.Keys];
            }
        }
    }

    public Task<Stream?> GetAsync(string path, CancellationToken cancel)
    {
        lock (_lock)
        {
            return Task.FromResult<Stream?>(_blobs.TryGetValue(path, out var b) ? new MemoryStream(b, writable: false) : null);
        }
    }

    public async Task<PutResult> PutAsync(string path, Stream content, bool overwrite, CancellationToken cancel)
    {
        if (Failing)
        {
            throw new IOException("no space left on device");
        }
        using var ms = new MemoryStream();
        await content.CopyToAsync(ms, cancel);
        lock (_lock)
        {
            if (!overwrite && _blobs.ContainsKey(path))
            {
                return PutResult.AlreadyExists;
            }
            _blobs[path] = ms.ToArray();
            return PutResult.Success;
        }
    }

    public Task<bool> DeleteAsync(string path, CancellationToken cancel)
    {
        lock (_lock)
        {
            return Task.FromResult(_blobs.Remove(path));
        }
    }

    public async IAsyncEnumerable<BlobEntry> ListAsync(string prefix, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancel)
    {
        await Task.Yield();
        List<BlobEntry> entries;
        lock (_lock)
        {
            entries = [.. _blobs.Where(b => b.Key.StartsWith(prefix, StringComparison.Ordinal)).OrderBy(b => b.Key, StringComparer.Ordinal)
                .Select(b => new BlobEntry(b.Key, b.Value.Length, DateTimeOffset.UnixEpoch))];
        }
        foreach (var e in entries)
        {
            cancel.ThrowIfCancellationRequested();
            yield return e;
        }
    }
}
