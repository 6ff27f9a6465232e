using System.Text.Json;
using System.Text.Json.Serialization;
using XMod;
using XMod.Packaging;

namespace XModHub.Client.Feeds;

public sealed record FeedSource(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("url")] string Url,
    [property: JsonPropertyName("api_key")] string? ApiKey)
{
    /// <summary>Seconds this source has to answer a metadata request before the next source is asked (default: XMOD_SOURCE_TIMEOUT or 30).</summary>
    [JsonPropertyName("timeout_s")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? TimeoutSeconds { get; init; }
}

/// <summary>
/// The client's configuration (XMOD_HOME/config.json, readable by its owner only): hub sources in
/// the order they are tried, like NuGet's, and the default trunk. XMOD_HUB adds a source in front
/// (self-hosting by one environment variable).
/// </summary>
public sealed record ClientConfig
{
    [JsonPropertyName("sources")] public IReadOnlyList<FeedSource> Sources { get; init; } = [];
    [JsonPropertyName("default_trunk")] public string? DefaultTrunk { get; init; }

    public static string PathIn(string home) => Path.Combine(home, "config.json");

    public static ClientConfig Load(string home)
    {
        var path = PathIn(home);
        var config = File.Exists(path)
            ? JsonSerializer.Deserialize<ClientConfig>(File.ReadAllText(path)) ?? new ClientConfig()
            : new ClientConfig();
        if (Environment.GetEnvironmentVariable("XMOD_HUB") is { Length: > 0 } hub)
        {
            config = config with { Sources = [new FeedSource("XMOD_HUB", hub, Environment.GetEnvironmentVariable("XMOD_API_KEY")), .. config.Sources] };
        }
        return config;
    }

    public void Save(string home)
    {
        Directory.CreateDirectory(home);
        var path = PathIn(home);
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this with { Sources = Sources.Where(s => s.Name != "XMOD_HUB").ToList() },
            new JsonSerializerOptions { WriteIndented = true }) + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite); // it holds API keys
        }
    }

    /// <summary>Adds a source, replacing one of the same name (and the XMOD_HUB one, which is never saved).</summary>
    public ClientConfig WithSource(FeedSource source) =>
        this with { Sources = [.. Sources.Where(s => s.Name != source.Name && s.Name != "XMOD_HUB"), source] };

    public ClientConfig WithoutSource(string name) =>
        Sources.Any(s => s.Name == name) ? this with { Sources = Sources.Where(s => s.Name != name).ToList() }
        : throw new XModException(name == "XMOD_HUB"
            ? "XMOD_HUB comes from the environment variable of that name: unset it instead"
            : $"no source named '{XMod.Packaging.Manifests.ModelCard.Printable(name)}' (configured: {(Sources.Count == 0 ? "none" : string.Join(", ", Sources.Select(s => s.Name)))})");

    public IReadOnlyList<FeedSource> RequireSources() =>
        Sources.Count > 0 ? Sources : throw new XModException("no hub is configured: run 'xmod-hub source add NAME URL' (or set XMOD_HUB)");
}
