using System.Text.Json;
using System.Text.Json.Serialization;
using NuGet.Versioning;
using XMod.Packaging.Manifests;

namespace XMod.Packaging.Caching;

public sealed record InstalledPackage(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("kind")] PackageKind Kind,
    [property: JsonPropertyName("sha256")] string Sha256,
    [property: JsonPropertyName("trunk")] string? Trunk,
    [property: JsonPropertyName("trunk_sha256")] string? TrunkSha256,
    [property: JsonPropertyName("language")] string? Language,
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("installed")] DateTimeOffset Installed);

/// <summary>
/// The read side of the local package cache (XMOD_HOME/cache): what is installed and where its
/// verified snapshot lies. The client installs into it; the runtime loads from it.
/// </summary>
public class LocalCache(string home)
{
    public string Root { get; } = Path.Combine(home, "cache");

    protected string InstalledFile => Path.Combine(Root, "installed.json");

    public string SnapshotDir(string id, string version) => Path.Combine(Root, "packages", id.ToLowerInvariant(), version.ToLowerInvariant());

    public IReadOnlyList<InstalledPackage> Installed() =>
        File.Exists(InstalledFile) ? JsonSerializer.Deserialize<List<InstalledPackage>>(File.ReadAllText(InstalledFile)) ?? [] : [];

    /// <summary>The newest installed version of an id (or the given one), or null.</summary>
    public InstalledPackage? Find(string id, string? version = null) =>
        Installed().Where(p => string.Equals(p.Id, id, StringComparison.OrdinalIgnoreCase) && (version is null || string.Equals(p.Version, version, StringComparison.OrdinalIgnoreCase)))
            .MaxBy(p => NuGetVersion.Parse(p.Version));

    /// <summary>The installed language package of a trunk (by the trunk's weights sha256) for a language code.</summary>
    public InstalledPackage? FindLanguage(string trunkSha256, string language) =>
        Installed().Where(p => p.Kind == PackageKind.Language && string.Equals(p.TrunkSha256, trunkSha256, StringComparison.OrdinalIgnoreCase)
                && (string.Equals(p.Language, language, StringComparison.OrdinalIgnoreCase) || p.Id.EndsWith(".lang-" + language.ToLowerInvariant(), StringComparison.OrdinalIgnoreCase)))
            .MaxBy(p => NuGetVersion.Parse(p.Version));
}
