using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using NuGet.Versioning;
using XMod;

namespace XModHub.Client.Feeds;

/// <summary>
/// An open package download: <see cref="Content"/> holds bytes [<see cref="Offset"/>, <see cref="Total"/>)
/// of the file (<see cref="Length"/> of them when declared); <see cref="ETag"/> names that file's
/// version (XModHub's is the package's sha256) for resuming.
/// </summary>
public sealed record PackageDownload(Stream Content, long? Length, long Offset, long? Total, string? ETag, IDisposable? Response = null) : IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        await Content.DisposeAsync();
        Response?.Dispose();
    }
}

/// <summary>A server answered a resumed download with bytes other than those asked for: the partial file is discarded.</summary>
public sealed class RangeMismatchException(string message) : XModException(message);

public sealed record SearchHit(string Id, string Version, string Description, long Downloads, IReadOnlyList<string> Tags, IReadOnlyList<string> PackageTypes, string Source)
{
    /// <summary>What an XModHub measured and what the publisher reported (null from other feeds).</summary>
    public HubMetrics? Metrics { get; init; }
}

/// <summary>
/// A NuGet v3 client for what xmod-hub needs (the NuGet.Protocol package does not restore here):
/// the service index, versions and downloads (PackageBaseAddress/3.0.0), search, and push
/// (PackagePublish/2.0.0). Works against XModHub and any plain NuGet v3 feed.
/// </summary>
public sealed partial class FeedClient(HttpClient http, FeedSource source, HttpClient? authenticated = null)
{
    /// <summary>
    /// Requests that carry the API key go through a client that never follows redirects: a source
    /// that answers with a redirect gets an error, not the key (and the package) at another host.
    /// </summary>
    private static readonly HttpClient s_noRedirects = new(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromMinutes(30) };

    private readonly HttpClient _authenticated = authenticated ?? s_noRedirects;
    private Dictionary<string, string>? _resources;

    public FeedSource Source { get; } = source;

