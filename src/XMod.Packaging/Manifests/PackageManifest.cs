using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace XMod.Packaging.Manifests;

[JsonConverter(typeof(JsonStringEnumConverter<PackageKind>))]
public enum PackageKind
{
    Trunk,
    Language,
    Task,
}

/// <summary>The trunk a language module or task model was built for, and which trunk versions it fits.</summary>
public sealed record TrunkReference(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("version_range")] string VersionRange,
    [property: JsonPropertyName("sha256")] string Sha256);

/// <summary>Who the language is, for people browsing the hub.</summary>
public sealed record LanguageDescription(
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("bcp47")] string Bcp47,
    [property: JsonPropertyName("iso639_3")] string Iso6393,
    [property: JsonPropertyName("english_name")] string EnglishName,
    [property: JsonPropertyName("autonym")] string Autonym,
    [property: JsonPropertyName("script")] string Script,
    [property: JsonPropertyName("family")] string Family);

public sealed record FileEntry(
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("sha256")] string Sha256,
    [property: JsonPropertyName("size")] long Size);

/// <summary>
/// The manifest (xmod.json) of a trunk, language module or task model: what it is, what it fits,
/// every file with its sha256, how it was trained and how well it does on held-out data.
/// </summary>
public sealed record PackageManifest
{
    public const string FileName = "xmod.json";

    [JsonPropertyName("schema")] public int Schema { get; init; } = 1;
    [JsonPropertyName("kind")] public required PackageKind Kind { get; init; }
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("version")] public required string Version { get; init; }
    [JsonPropertyName("description")] public string Description { get; init; } = "";
    [JsonPropertyName("trunk")] public TrunkReference? Trunk { get; init; }
    [JsonPropertyName("language")] public LanguageDescription? Language { get; init; }
    /// <summary>For task models: the task ("sequence-classification", ...), its labels, its source language.</summary>
    [JsonPropertyName("task")] public IReadOnlyDictionary<string, JsonElement>? Task { get; init; }
    [JsonPropertyName("files")] public IReadOnlyList<FileEntry> Files { get; init; } = [];
    /// <summary>Training provenance: corpus and its size, steps, learning rate, seed, date, tool version.</summary>
    [JsonPropertyName("provenance")] public IReadOnlyDictionary<string, string> Provenance { get; init; } = new Dictionary<string, string>();
    /// <summary>Held-out metrics, measured the same way for every package (e.g. "heldout_perplexity").</summary>
    [JsonPropertyName("metrics")] public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
    /// <summary>License, data sources, intended use, limitations and the data each metric was measured on (absent in older packages).</summary>
    [JsonPropertyName("card")] public CardInfo? Card { get; init; }

    /// <summary>
    /// The precision of the weights' floats: absent (float32), "bf16" or "f16". Half-precision
    /// packages are schema 2, which code older than them refuses with one line at install.
    /// </summary>
    [JsonPropertyName("dtype")] public string? DType { get; init; }

    /// <summary>The schema a package with weights in <paramref name="dtype"/> is written with.</summary>
    public static int SchemaFor(string? dtype) => dtype is null or SafeTensors.WeightPrecision.Float32 ? 1 : 2;

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static PackageManifest Load(string dir)
    {
        var path = System.IO.Path.Combine(dir, FileName);
        if (!File.Exists(path))
        {
            throw new PackagingException($"{dir} has no {FileName}");
        }
        try
        {
            var m = JsonSerializer.Deserialize<PackageManifest>(File.ReadAllText(path), s_json) ?? throw new PackagingException($"{path} is empty");
            return m.MissingField() is { } missing ? throw new PackagingException($"{path}: {missing} is missing or null")
                : m.Card?.Problem() is { } card ? throw new PackagingException($"{path}: {card}") : m;
        }
        catch (JsonException e)
        {
            throw new PackagingException($"{path} is not a valid manifest: {e.Message}");
        }
    }

    /// <summary>
    /// JSON null passes the deserializer for required members and lists (a hostile manifest sends
    /// "files": null); the first such field, named, or null when every one is there.
    /// </summary>
    public string? MissingField() =>
        Id is null ? "id" : Version is null ? "version" : Files is null ? "files (a list of {path, sha256, size})"
        : Metrics is null ? "metrics (an object of numbers)" : Provenance is null ? "provenance (an object of strings)"
        : Files.Any(f => f is null || f.Path is null || f.Sha256 is null) ? "files: every entry needs path, sha256 and size"
        : Provenance.Values.Any(v => v is null) ? "provenance: every value is a string" : null;

    public void Save(string dir) => AtomicFile.WriteAllText(System.IO.Path.Combine(dir, FileName), JsonSerializer.Serialize(this, s_json) + "\n");

    /// <summary>Lists every file under <paramref name="dir"/> (but the manifest) with its sha256.</summary>
    public static IReadOnlyList<FileEntry> Inventory(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories)
            .Select(f => System.IO.Path.GetRelativePath(dir, f).Replace('\\', '/'))
            .Where(f => f != FileName)
            .Order(StringComparer.Ordinal)
            .Select(f => new FileEntry(f, Sha256Of(System.IO.Path.Combine(dir, f)), new FileInfo(System.IO.Path.Combine(dir, f)).Length))
            .ToList();

    /// <summary>Checks every listed file's size and sha256; the first mismatch is named.</summary>
    public void Verify(string dir)
    {
        foreach (var f in Files)
        {
            string path;
            try
            {
                path = Nupkg.PackagePaths.Combine(dir, f.Path);
            }
            catch (PackagingException e)
            {
                throw new PackagingException($"{dir}: {FileName} lists a file that is not relative to the package: {e.Message}");
            }
            if (!File.Exists(path))
            {
                throw new PackagingException($"{dir}: {f.Path} is listed in {FileName} but missing");
            }
            if (new FileInfo(path).Length != f.Size || Sha256Of(path) != f.Sha256)
            {
                throw new PackagingException($"{dir}: {f.Path} does not match its sha256 in {FileName} (corrupted or modified)");
            }
        }
    }

    public static string Sha256Of(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
