using XMod.Packaging.Manifests;

namespace XModHub.Core;

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

    /// <summary>
    /// Where the package file is stored: a name unique to the push that wrote it (so a losing
    /// concurrent push deletes only its own blob); null for versions stored before, at
    /// <see cref="PackageService.LegacyBlobPath"/>.
    /// </summary>
    public string? BlobPath { get; init; }

    /// <summary>The core's SemVer order as a byte-ordered string: what a store sorts and picks the newest version by.</summary>
    public string VersionKey => VersionOrder.Key(Version);
}
