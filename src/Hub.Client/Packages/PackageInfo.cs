using NuGet.Versioning;
using XMod.Packaging.Caching;
using XMod.Packaging.Manifests;

namespace XModHub.Client.Packages;

/// <summary>A version on a source: unlisted ones install only when pinned; the size is known where the source is an XModHub.</summary>
public sealed record RemoteVersion(NuGetVersion Version, bool Listed, long? Size);

/// <summary>What one source has of a package; an XModHub also gives the newest version's manifest, model card and metrics.</summary>
public sealed record SourceVersions(string Source, IReadOnlyList<RemoteVersion> Versions, PackageManifest? Manifest = null, string? Readme = null,
    Feeds.HubMetrics? Metrics = null)
{
    public bool Has(NuGetVersion version) => Versions.Any(v => v.Version == version);
}

/// <param name="Card">The installed README.md (null when it has none).</param>
/// <param name="Bytes">The unpacked snapshot's size on disk.</param>
public sealed record InstalledVersion(InstalledPackage Package, PackageManifest Manifest, string? Card = null, long Bytes = 0);

/// <summary>What `xmod-hub info` shows: a package's versions per source and its installed versions.</summary>
/// <param name="ShortId">The id as typed, without its version (lang-de), for the install command shown.</param>
public sealed record PackageInfo(string Id, string ShortId, IReadOnlyList<SourceVersions> Sources, IReadOnlyList<InstalledVersion> Installed, bool Offline = false);
