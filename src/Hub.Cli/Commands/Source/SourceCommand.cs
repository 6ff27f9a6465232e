using System.Text.RegularExpressions;
using XMod;
using XMod.Packaging.Manifests;
using XModHub.Client;
using XModHub.Client.Feeds;
using XModHub.Client.Packages;

namespace XModHub.Cli.Commands.Source;

public sealed partial class SourceCommand(PackageManagers packages, IReporter reporter, HttpClient http)
{
    /// <summary>
    /// Adds a source after checking that its URL is a NuGet v3 hub (a hub's base URL finds its
    /// /v3/index.json, which is what is saved). --no-check, or XMOD_OFFLINE=1, saves it unchecked.
    /// </summary>
    public async Task<int> AddAsync(string name, string url, string? apiKey, bool noCheck, int? timeoutSeconds, CancellationToken cancel)
    {
        if (!SourceName().IsMatch(name) || name == "XMOD_HUB")
        {
            throw new XModException($"'{ModelCard.Printable(name)}' is not a source name: use up to 64 letters, digits, '.', '_' or '-' (XMOD_HUB is taken by the environment variable)");
        }
        if (timeoutSeconds is < 1 or > 3600)
        {
            throw new XModException($"--timeout {timeoutSeconds} must lie between 1 and 3600 seconds");
        }
        if (apiKey is not null && (apiKey.Length is 0 or > 512 || apiKey.Any(c => char.IsControl(c) || char.IsWhiteSpace(c))))
        {
            throw new XModException("--api-key must be 1 to 512 printable characters without spaces");
        }
        var limit = timeoutSeconds is { } t ? TimeSpan.FromSeconds(t) : (TimeSpan?)null;
        string index;
        if (noCheck || PackageManager.Offline)
        {
            // Even unchecked, the address must be one (http or https).
            if (!Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || url.Any(char.IsControl))
            {
                throw new XModException($"'{ModelCard.Printable(url)}' is not a hub address: give its http(s) URL, e.g. http://127.0.0.1:5000/v3/index.json");
            }
            index = uri.AbsoluteUri;
            reporter.Warn($"{index} was not checked{(PackageManager.Offline ? " (offline)" : "")}; it is used as it is");
        }
        else
        {
            index = await FeedClient.DiscoverAsync(http, url, cancel, limit);
        }
        var source = new FeedSource(name, index, apiKey) { TimeoutSeconds = timeoutSeconds };
        packages.SaveConfig(packages.LoadConfig().WithSource(source));
        reporter.Success($"source {source.Name} -> {source.Url}{(source.ApiKey is null ? "" : " (with an API key)")}");
        return 0;
    }

    public int List()
    {
        var sources = packages.LoadConfig().Sources;
        if (sources.Count == 0)
        {
            reporter.Info("no source is configured: add one with 'xmod-hub source add NAME URL'");
        }
        foreach (var s in sources)
        {
            reporter.Info($"{s.Name,-12} {s.Url}{(s.ApiKey is null ? "" : "   (API key set)")}{(s.TimeoutSeconds is { } t ? $"   (time-out {t} s)" : "")}");
        }
        return 0;
    }

    public int Remove(string name)
    {
        packages.SaveConfig(packages.LoadConfig().WithoutSource(name));
        reporter.Success($"removed source {name}");
        return 0;
    }

    [GeneratedRegex(@"^[A-Za-z0-9._\-]{1,64}$")]
    private static partial Regex SourceName();
}
