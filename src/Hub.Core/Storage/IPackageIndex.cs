using XMod.Packaging.Manifests;

namespace XModHub.Core;

public enum AddResult
{
    Added,
    /// <summary>The id and version (compared case-insensitively) are in the index already: nothing changed.</summary>
    AlreadyExists,
}

/// <summary>
/// What a search matches, applied to the newest listed version of each id (the newest listed
/// release when <see cref="IncludePrerelease"/> is false). Text is literal, never a pattern.
/// </summary>
public sealed record PackageFilter
{
    /// <summary>A substring (case-insensitive) of the id, description, tags, English name, autonym, BCP 47 tag, ISO 639-3 code or language code.</summary>
    public string? Text { get; init; }
    public PackageKind? Kind { get; init; }
    /// <summary>The trunk id (case-insensitive).</summary>
    public string? Trunk { get; init; }
    public string? Script { get; init; }
    /// <summary>A substring of the family (case-insensitive).</summary>
    public string? Family { get; init; }
    public bool IncludePrerelease { get; init; } = true;
}

/// <summary>What the core ranks a match by (the full record is read only for the page shown).</summary>
public sealed record SearchHit(string Id, string Version, string? Bcp47, string? EnglishName);

/// <summary>One page of matches, and how many ids match in all.</summary>
public sealed record IndexPage(int Total, IReadOnlyList<SearchHit> Hits);

/// <summary>
/// The package index: one row per version. A store keeps rows and answers queries; it decides
/// nothing (who may publish, how results rank, which version is newest are the core's: the newest
/// is the greatest <see cref="PackageRecord.VersionKey"/>, compared as bytes).
/// </summary>
public interface IPackageIndex
{
    /// <summary>Adds the row atomically; <see cref="AddResult.AlreadyExists"/> when the version is there, however many instances race.</summary>
    Task<AddResult> AddAsync(PackageRecord record, CancellationToken cancel);

    Task<PackageRecord?> GetAsync(string id, string version, CancellationToken cancel);

    /// <summary>The id's versions in <see cref="PackageRecord.VersionKey"/> order.</summary>
    Task<IReadOnlyList<PackageRecord>> GetVersionsAsync(string id, bool includeUnlisted, CancellationToken cancel);

    /// <summary>
    /// Every version (listed or not) of each of <paramref name="ids"/> (any case) in one query: a page
    /// of search results or a browse table reads its rows and download counts together, not one
    /// query per package. Ids without rows are left out; order unspecified.
    /// </summary>
    Task<IReadOnlyList<PackageRecord>> GetVersionsOfAsync(IReadOnlyCollection<string> ids, CancellationToken cancel);

    Task<bool> SetListedAsync(string id, string version, bool listed, CancellationToken cancel);

    Task AddDownloadAsync(string id, string version, CancellationToken cancel);

    /// <summary>
    /// The newest listed version of each id when it matches <paramref name="filter"/>, ordered by the
    /// lower-cased id (ordinal), <paramref name="skip"/> and <paramref name="take"/> applied; the total
    /// counts every match.
    /// </summary>
    Task<IndexPage> FindNewestAsync(PackageFilter filter, int skip, int take, CancellationToken cancel);

    /// <summary>A trunk by id and the sha256 of its weights (as language packages name it).</summary>
    Task<PackageRecord?> FindTrunkAsync(string trunkId, string weightsSha256, CancellationToken cancel);
}
