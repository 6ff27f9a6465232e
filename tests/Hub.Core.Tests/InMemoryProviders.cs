namespace XModHub.Core.Tests;

/// <summary>The providers' contracts in memory (the plugin projects test the real ones): enough to test the service's policy alone.</summary>
internal sealed class InMemoryMetadataStore : IPackageIndex, IOwnerStore, IApiKeyStore
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

    /// <summary>Makes every add fail, as an unreachable database would.</summary>
    public bool FailingAdds { get; set; }

    public Task<AddResult> AddAsync(PackageRecord record, CancellationToken cancel)
    {
        if (FailingAdds)
        {
            throw new InvalidOperationException("the database is unreachable");
        }
        lock (_lock)
        {
            if (_packages.Any(p => Same(p, record.Id, record.Version)))
            {
                return Task.FromResult(AddResult.AlreadyExists);
            }
            _packages.Add(record);
            return Task.FromResult(AddResult.Added);
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

    public Task<IReadOnlyList<PackageRecord>> GetVersionsOfAsync(IReadOnlyCollection<string> ids, CancellationToken cancel)
    {
        var wanted = new HashSet<string>(ids, StringComparer.OrdinalIgnoreCase);
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<PackageRecord>>([.. _packages.Where(p => wanted.Contains(p.Id))]);
        }
    }

    public Task<IReadOnlyList<PackageRecord>> GetVersionsAsync(string id, bool includeUnlisted, CancellationToken cancel)
    {
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<PackageRecord>>([.. _packages.Where(p => string.Equals(p.Id, id, StringComparison.OrdinalIgnoreCase) && (includeUnlisted || p.Listed))
                .OrderBy(p => p.VersionKey, StringComparer.Ordinal)]);
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

    public Task<IndexPage> FindNewestAsync(PackageFilter filter, int skip, int take, CancellationToken cancel)
    {
        lock (_lock)
        {
            var newest = _packages.Where(p => p.Listed && (filter.IncludePrerelease || !p.IsPrerelease)).GroupBy(p => p.Id.ToLowerInvariant())
                .Select(g => g.MaxBy(p => p.VersionKey, StringComparer.Ordinal)!)
                .Where(p => (filter.Text is null || p.Id.Contains(filter.Text, StringComparison.OrdinalIgnoreCase) || p.Description.Contains(filter.Text, StringComparison.OrdinalIgnoreCase))
                    && (filter.Kind is null || p.Kind == filter.Kind)
                    && (filter.Trunk is null || string.Equals(p.TrunkId, filter.Trunk, StringComparison.OrdinalIgnoreCase)))
                .OrderBy(p => p.Id.ToLowerInvariant(), StringComparer.Ordinal).ToList();
            return Task.FromResult(new IndexPage(newest.Count, [.. newest.Skip(skip).Take(take).Select(p => new SearchHit(p.Id, p.Version, p.Bcp47, p.EnglishName))]));
        }
    }

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
            return Task.FromResult<IReadOnlyList<string>>(_owners.TryGetValue(id, out var o) ? [.. o.Order(StringComparer.Ordinal)] : []);
        }
    }

    public Task<ClaimResult> ClaimAsync(string id, string owner, CancellationToken cancel)
    {
        lock (_lock)
        {
            if (_owners.TryGetValue(id, out var o) && o.Count > 0)
            {
                return Task.FromResult(o.Contains(owner) ? ClaimResult.AlreadyOwner : ClaimResult.OwnedByOthers);
            }
            _owners[id] = [owner];
            return Task.FromResult(ClaimResult.Claimed);
        }
    }

    public Task<bool> AddOwnerAsync(string id, string owner, CancellationToken cancel)
    {
        lock (_lock)
        {
            if (!_owners.TryGetValue(id, out var o) || o.Count == 0 || o.Contains(owner))
            {
                return Task.FromResult(false);
            }
            o.Add(owner);
            return Task.FromResult(true);
        }
    }

    public Task<RemoveOwnerResult> RemoveOwnerAsync(string id, string owner, CancellationToken cancel)
    {
        lock (_lock)
        {
            if (!_owners.TryGetValue(id, out var o) || !o.Contains(owner))
            {
                return Task.FromResult(RemoveOwnerResult.NotAnOwner);
            }
            if (o.Count == 1)
            {
                return Task.FromResult(RemoveOwnerResult.LastOwner);
            }
            o.Remove(owner);
            return Task.FromResult(RemoveOwnerResult.Removed);
        }
    }

    public Task ReleaseClaimAsync(string id, string owner, CancellationToken cancel)
    {
        lock (_lock)
        {
            if (_owners.TryGetValue(id, out var o))
            {
                o.Remove(owner);
            }
        }
        return Task.CompletedTask;
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
    private readonly Dictionary<string, DateTimeOffset> _written = [];

    /// <summary>Backdates a blob, as if written <paramref name="age"/> ago.</summary>
    public void Age(string path, TimeSpan age)
    {
        lock (_lock)
        {
            _written[path] = DateTimeOffset.UtcNow - age;
        }
    }

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
            _written[path] = DateTimeOffset.UtcNow;
            return PutResult.Success;
        }
    }

    public Task<bool> DeleteAsync(string path, CancellationToken cancel)
    {
        lock (_lock)
        {
            _written.Remove(path);
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
                .Select(b => new BlobEntry(b.Key, b.Value.Length, _written[b.Key]))];
        }
        foreach (var e in entries)
        {
            cancel.ThrowIfCancellationRequested();
            yield return e;
        }
    }
}
