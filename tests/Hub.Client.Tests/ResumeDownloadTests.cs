using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using NuGet.Versioning;
using XMod;
using XModHub.Client.Cache;
using XModHub.Client.Feeds;
using XModHub.Core;
using XModHub.Server;
using XMod.TestSupport;

namespace XModHub.Client.Tests;

/// <summary>Issue 11: an interrupted install continues with a Range request, falls back to a full download, and refuses hostile ranges.</summary>
public sealed class ResumeDownloadTests : IDisposable
{
    private static readonly NuGetVersion s_v1 = NuGetVersion.Parse("1.0.0");
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-client-resume-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PartialFile(PackageCache cache) => Path.Combine(cache.Root, "partial", "tr.1.0.0.nupkg");

    /// <summary>Records each package request's Range and If-Range; <paramref name="stripRange"/> makes the server look as if it ignored ranges.</summary>
    private sealed class Recorder(bool stripRange = false) : DelegatingHandler(new HttpClientHandler())
    {
        public List<(string? Range, string? IfRange, HttpStatusCode Status)> Requests { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancel)
        {
            var range = request.Headers.Range?.ToString();
            var ifRange = request.Headers.IfRange?.ToString();
            if (stripRange)
            {
                request.Headers.Range = null;
                request.Headers.IfRange = null;
            }
            var response = await base.SendAsync(request, cancel);
            if (request.RequestUri!.AbsolutePath.EndsWith(".nupkg", StringComparison.Ordinal))
            {
                Requests.Add((range, ifRange, response.StatusCode));
            }
            return response;
        }
    }

    private async Task<(RunningHub Hub, FeedClient Feed, Recorder Recorder, string Trunk)> HubWithTrunkAsync(bool stripRange = false)
    {
        var hub = await HubApp.StartAsync(Path.Combine(_dir, "hub"), configure: b => b.Logging.ClearProviders());
        var key = await hub.Service<ApiKeyService>().CreateAsync("alice", [ApiKeyService.Push], "t", default);
        var (trunk, _) = SecurityClientTests.Packages(_dir, "1.0.0", 1);
        await new FeedClient(new HttpClient(), new FeedSource("hub", hub.FeedUrl, key)).PushAsync(trunk, default);
        var recorder = new Recorder(stripRange);
        return (hub, new FeedClient(new HttpClient(recorder), new FeedSource("hub", hub.FeedUrl, null)), recorder, trunk);
    }

    /// <summary>The first install dies at 60% of the file; what it wrote stays in partial/ for the next run.</summary>
    private async Task<long> InterruptAt60PercentAsync(PackageCache cache, FeedClient feed, string trunk)
    {
        var size = new FileInfo(trunk).Length;
        var e = await Assert.ThrowsAsync<XModException>(() => cache.InstallAsync("tr", s_v1, async (offset, etag, c) =>
        {
            var d = await feed.DownloadAsync("tr", s_v1, offset, etag, c);
            return d with { Content = new BreaksOffStream(d.Content, size * 6 / 10) };
        }, "hub", null, default));
        Assert.Contains("broke off", e.Message);
        Assert.Contains("continue", e.Message);
        Assert.Equal(size * 6 / 10, new FileInfo(PartialFile(cache)).Length);
        Assert.Null(cache.Find("tr"));
        return size;
    }

