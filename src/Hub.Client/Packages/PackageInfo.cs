using NuGet.Versioning;
using XMod.Packaging.Caching;
using XMod.Packaging.Manifests;

namespace XModHub.Client.Packages;

public sealed record SourceVersions(string Source, IReadOnlyList<NuGetVersion> Versions);

public sealed record InstalledVersion(InstalledPackage Package, PackageManifest Manifest);

/// <summary>What `xmod-hub info` shows: a package's versions per source and its installed versions.</summary>
public sealed record PackageInfo(string Id, IReadOnlyList<SourceVersions> Sources, IReadOnlyList<InstalledVersion> Installed);