    private async Task<string> ResourceAsync(string type, CancellationToken cancel)
    {
        if (_resources is null)
        {
            using var doc = JsonDocument.Parse(await GetStringAsync(Source.Url, cancel));
            _resources = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var r in doc.RootElement.GetProperty("resources").EnumerateArray())
            {
                _resources.TryAdd(r.GetProperty("@type").GetString()!, r.GetProperty("@id").GetString()!);
            }
        }
        foreach (var candidate in new[] { type, type + "/3.0.0", type + "/3.0.0-rc", type + "/3.0.0-beta" })
        {
            if (_resources.TryGetValue(candidate, out var url))
            {
                return url.TrimEnd('/');
            }
        }
        throw new XModException($"{Source.Name} ({Source.Url}) offers no {type}");
    }

    private async Task<string?> TryResourceAsync(string type, CancellationToken cancel)
    {
        try
        {
            return await ResourceAsync(type, cancel);
        }
        catch (XModException) when (_resources is not null)
        {
            return null;
        }
    }

    /// <summary>
    /// The versions the feed marks unlisted (from its registration index; none when it has no
    /// registrations): they install only when pinned.
    /// </summary>
    public async Task<IReadOnlySet<NuGetVersion>> UnlistedVersionsAsync(string id, CancellationToken cancel)
    {
        var unlisted = new HashSet<NuGetVersion>();
        if (await TryResourceAsync("RegistrationsBaseUrl", cancel) is not { } baseUrl)
        {
            return unlisted;
        }
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Get, $"{baseUrl}/{id.ToLowerInvariant()}/index.json"), cancel);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return unlisted;
        }
        await EnsureAsync(response, cancel);
        try
        {
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancel));
            foreach (var page in doc.RootElement.GetProperty("items").EnumerateArray())
            {
                // Large registrations leave their pages out of the index: fetch each then.
                using var pageDoc = page.TryGetProperty("items", out _) ? null : JsonDocument.Parse(await GetStringAsync(page.GetProperty("@id").GetString()!, cancel));
                foreach (var leaf in (pageDoc?.RootElement ?? page).GetProperty("items").EnumerateArray())
                {
                    var entry = leaf.GetProperty("catalogEntry");
                    if (entry.TryGetProperty("listed", out var listed) && listed.ValueKind == JsonValueKind.False
                        && NuGetVersion.TryParse(entry.GetProperty("version").GetString(), out var v))
                    {
                        unlisted.Add(v);
                    }
                }
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new XModException($"{Source.Name}: the registration index of {id} is malformed ({e.Message})");
        }
        return unlisted;
    }

    /// <summary>Every version the feed has of <paramref name="id"/>, oldest first; empty when it has none.</summary>
    public async Task<IReadOnlyList<NuGetVersion>> VersionsAsync(string id, CancellationToken cancel)
    {
        var baseUrl = await ResourceAsync("PackageBaseAddress/3.0.0", cancel);
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Get, $"{baseUrl}/{id.ToLowerInvariant()}/index.json"), cancel);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return [];
        }
        await EnsureAsync(response, cancel);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancel));
        return doc.RootElement.GetProperty("versions").EnumerateArray().Select(v => NuGetVersion.Parse(v.GetString()!)).Order().ToList();
    }

    /// <summary>Opens the package download; the caller reads (and verifies) the stream.</summary>
    public async Task<(Stream Content, long? Length)> DownloadAsync(string id, NuGetVersion version, CancellationToken cancel)
    {
        var d = await DownloadAsync(id, version, 0, null, cancel);
        return (d.Content, d.Length);
    }

    /// <summary>
    /// Opens the package download from byte <paramref name="offset"/> when the server still serves
    /// the file whose ETag is <paramref name="ifRange"/> (Range + If-Range); a server that ignores
    /// the range, or whose file changed, answers with the whole file (Offset 0). A partial answer
    /// must be exactly the range asked for: anything else is refused before a byte is read.
    /// </summary>
    public async Task<PackageDownload> DownloadAsync(string id, NuGetVersion version, long offset, string? ifRange, CancellationToken cancel)
    {
        var baseUrl = await ResourceAsync("PackageBaseAddress/3.0.0", cancel);
        var (lid, lv) = (id.ToLowerInvariant(), version.ToNormalizedString().ToLowerInvariant());
        var request = new HttpRequestMessage(HttpMethod.Get, $"{baseUrl}/{lid}/{lv}/{lid}.{lv}.nupkg");
        var resuming = offset > 0 && ifRange is not null;
        if (resuming)
        {
            request.Headers.Range = new RangeHeaderValue(offset, null);
            request.Headers.IfRange = new RangeConditionHeaderValue(EntityTagHeaderValue.Parse(ifRange!));
        }
        var response = await SendAsync(request, cancel, HttpCompletionOption.ResponseHeadersRead);
        try
        {
            if (resuming && response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
            {
                // The partial file is not a prefix of what the server has now (or is all of it): start over.
                response.Dispose();
                return await DownloadAsync(id, version, 0, null, cancel);
            }
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                // The version was resolved from this source's own listing a moment ago: its file is what is missing.
                throw new XModException($"{Source.Name} lists {id} {version} but answered its download with 404 ({await BriefAsync(response, cancel)}): "
                    + "the file is missing from the hub's storage (behind nginx: the internal location's alias must be the hub's Storage:Path); tell the hub's operator");
            }
            await EnsureAsync(response, cancel);
            if (response.Headers.Contains("X-Accel-Redirect"))
            {
                // The hub handed the file to nginx (Hub:AccelRedirectPrefix), but no nginx took it over: the answer has no bytes.
                throw new XModException($"{Source.Name} answered the download of {id} {version} with an nginx redirect and no file: the request was marked "
                    + "for nginx (X-Sendfile-Type) but nginx did not serve it; the proxy in front of the hub is misconfigured (see the README's nginx set-up): tell the hub's operator");
            }
            var etag = response.Headers.ETag is { IsWeak: false } tag ? tag.Tag : null;
            var length = response.Content.Headers.ContentLength;
            if (response.StatusCode != HttpStatusCode.PartialContent)
            {
                return new PackageDownload(await response.Content.ReadAsStreamAsync(cancel), length, 0, length, etag, response);
            }
            var range = response.Content.Headers.ContentRange;
            if (!resuming || range is not { HasRange: true, HasLength: true, Unit: "bytes" } || range.From != offset || range.To != range.Length - 1
                || length is not { } l || l != range.To - range.From + 1 || (etag is not null && etag != ifRange))
            {
                throw new RangeMismatchException($"{Source.Name} answered the resumed download of {id} {version} from byte {offset:N0} with another range "
                    + $"({range?.ToString() ?? "no Content-Range"}, {length?.ToString("N0", System.Globalization.CultureInfo.InvariantCulture) ?? "no"} bytes); the partial download was discarded, run the install again");
            }
            return new PackageDownload(await response.Content.ReadAsStreamAsync(cancel), length, offset, range.Length, etag ?? ifRange, response);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <param name="filters">XModHub's extra search parameters (trunk, script, family); plain NuGet feeds ignore them.</param>
    public async Task<IReadOnlyList<SearchHit>> SearchAsync(string query, string? packageType, int take, CancellationToken cancel,
        IReadOnlyDictionary<string, string>? filters = null)
    {
        var url = await ResourceAsync("SearchQueryService", cancel);
        var q = $"{url}?q={Uri.EscapeDataString(query)}&take={take}&prerelease=true&semVerLevel=2.0.0" + (packageType is null ? "" : $"&packageType={packageType}")
            + string.Concat((filters ?? new Dictionary<string, string>()).Select(f => $"&{f.Key}={Uri.EscapeDataString(f.Value)}"));
        using var doc = JsonDocument.Parse(await GetStringAsync(q, cancel));
        return doc.RootElement.GetProperty("data").EnumerateArray().Select(d => new SearchHit(
            d.GetProperty("id").GetString()!,
            d.GetProperty("version").GetString()!,
            d.TryGetProperty("description", out var desc) ? desc.GetString() ?? "" : "",
            d.TryGetProperty("totalDownloads", out var dl) ? dl.GetInt64() : 0,
            d.TryGetProperty("tags", out var tags) && tags.ValueKind == JsonValueKind.Array ? tags.EnumerateArray().Select(t => t.GetString()!).ToList() : [],
            d.TryGetProperty("packageTypes", out var types) ? types.EnumerateArray().Select(t => t.GetProperty("name").GetString()!).ToList() : [],
            Source.Name) { Metrics = HubMetrics.From(d) }).ToList();
    }

    /// <summary>
    /// Pushes a .nupkg, streamed from its file (never whole in memory) with its length declared;
    /// returns the hub's message. Failures (400, 401, 403, 409, 413) become one-line errors.
    /// </summary>
    /// <param name="progress">Bytes sent so far and the file's size, as they go.</param>
    public async Task<string> PushAsync(string nupkg, CancellationToken cancel, Action<long, long?>? progress = null)
    {
        var url = await ResourceAsync("PackagePublish/2.0.0", cancel);
        _ = Source.ApiKey ?? throw new XModException($"no API key for {Source.Name}: run 'xmod-hub source add {Source.Name} {Source.Url} --api-key KEY'");
        await using var file = new FileStream(nupkg, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.Asynchronous | FileOptions.SequentialScan);
        Stream body = progress is null ? file : new ProgressStream(file, progress);
        using var content = new MultipartFormDataContent { { new StreamContent(body, 1 << 20) { Headers = { ContentType = new MediaTypeHeaderValue("application/octet-stream") } }, "package", Path.GetFileName(nupkg) } };
        using var request = new HttpRequestMessage(HttpMethod.Put, url) { Content = content };
        // A refused key or a too-large package is answered before a gigabyte is sent.
        request.Headers.ExpectContinue = true;
        using var response = await SendAuthenticatedAsync(request, cancel);
        var text = await response.Content.ReadAsStringAsync(cancel);
        return response.StatusCode switch
        {
            HttpStatusCode.Created or HttpStatusCode.Accepted or HttpStatusCode.OK => text,
            HttpStatusCode.Conflict => throw new XModException($"{Path.GetFileName(nupkg)}: {(text.Length > 0 ? text : "this version exists already")} (409)"),
            HttpStatusCode.Unauthorized => throw new XModException($"{Source.Name} refused the API key (401): {text}"),
            HttpStatusCode.Forbidden => throw new XModException($"{Source.Name} forbids this push (403): {text}"),
            HttpStatusCode.RequestEntityTooLarge => throw new XModException($"{Source.Name} refused {Path.GetFileName(nupkg)} as too large (413): {(text.Length > 0 ? text : "its package size limit is lower")}"),
            _ => throw new XModException($"{Source.Name} rejected {Path.GetFileName(nupkg)} ({(int)response.StatusCode}): {text}"),
        };
    }

    /// <summary>
    /// Sends with the source's API key: only to the source's own origin, and never through a
    /// redirect (a 3xx answer is an error naming where it pointed).
    /// </summary>
    private async Task<HttpResponseMessage> SendAuthenticatedAsync(HttpRequestMessage request, CancellationToken cancel)
    {
        var key = Source.ApiKey ?? throw new XModException($"no API key for {Source.Name}: run 'xmod-hub source add {Source.Name} {Source.Url} --api-key KEY'");
        var origin = new Uri(Source.Url);
        if (!string.Equals(request.RequestUri!.GetLeftPart(UriPartial.Authority), origin.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase))
        {
            throw new XModException($"{Source.Name} ({origin.GetLeftPart(UriPartial.Authority)}) points its API at another host ({request.RequestUri.GetLeftPart(UriPartial.Authority)}); the API key is not sent there");
        }
        request.Headers.Add("X-NuGet-ApiKey", key);
        HttpResponseMessage response;
        try
        {
            response = await _authenticated.SendAsync(request, cancel);
        }
        catch (HttpRequestException e)
        {
            throw new XModException($"cannot reach {Source.Name} ({request.RequestUri}): {e.Message}; is the hub running?");
        }
        if ((int)response.StatusCode is >= 300 and < 400)
        {
            response.Dispose();
            throw new XModException($"{Source.Name} answered {request.Method} {request.RequestUri} with a redirect ({(int)response.StatusCode}) to {response.Headers.Location}; "
                + "requests with an API key do not follow redirects: configure the source with its final URL");
        }
        return response;
    }

    // ---- the hub's own API: listing, keys, owners ---------------------------------------------------

    /// <summary>Unlists (DELETE) or relists (POST) a version, as NuGet's PackagePublish resource does.</summary>
    public async Task SetListedAsync(string id, NuGetVersion version, bool listed, CancellationToken cancel)
    {
        var url = await ResourceAsync("PackagePublish/2.0.0", cancel);
        using var response = await SendAuthenticatedAsync(new HttpRequestMessage(listed ? HttpMethod.Post : HttpMethod.Delete,
            $"{url}/{Uri.EscapeDataString(id)}/{Uri.EscapeDataString(version.ToNormalizedString())}"), cancel);
        await EnsureApiAsync(response, $"{(listed ? "relist" : "unlist")} {id} {version}", cancel);
    }

    /// <summary>The hub's API root (XModHub advertises it in its service index as XModHubApi/1.0.0).</summary>
    private async Task<string> ApiAsync(CancellationToken cancel) =>
        await TryResourceAsync("XModHubApi/1.0.0", cancel) ?? throw new XModException($"{Source.Name} is not an XModHub (its service index offers no XModHubApi/1.0.0): keys and owners are managed on that feed's own site");

    /// <summary>Calls the hub's API with the source's key; returns the JSON answer.</summary>
    public async Task<JsonElement> ApiAsync(HttpMethod method, string path, object? body, string what, CancellationToken cancel)
    {
        var api = await ApiAsync(cancel);
        using var request = new HttpRequestMessage(method, $"{api}/{path}");
        if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json");
        }
        using var response = await SendAuthenticatedAsync(request, cancel);
        await EnsureApiAsync(response, what, cancel);
        var text = await response.Content.ReadAsStringAsync(cancel);
        using var doc = JsonDocument.Parse(text.Length == 0 ? "{}" : text);
        return doc.RootElement.Clone();
    }

    private async Task EnsureApiAsync(HttpResponseMessage response, string what, CancellationToken cancel)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }
        var text = (await response.Content.ReadAsStringAsync(cancel)).Trim();
        throw new XModException(response.StatusCode switch
        {
            HttpStatusCode.Unauthorized => $"{Source.Name} refused the API key (401) to {what}: {text}",
            HttpStatusCode.Forbidden => $"{Source.Name} forbids this key to {what} (403): {text}",
            HttpStatusCode.NotFound => $"{Source.Name} has nothing to {what} (404) {text}".Trim(),
            _ => $"{Source.Name} could not {what} ({(int)response.StatusCode}): {text}",
        });
    }

    /// <summary>
    /// Seconds a source has to answer a metadata request (service index, versions, search) before
    /// it counts as down and the next source is asked: XMOD_SOURCE_TIMEOUT, default 30.
    /// Downloads are not limited by it.
    /// </summary>
    public static TimeSpan SourceTimeout =>
        int.TryParse(Environment.GetEnvironmentVariable("XMOD_SOURCE_TIMEOUT"), out var s) && s > 0 ? TimeSpan.FromSeconds(s) : TimeSpan.FromSeconds(30);

    private TimeSpan Timeout => Source.TimeoutSeconds is int s and > 0 ? TimeSpan.FromSeconds(s) : SourceTimeout;

    /// <summary>The most a service index or package details answer may hold; a larger one is not a hub's.</summary>
    private const int MaxMetadataBytes = 4 * 1024 * 1024;

    /// <summary>
    /// XModHub's package details (every version with listed state and size, the newest listed
    /// version's manifest and model card), or null where the source is a plain NuGet feed or does
    /// not have the package.
    /// </summary>
    public async Task<Packages.SourceVersions?> DetailsAsync(string id, CancellationToken cancel)
    {
        if (await TryResourceAsync("XModHubApi/1.0.0", cancel) is not { } api)
        {
            return null;
        }
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Get, $"{api}/packages/{Uri.EscapeDataString(id)}"), cancel);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        await EnsureAsync(response, cancel);
        try
        {
            using var doc = JsonDocument.Parse(await ReadBoundedAsync(response, cancel));
            var root = doc.RootElement;
            var versions = root.GetProperty("versions").EnumerateArray()
                .Select(v => new Packages.RemoteVersion(NuGetVersion.Parse(v.GetProperty("version").GetString()!), v.GetProperty("listed").GetBoolean(),
                    v.TryGetProperty("size", out var size) && size.ValueKind == JsonValueKind.Number ? size.GetInt64() : null))
                .OrderBy(v => v.Version).ToList();
            XMod.Packaging.Manifests.PackageManifest? manifest = null;
            if (root.TryGetProperty("manifest", out var m) && m.ValueKind == JsonValueKind.Object)
            {
                try
                {
                    manifest = m.Deserialize<XMod.Packaging.Manifests.PackageManifest>();
                    manifest = manifest?.MissingField() is null && manifest?.Card?.Problem() is null ? manifest : null;
                }
                catch (JsonException)
                {
                    // A manifest this client cannot read leaves the versions still worth showing.
                }
            }
            var readme = root.TryGetProperty("readme", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
            // What the hub measured and what the publisher reported, from the same answer.
            return new Packages.SourceVersions(Source.Name, versions, manifest, readme, HubMetrics.From(root, "measured", "reported"));
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or ArgumentException or FormatException)
        {
            throw new XModException($"{Source.Name}: the details of {id} are malformed ({e.Message})");
        }
    }

    /// <summary>
    /// What `source add` checks: <paramref name="url"/> is an http(s) address of a NuGet v3 feed.
    /// A hub's base URL (http://host:5000) finds its service index at /v3/index.json. Returns the
    /// service index's URL; anything else is a one-line error saying what was found there.
    /// </summary>
    public static async Task<string> DiscoverAsync(HttpClient http, string url, CancellationToken cancel, TimeSpan? limit = null)
    {
        var wait = limit ?? SourceTimeout;
        var typed = url.Trim();
        if (typed.Length > 2000 || typed.Any(char.IsControl) || !Uri.TryCreate(typed, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
            || string.IsNullOrEmpty(uri.Host) || uri.UserInfo.Length > 0)
        {
            throw new XModException($"'{XMod.Packaging.Manifests.ModelCard.Printable(typed)}' is not a hub address: give its http(s) URL, e.g. http://127.0.0.1:5000 (or its service index, .../v3/index.json)");
        }
        var candidates = uri.AbsolutePath.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
            ? [uri.AbsoluteUri]
            : new[] { uri.AbsoluteUri.TrimEnd('/') + "/v3/index.json", uri.AbsoluteUri };
        var reasons = new List<string>();
        foreach (var candidate in candidates)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            timeout.CancelAfter(wait);
            try
            {
                using var response = await http.GetAsync(candidate, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
                if (!response.IsSuccessStatusCode)
                {
                    reasons.Add($"{candidate} answered {(int)response.StatusCode}");
                    continue;
                }
                using var doc = JsonDocument.Parse(await ReadBoundedAsync(response, timeout.Token));
                if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("resources", out var resources)
                    && resources.ValueKind == JsonValueKind.Array
                    && resources.EnumerateArray().Any(r => r.ValueKind == JsonValueKind.Object && r.TryGetProperty("@type", out var t)
                        && t.ValueKind == JsonValueKind.String && t.GetString()!.StartsWith("PackageBaseAddress/3.0.0", StringComparison.Ordinal)))
                {
                    return candidate;
                }
                reasons.Add($"{candidate} is JSON but no NuGet v3 service index (no PackageBaseAddress resource)");
            }
            catch (JsonException)
            {
                reasons.Add($"{candidate} is not JSON");
            }
            catch (XModException e)
            {
                reasons.Add($"{candidate}: {e.Message}");
            }
            catch (HttpRequestException e)
            {
                throw new XModException($"cannot reach {uri.GetLeftPart(UriPartial.Authority)}: {e.Message}; is the hub running? ('source add --no-check' saves it unchecked)");
            }
            catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
            {
                throw new XModException($"{uri.GetLeftPart(UriPartial.Authority)} did not answer within {wait.TotalSeconds:F0} s ('source add --no-check' saves it unchecked)");
            }
        }
        throw new XModException($"{typed} is not a NuGet v3 hub ({string.Join("; ", reasons)}); give a hub's base URL, e.g. http://127.0.0.1:5000");
    }

    /// <summary>A metadata answer's text, refused beyond <see cref="MaxMetadataBytes"/> (a hostile or wrong source can send anything).</summary>
    private static async Task<string> ReadBoundedAsync(HttpResponseMessage response, CancellationToken cancel)
    {
        if (response.Content.Headers.ContentLength > MaxMetadataBytes)
        {
            throw new XModException($"{response.RequestMessage?.RequestUri} answered with {response.Content.Headers.ContentLength:N0} bytes, more than a hub's metadata holds");
        }
        await using var stream = await response.Content.ReadAsStreamAsync(cancel);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int n;
        while ((n = await stream.ReadAsync(chunk, cancel)) > 0)
        {
            if (buffer.Length + n > MaxMetadataBytes)
            {
                throw new XModException($"{response.RequestMessage?.RequestUri} answered with more than {MaxMetadataBytes / 1024 / 1024} MiB, more than a hub's metadata holds");
            }
            buffer.Write(chunk, 0, n);
        }
        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private async Task<string> GetStringAsync(string url, CancellationToken cancel)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Get, url), cancel);
        await EnsureAsync(response, cancel);
        return await response.Content.ReadAsStringAsync(cancel);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancel, HttpCompletionOption option = HttpCompletionOption.ResponseContentRead)
    {
        // Metadata requests (read whole) get the source time-out; a download's body is streamed and is not limited by it.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        if (option == HttpCompletionOption.ResponseContentRead)
        {
            timeout.CancelAfter(Timeout);
        }
        try
        {
            return await http.SendAsync(request, option, option == HttpCompletionOption.ResponseContentRead ? timeout.Token : cancel);
        }
        catch (HttpRequestException e)
        {
            throw new XModException($"cannot reach {Source.Name} ({request.RequestUri}): {e.Message}; is the hub running? (or set XMOD_OFFLINE=1 to use the cache)");
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested && timeout.IsCancellationRequested)
        {
            throw new XModException($"{Source.Name} ({request.RequestUri}) did not answer within {Timeout.TotalSeconds:F0} s (XMOD_SOURCE_TIMEOUT or 'source add --timeout' set the limit)");
        }
    }

    private async Task EnsureAsync(HttpResponseMessage response, CancellationToken cancel)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new XModException($"{Source.Name}: {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode} {await BriefAsync(response, cancel)}".Trim());
        }
    }

    /// <summary>
    /// The start of an error answer as one short line: at most 4 KiB read (a hostile server's body is
    /// not read to its end), an HTML page reduced to its title, whitespace collapsed, 200 characters.
    /// </summary>
    private static async Task<string> BriefAsync(HttpResponseMessage response, CancellationToken cancel)
    {
        var buffer = new byte[4096];
        var read = 0;
        await using (var body = await response.Content.ReadAsStreamAsync(cancel))
        {
            int n;
            while (read < buffer.Length && (n = await body.ReadAsync(buffer.AsMemory(read), cancel)) > 0)
            {
                read += n;
            }
        }
        var text = System.Text.Encoding.UTF8.GetString(buffer, 0, read);
        if (System.Text.RegularExpressions.Regex.Match(text, "<title>(.*?)</title>", System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.Singleline) is { Success: true } title)
        {
            text = title.Groups[1].Value;
        }
        text = string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        text = string.Concat(text.Select(c => char.IsControl(c) ? ' ' : c));
        return text.Length > 200 ? text[..200] + "…" : text;
    }
}

/// <summary>A read-only pass-through that reports how many bytes were read and of how many.</summary>
internal sealed class ProgressStream(Stream inner, Action<long, long?> progress) : Stream
{
    private long _read;

    public override bool CanRead => true;
    public override bool CanSeek => inner.CanSeek;
    public override bool CanWrite => false;
    public override long Length => inner.Length;

    public override long Position
    {
        get => inner.Position;
        set
        {
            inner.Position = value;
            _read = value;
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Report(inner.Read(buffer, offset, count));

    public override int Read(Span<byte> buffer) => Report(inner.Read(buffer));

    public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancel) =>
        Report(await inner.ReadAsync(buffer.AsMemory(offset, count), cancel));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancel = default) => Report(await inner.ReadAsync(buffer, cancel));

    private int Report(int n)
    {
        _read += n;
        progress(_read, inner.CanSeek ? inner.Length : null);
        return n;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => _read = inner.Seek(offset, origin);
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