    [Fact]
    public async Task AnInstallKilledAt60PercentContinuesWithARangeRequestAndVerifiesTheHash()
    {
        var (hub, feed, recorder, trunk) = await HubWithTrunkAsync();
        await using var _ = hub;
        var cache = new PackageCache(Path.Combine(_dir, "home"));
        var size = await InterruptAt60PercentAsync(cache, feed, trunk);

        var installed = await cache.InstallAsync("tr", s_v1, (offset, etag, c) => feed.DownloadAsync("tr", s_v1, offset, etag, c), "hub", null, default);

        var sha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(trunk)));
        Assert.Equal(sha, installed.Sha256);
        var resumed = recorder.Requests[^1];
        Assert.Equal($"bytes={size * 6 / 10}-", resumed.Range);
        Assert.Equal($"\"{sha}\"", resumed.IfRange);
        Assert.Equal(HttpStatusCode.PartialContent, resumed.Status);
        Assert.False(File.Exists(PartialFile(cache)));
        Assert.Empty(cache.Verify());
    }

    [Fact]
    public async Task BehindNginxWithAccelRedirectAnInstallKilledAt60PercentContinuesFromNginx()
    {
        // The hub hands downloads to nginx (the README's configuration) and names nginx as its public address.
        var nginxPort = NginxProcess.FreePort();
        var hub = await HubApp.StartAsync(Path.Combine(_dir, "hub"), configure: b =>
        {
            b.Logging.ClearProviders();
            b.Configuration["Hub:AccelRedirectPrefix"] = NginxProcess.AccelPrefix;
            b.Configuration["Hub:PublicBaseUrl"] = $"http://127.0.0.1:{nginxPort}";
        });
        await using var _ = hub;
        using var nginx = await NginxProcess.StartProxyAsync(Path.Combine(_dir, "nginx"), [new Uri(hub.Address).Port], port: nginxPort,
            accelStorage: Path.Combine(_dir, "hub", "packages"));
        var key = await hub.Service<ApiKeyService>().CreateAsync("alice", [ApiKeyService.Push], "t", default);
        var (trunk, _) = SecurityClientTests.Packages(_dir, "1.0.0", 1);
        await new FeedClient(new HttpClient(), new FeedSource("hub", nginx.Address + "/v3/index.json", key)).PushAsync(trunk, default);
        var recorder = new Recorder();
        var feed = new FeedClient(new HttpClient(recorder), new FeedSource("hub", nginx.Address + "/v3/index.json", null));
        var cache = new PackageCache(Path.Combine(_dir, "home"));
        var size = await InterruptAt60PercentAsync(cache, feed, trunk);

        var installed = await cache.InstallAsync("tr", s_v1, (offset, etag, c) => feed.DownloadAsync("tr", s_v1, offset, etag, c), "hub", null, default);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(trunk))), installed.Sha256);
        Assert.Equal($"bytes={size * 6 / 10}-", recorder.Requests[^1].Range);
        Assert.Equal(HttpStatusCode.PartialContent, recorder.Requests[^1].Status);
        Assert.Empty(cache.Verify());
    }

    /// <summary>Marks every request as nginx does (X-Sendfile-Type) without being nginx: a misconfigured proxy.</summary>
    private sealed class MarksForNginx() : DelegatingHandler(new HttpClientHandler())
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancel)
        {
            request.Headers.Add("X-Sendfile-Type", "X-Accel-Redirect");
            return base.SendAsync(request, cancel);
        }
    }

    [Fact]
    public async Task AHubSetUpForNginxServesClientsThatReachItDirectlyAndAProxyThatOnlyMarksRequestsIsOneLine()
    {
        var hub = await HubApp.StartAsync(Path.Combine(_dir, "hub"), configure: b =>
        {
            b.Logging.ClearProviders();
            b.Configuration["Hub:AccelRedirectPrefix"] = NginxProcess.AccelPrefix;
        });
        await using var _ = hub;
        var key = await hub.Service<ApiKeyService>().CreateAsync("alice", [ApiKeyService.Push], "t", default);
        var (trunk, _) = SecurityClientTests.Packages(_dir, "1.0.0", 1);
        var feed = new FeedClient(new HttpClient(), new FeedSource("hub", hub.FeedUrl, key));
        await feed.PushAsync(trunk, default);

        // Without nginx's mark the hub sends the file itself: plain NuGet clients and curl keep working.
        var direct = new PackageCache(Path.Combine(_dir, "direct"));
        var installed = await direct.InstallAsync("tr", s_v1, (offset, etag, c) => feed.DownloadAsync("tr", s_v1, offset, etag, c), "hub", null, default);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(trunk))), installed.Sha256);

        // A proxy that marks requests for nginx but is not nginx: an empty answer, refused in one line.
        var marked = new FeedClient(new HttpClient(new MarksForNginx()), new FeedSource("hub", hub.FeedUrl, null));
        var cache = new PackageCache(Path.Combine(_dir, "home"));
        var e = await Assert.ThrowsAsync<XModException>(() => cache.InstallAsync("tr", s_v1, (offset, etag, c) => marked.DownloadAsync("tr", s_v1, offset, etag, c), "hub", null, default));
        Assert.Contains("nginx did not serve it", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Null(cache.Find("tr"));
    }

    [Fact]
    public async Task AServerThatIgnoresRangesGetsAFullDownload()
    {
        var (hub, feed, recorder, trunk) = await HubWithTrunkAsync(stripRange: true);
        await using var _ = hub;
        var cache = new PackageCache(Path.Combine(_dir, "home"));
        await InterruptAt60PercentAsync(cache, feed, trunk);

        var installed = await cache.InstallAsync("tr", s_v1, (offset, etag, c) => feed.DownloadAsync("tr", s_v1, offset, etag, c), "hub", null, default);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(trunk))), installed.Sha256);
        Assert.NotNull(recorder.Requests[^1].Range);
        Assert.Equal(HttpStatusCode.OK, recorder.Requests[^1].Status);
        Assert.Empty(cache.Verify());
    }

    [Fact]
    public async Task APartialFileOfAnotherVersionOfTheFileStartsOver()
    {
        var (hub, feed, recorder, trunk) = await HubWithTrunkAsync();
        await using var _ = hub;
        var cache = new PackageCache(Path.Combine(_dir, "home"));
        await InterruptAt60PercentAsync(cache, feed, trunk);
        // As if the server's file had changed since: its ETag no longer matches, so If-Range makes it send everything.
        File.WriteAllText(PartialFile(cache) + ".etag", $"\"{new string('a', 64)}\"");

        var installed = await cache.InstallAsync("tr", s_v1, (offset, etag, c) => feed.DownloadAsync("tr", s_v1, offset, etag, c), "hub", null, default);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(trunk))), installed.Sha256);
        Assert.Equal(HttpStatusCode.OK, recorder.Requests[^1].Status);
        Assert.Equal($"\"{new string('a', 64)}\"", recorder.Requests[^1].IfRange);
    }

    // ---- hostile servers ---------------------------------------------------------------------------

    /// <summary>A feed whose package answers are made up by the test.</summary>
    private sealed class HostileFeed(Func<HttpRequestMessage, HttpResponseMessage> package) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancel)
        {
            if (request.RequestUri!.AbsolutePath.EndsWith("/index.json", StringComparison.Ordinal))
            {
                return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK)
                {
                    Content = new StringContent("""{"version":"3.0.0","resources":[{"@id":"http://evil.test/v3/package/","@type":"PackageBaseAddress/3.0.0"}]}"""),
                });
            }
            return Task.FromResult(package(request));
        }
    }

    private static HttpResponseMessage Partial(byte[] body, long from, long to, long total, string etag, long? declaredLength = null)
    {
        var response = new HttpResponseMessage(HttpStatusCode.PartialContent) { Content = new ByteArrayContent(body) };
        response.Content.Headers.ContentRange = new ContentRangeHeaderValue(from, to, total);
        response.Content.Headers.ContentLength = declaredLength ?? body.Length;
        response.Headers.ETag = new EntityTagHeaderValue(etag);
        return response;
    }

    /// <summary>Leaves a partial file of <paramref name="have"/> bytes with <paramref name="etag"/>, as an interrupted install would.</summary>
    private string SeedPartial(PackageCache cache, byte[] file, int have, string etag)
    {
        var partial = PartialFile(cache);
        Directory.CreateDirectory(Path.GetDirectoryName(partial)!);
        File.WriteAllBytes(partial, file[..have]);
        File.WriteAllText(partial + ".etag", etag);
        return partial;
    }

    public static TheoryData<string> HostileAnswers => new() { "wrong-start", "wrong-end", "oversized-length", "other-etag", "range-unasked" };

    [Theory]
    [MemberData(nameof(HostileAnswers))]
    public async Task AServerThatAnswersARangeOtherThanAskedIsRefusedAndThePartialFileDiscarded(string answer)
    {
        var (trunk, _) = SecurityClientTests.Packages(_dir, "1.0.0", 1);
        var file = File.ReadAllBytes(trunk);
        var etag = $"\"{Convert.ToHexStringLower(SHA256.HashData(file))}\"";
        var cache = new PackageCache(Path.Combine(_dir, "home"));
        var have = file.Length / 2;
        var partial = answer == "range-unasked" ? PartialFile(cache) : SeedPartial(cache, file, have, etag);
        var feed = new FeedClient(new HttpClient(new HostileFeed(request => answer switch
        {
            "wrong-start" => Partial(file[(have - 10)..], have - 10, file.Length - 1, file.Length, etag),
            "wrong-end" => Partial(file[have..^10], have, file.Length - 11, file.Length, etag),
            "oversized-length" => Partial([.. file[have..], .. new byte[1000]], have, file.Length - 1, file.Length, etag, file.Length - have + 1000),
            "other-etag" => Partial(file[have..], have, file.Length - 1, file.Length, $"\"{new string('b', 64)}\""),
            _ => Partial(file, 0, file.Length - 1, file.Length, etag),
        })), new FeedSource("evil", "http://evil.test/v3/index.json", null));

        var e = await Assert.ThrowsAsync<RangeMismatchException>(() =>
            cache.InstallAsync("tr", s_v1, (offset, tag, c) => feed.DownloadAsync("tr", s_v1, offset, tag, c), "evil", null, default));

        Assert.Contains("another range", e.Message);
        Assert.False(File.Exists(partial));
        Assert.Null(cache.Find("tr"));
    }

    [Fact]
    public async Task ABodyWhoseHashIsNotItsETagIsRefused()
    {
        var (trunk, _) = SecurityClientTests.Packages(_dir, "1.0.0", 1);
        var file = File.ReadAllBytes(trunk);
        var cache = new PackageCache(Path.Combine(_dir, "home"));
        var feed = new FeedClient(new HttpClient(new HostileFeed(_ =>
        {
            var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(file) };
            response.Headers.ETag = new EntityTagHeaderValue($"\"{new string('c', 64)}\"");
            return response;
        })), new FeedSource("evil", "http://evil.test/v3/index.json", null));

        var e = await Assert.ThrowsAsync<XModException>(() =>
            cache.InstallAsync("tr", s_v1, (offset, tag, c) => feed.DownloadAsync("tr", s_v1, offset, tag, c), "evil", null, default));

        Assert.Contains("not the cccccccccccc", e.Message);
        Assert.False(File.Exists(PartialFile(cache)));
        Assert.Null(cache.Find("tr"));
    }

    [Fact]
    public async Task AResumedBodyLongerThanItsRangeIsCutAndRefused()
    {
        var (trunk, _) = SecurityClientTests.Packages(_dir, "1.0.0", 1);
        var file = File.ReadAllBytes(trunk);
        var etag = $"\"{Convert.ToHexStringLower(SHA256.HashData(file))}\"";
        var cache = new PackageCache(Path.Combine(_dir, "home"));
        var have = file.Length / 2;
        SeedPartial(cache, file, have, etag);
        // Declares the right range and length, then keeps sending (the handler's stream is not bound by Content-Length).
        var feed = new FeedClient(new HttpClient(new HostileFeed(_ =>
        {
            var response = new HttpResponseMessage(HttpStatusCode.PartialContent) { Content = new StreamContent(new MemoryStream([.. file[have..], .. new byte[1 << 20]])) };
            response.Content.Headers.ContentRange = new ContentRangeHeaderValue(have, file.Length - 1, file.Length);
            response.Content.Headers.ContentLength = file.Length - have;
            response.Headers.ETag = new EntityTagHeaderValue(etag);
            return response;
        })), new FeedSource("evil", "http://evil.test/v3/index.json", null));

        var e = await Assert.ThrowsAsync<XModException>(() =>
            cache.InstallAsync("tr", s_v1, (offset, tag, c) => feed.DownloadAsync("tr", s_v1, offset, tag, c), "evil", null, default));

        Assert.Contains("more than the", e.Message);
        Assert.False(File.Exists(PartialFile(cache)));
    }

    [Fact]
    public async Task AMissingFileIsOneLineNamingTheStorageNotAPageOfHtmlAndNotAnEndlessRead()
    {
        var cache = new PackageCache(Path.Combine(_dir, "home"));
        // nginx's 404 page (a wrong alias), padded to far more than an error needs.
        var page = "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n"
            + new string(' ', 10 << 20) + "</body>\r\n</html>";
        var feed = new FeedClient(new HttpClient(new HostileFeed(_ => new HttpResponseMessage(HttpStatusCode.NotFound) { Content = new StringContent(page) })),
            new FeedSource("evil", "http://evil.test/v3/index.json", null));

        var e = await Assert.ThrowsAsync<XModException>(() =>
            cache.InstallAsync("tr", s_v1, (offset, tag, c) => feed.DownloadAsync("tr", s_v1, offset, tag, c), "evil", null, default));

        Assert.Contains("lists tr 1.0.0 but answered its download with 404 (404 Not Found)", e.Message);
        Assert.Contains("Storage:Path", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain("<html>", e.Message);
        Assert.Null(cache.Find("tr"));
    }
}
