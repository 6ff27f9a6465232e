using XMod.Packaging.Manifests;

namespace XModHub.Core;

public enum PutResult
{
    Success,
    AlreadyExists,
}

/// <summary>Where package files live (BaGet's IStorageService): paths are relative, '/'-separated.</summary>
public interface IBlobStorage
{
    Task<Stream?> GetAsync(string path, CancellationToken cancel);

    /// <summary>Stores the content atomically: readers see the old file or the whole new one, never a part.</summary>
    Task<PutResult> PutAsync(string path, Stream content, bool overwrite, CancellationToken cancel);

    Task<bool> DeleteAsync(string path, CancellationToken cancel);

    /// <summary>
    /// Every stored blob whose path starts with <paramref name="prefix"/> ("" for all), in ordinal
    /// path order, paged lazily; a file-system store includes what a crash left half-written, so the
    /// sweeper can remove it.
    /// </summary>
    IAsyncEnumerable<BlobEntry> ListAsync(string prefix, CancellationToken cancel);
}

/// <summary>One package version as the index knows it.</summary>
public sealed record PackageRecord
{
    public required string Id { get; init; }
    public required string Version { get; init; }
    public required PackageKind Kind { get; init; }
    public bool Listed { get; init; } = true;
    public bool IsPrerelease { get; init; }
    public required DateTimeOffset Published { get; init; }
    public long Downloads { get; init; }
    public string Description { get; init; } = "";
    public string Authors { get; init; } = "";
    public string Tags { get; init; } = "";
    public required string ManifestJson { get; init; }
    public string? Readme { get; init; }
    public string? TrunkId { get; init; }
    public string? TrunkSha256 { get; init; }
    /// <summary>For trunks: their config.json (what language packages are checked against).</summary>
    public string? ConfigJson { get; init; }
    /// <summary>For trunks: the sha256 of trunk.safetensors (what language packages name).</summary>
    public string? WeightsSha256 { get; init; }
    public string? LanguageCode { get; init; }
    public string? Bcp47 { get; init; }
    public string? Iso6393 { get; init; }
    public string? EnglishName { get; init; }
    public string? Autonym { get; init; }
    public string? Script { get; init; }
    public string? Family { get; init; }
    /// <summary>Held-out MLM perplexity from the manifest, the quality signal shown when browsing.</summary>
    public double? Perplexity { get; init; }
    public required long Size { get; init; }
    public required string Sha256 { get; init; }
    public required string Publisher { get; init; }
}

public enum AddResult
{
    Added,
    AlreadyExists,
    /// <summary>The id belongs to other owners.</summary>
    Forbidden,
}

public sealed record SearchQuery
{
    public string? Text { get; init; }
    public PackageKind? Kind { get; init; }
    public string? Trunk { get; init; }
    public string? Script { get; init; }
    public string? Family { get; init; }
    public bool IncludePrerelease { get; init; } = true;
    public int Skip { get; init; }
    public int Take { get; init; } = 20;
}

public sealed record ApiKeyRecord(string Hash, string User, IReadOnlyList<string> Scopes, DateTimeOffset Created, string Name);

/// <summary>The hub's index: packages, owners and API keys (BaGet's IPackageDatabase).</summary>
public interface IMetadataStore
{
    Task InitializeAsync(CancellationToken cancel);

    /// <summary>
    /// Adds a version in one transaction: refused when it exists, refused when the id has other
    /// owners (the first publisher becomes owner); <paramref name="storeBlob"/> runs inside the
    /// transaction, so a failure leaves neither the row nor a visible package.
    /// </summary>
    Task<AddResult> AddAsync(PackageRecord record, Func<CancellationToken, Task> storeBlob, CancellationToken cancel);

    Task<PackageRecord?> GetAsync(string id, string version, CancellationToken cancel);

    Task<IReadOnlyList<PackageRecord>> GetVersionsAsync(string id, bool includeUnlisted, CancellationToken cancel);

    Task<bool> SetListedAsync(string id, string version, bool listed, CancellationToken cancel);

    Task AddDownloadAsync(string id, string version, CancellationToken cancel);

    /// <summary>The newest listed version of each matching id, and how many ids match.</summary>
    Task<(int Total, IReadOnlyList<PackageRecord> Page)> SearchAsync(SearchQuery query, CancellationToken cancel);

    Task<PackageRecord?> FindTrunkAsync(string trunkId, string weightsSha256, CancellationToken cancel);

    Task<IReadOnlyList<string>> GetOwnersAsync(string id, CancellationToken cancel);

    Task<bool> AddOwnerAsync(string id, string owner, CancellationToken cancel);

    Task<bool> RemoveOwnerAsync(string id, string owner, CancellationToken cancel);

    Task AddApiKeyAsync(ApiKeyRecord key, CancellationToken cancel);

    Task<ApiKeyRecord?> FindApiKeyAsync(string hash, CancellationToken cancel);

    Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(CancellationToken cancel);

    Task<bool> DeleteApiKeyAsync(string hash, CancellationToken cancel);
}
