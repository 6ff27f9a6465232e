using XMod;
using XModHub.Client;
using XModHub.Client.Feeds;

namespace XModHub.Cli.Commands.Keys;

public sealed class KeysCommand(IReporter reporter, PackageManagers packages, HttpClient http)
{
    public async Task<int> CreateAsync(string user, IReadOnlyList<string> scopes, string? name, string? source, CancellationToken cancel)
    {
        var feed = SourceFeed.For(packages.LoadConfig(), http, source);
        var answer = await feed.ApiAsync(HttpMethod.Post, "keys", new { user, scopes, name = name ?? "" }, $"create a key for {user}", cancel);
        reporter.Success($"created a key for {user} ({string.Join(", ", scopes)}) on {feed.Source.Name}; it is shown only now:");
        reporter.Info(answer.GetProperty("key").GetString()!);
        return 0;
    }

    public async Task<int> ListAsync(string? source, CancellationToken cancel)
    {
        var feed = SourceFeed.For(packages.LoadConfig(), http, source);
        var answer = await feed.ApiAsync(HttpMethod.Get, "keys", null, "list keys", cancel);
        var keys = answer.GetProperty("keys").EnumerateArray().ToList();
        if (keys.Count == 0)
        {
            reporter.Info("no keys");
        }
        foreach (var k in keys)
        {
            reporter.Info($"{k.GetProperty("id").GetString(),-18} {k.GetProperty("user").GetString(),-16} {string.Join(",", k.GetProperty("scopes").EnumerateArray().Select(s => s.GetString())),-18} {k.GetProperty("created").GetDateTimeOffset():yyyy-MM-dd}  {k.GetProperty("name").GetString()}");
        }
        return 0;
    }

    public async Task<int> RevokeAsync(string keyId, string? source, CancellationToken cancel)
    {
        var feed = SourceFeed.For(packages.LoadConfig(), http, source);
        await feed.ApiAsync(HttpMethod.Delete, $"keys/{Uri.EscapeDataString(keyId)}", null, $"revoke key {keyId}", cancel);
        reporter.Success($"revoked key {keyId} on {feed.Source.Name}");
        return 0;
    }
}

/// <summary>The configured source a hub-management verb talks to (--source, else the first).</summary>
public static class SourceFeed
{
    public static FeedClient For(ClientConfig config, HttpClient http, string? name)
    {
        var sources = config.RequireSources();
        var source = name is null ? sources[0] : sources.FirstOrDefault(s => s.Name == name)
            ?? throw new XModException($"no source named '{name}' (configured: {string.Join(", ", sources.Select(s => s.Name))})");
        return new FeedClient(http, source);
    }
}
