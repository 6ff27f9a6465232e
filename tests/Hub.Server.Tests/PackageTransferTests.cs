using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using XMod.TestSupport;

namespace XModHub.Server.Tests;

/// <summary>Issue 11: downloads with HEAD, ranges and the sha256 as ETag; pushes spooled once and refused over the limit with the setting named.</summary>
public sealed class PackageTransferTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-hub-transfer-").FullName;

    public void Dispose() => TempDir.Delete(_dir);

    private const string TrunkUrl = "v3/package/xmod-nano/1.0.0/xmod-nano.1.0.0.nupkg";

    private async Task<(HubHost Hub, byte[] Trunk, string Sha)> HubWithTrunkAsync()
    {
        var hub = await HubHost.StartAsync();
        var packages = TestPackages.Build(_dir, "xmod-nano", "1.0.0", 1, "de_DE");
        var trunk = File.ReadAllBytes(packages[0]);
        Assert.Equal(HttpStatusCode.Created, (await hub.PushAsync(trunk, await hub.KeyAsync("alice"))).StatusCode);
        return (hub, trunk, Convert.ToHexStringLower(SHA256.HashData(trunk)));
    }

    private static async Task<long> DownloadsAsync(HubHost hub)
    {
        using var doc = JsonDocument.Parse(await hub.Client.GetStringAsync("api/packages/xmod-nano"));
        return doc.RootElement.GetProperty("package").GetProperty("downloads").GetInt64();
    }

    [Fact]
    public async Task HeadAnswersLengthETagAndAcceptRangesWithoutABodyOrACount()
    {
        var (hub, trunk, sha) = await HubWithTrunkAsync();
        await using var _ = hub;

        using var response = await hub.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, TrunkUrl));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(trunk.Length, response.Content.Headers.ContentLength);
        Assert.Equal($"\"{sha}\"", response.Headers.ETag?.Tag);
        Assert.False(response.Headers.ETag!.IsWeak);
        Assert.Contains("bytes", response.Headers.AcceptRanges);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(0, await DownloadsAsync(hub));
    }

    [Fact]
    public async Task ARangeIsServedExactlyAndIfRangeOnAnotherETagSendsTheWholeFile()
    {
        var (hub, trunk, sha) = await HubWithTrunkAsync();
        await using var _ = hub;
        var from = trunk.Length * 6 / 10;

        using var ranged = new HttpRequestMessage(HttpMethod.Get, TrunkUrl) { Headers = { Range = new RangeHeaderValue(from, null), IfRange = new RangeConditionHeaderValue($"\"{sha}\"") } };
        using var partial = await hub.Client.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal(from, partial.Content.Headers.ContentRange!.From);
        Assert.Equal(trunk.Length - 1, partial.Content.Headers.ContentRange.To);
        Assert.Equal(trunk.Length, partial.Content.Headers.ContentRange.Length);
        Assert.Equal(trunk[from..], await partial.Content.ReadAsByteArrayAsync());

        using var middle = new HttpRequestMessage(HttpMethod.Get, TrunkUrl) { Headers = { Range = new RangeHeaderValue(10, 19) } };
        using var slice = await hub.Client.SendAsync(middle);
        Assert.Equal(HttpStatusCode.PartialContent, slice.StatusCode);
        Assert.Equal(trunk[10..20], await slice.Content.ReadAsByteArrayAsync());

        using var stale = new HttpRequestMessage(HttpMethod.Get, TrunkUrl) { Headers = { Range = new RangeHeaderValue(from, null), IfRange = new RangeConditionHeaderValue($"\"{new string('0', 64)}\"") } };
        using var whole = await hub.Client.SendAsync(stale);
        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.Equal(trunk, await whole.Content.ReadAsByteArrayAsync());

        using var beyond = new HttpRequestMessage(HttpMethod.Get, TrunkUrl) { Headers = { Range = new RangeHeaderValue(trunk.Length + 10, null) } };
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, (await hub.Client.SendAsync(beyond)).StatusCode);

        // Only the GET from byte 0 (the If-Range miss) counted: a resumed download is not a second download.
        Assert.Equal(1, await DownloadsAsync(hub));
    }

    [Fact]
    public async Task BehindNginxWithAccelRedirectNginxSendsTheFileWithTheHubsETagRangesAndCounts()
    {
        var hub = await HubHost.StartAsync(new() { ["Hub:AccelRedirectPrefix"] = NginxProcess.AccelPrefix });
        await using var _ = hub;
        var packages = TestPackages.Build(_dir, "xmod-nano", "1.0.0", 1, "de_DE");
        var trunk = File.ReadAllBytes(packages[0]);
        var sha = Convert.ToHexStringLower(SHA256.HashData(trunk));
        Assert.Equal(HttpStatusCode.Created, (await hub.PushAsync(trunk, await hub.KeyAsync("alice"))).StatusCode);
        using var nginx = await NginxProcess.StartProxyAsync(Path.Combine(_dir, "nginx"), [hub.BaseAddress.Port], accelStorage: Path.Combine(hub.DataDir, "packages"));
        using var http = new HttpClient { BaseAddress = new Uri(nginx.Address + "/") };

        // Asked by nginx (X-Sendfile-Type), the hub answers with a redirect and no body; asked directly,
        // it sends the file itself. Through nginx, the stored bytes come with the hub's ETag.
        using (var marked = await hub.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, TrunkUrl) { Headers = { { "X-Sendfile-Type", "X-Accel-Redirect" } } }))
        {
            Assert.StartsWith(NginxProcess.AccelPrefix, marked.Headers.GetValues("X-Accel-Redirect").Single());
            Assert.Empty(await marked.Content.ReadAsByteArrayAsync());
        }
        using (var direct = await hub.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, TrunkUrl)))
        {
            Assert.False(direct.Headers.Contains("X-Accel-Redirect"));
            Assert.Equal(trunk.Length, direct.Content.Headers.ContentLength);
        }
        using (var whole = await http.GetAsync(TrunkUrl))
        {
            Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
            Assert.Equal($"\"{sha}\"", whole.Headers.ETag?.Tag);
            Assert.False(whole.Headers.Contains("X-Accel-Redirect"));
            Assert.Equal(trunk, await whole.Content.ReadAsByteArrayAsync());
        }
        using (var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, TrunkUrl)))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(trunk.Length, head.Content.Headers.ContentLength);
            Assert.Equal($"\"{sha}\"", head.Headers.ETag?.Tag);
            Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        }

        // A resume (the client's Range + If-Range on the sha) gets exactly the rest; an If-Range on
        // another ETag gets the whole file, as from the hub itself.
        var from = trunk.Length * 6 / 10;
        using (var partial = await http.SendAsync(new HttpRequestMessage(HttpMethod.Get, TrunkUrl)
            { Headers = { Range = new RangeHeaderValue(from, null), IfRange = new RangeConditionHeaderValue($"\"{sha}\"") } }))
        {
            Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
            Assert.Equal(from, partial.Content.Headers.ContentRange!.From);
            Assert.Equal(trunk[from..], await partial.Content.ReadAsByteArrayAsync());
        }
        using (var stale = await http.SendAsync(new HttpRequestMessage(HttpMethod.Get, TrunkUrl)
            { Headers = { Range = new RangeHeaderValue(from, null), IfRange = new RangeConditionHeaderValue($"\"{new string('0', 64)}\"") } }))
        {
            Assert.Equal(HttpStatusCode.OK, stale.StatusCode);
            Assert.Equal(trunk, await stale.Content.ReadAsByteArrayAsync());
        }
        using (var cached = await http.SendAsync(new HttpRequestMessage(HttpMethod.Get, TrunkUrl) { Headers = { IfNoneMatch = { new EntityTagHeaderValue($"\"{sha}\"") } } }))
        {
            Assert.Equal(HttpStatusCode.NotModified, cached.StatusCode);
            Assert.Equal($"\"{sha}\"", cached.Headers.ETag?.Tag);
        }
        using (var whole = await http.GetAsync(TrunkUrl))
        {
            Assert.Single(whole.Headers.AcceptRanges); // nginx's, not twice
        }
        // The three GETs from byte 0 counted; the HEADs, the resume and the 304 did not.
        Assert.Equal(3, await DownloadsAsync(hub));

        // The internal location is not reachable from outside, nor anything beside the packages through it.
        var blob = Path.GetRelativePath(Path.Combine(hub.DataDir, "packages"), Directory.GetFiles(Path.Combine(hub.DataDir, "packages"), "*.nupkg", SearchOption.AllDirectories).Single());
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(NginxProcess.AccelPrefix.TrimStart('/') + blob.Replace('\\', '/'))).StatusCode);
        using var escape = await http.GetAsync("v3/package/xmod-nano/1.0.0/..%2F..%2F..%2Fhub.db");
        Assert.NotEqual(HttpStatusCode.OK, escape.StatusCode);
    }

    [Theory]
    [InlineData("_stored", "not an nginx location path")]
    [InlineData("/../etc/", "not an nginx location path")]
    [InlineData("/_stored/\r\nX-Evil: 1/", "not an nginx location path")]
    public void AnAccelRedirectPrefixThatIsNotALocationIsOneLine(string prefix, string expected)
    {
        var e = Assert.Throws<XMod.XModException>(() => DownloadOptions.From(prefix, "FileSystem"));
        Assert.Contains(expected, e.Message);
        Assert.Contains("Hub:AccelRedirectPrefix", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain('\r', e.Message);
        Assert.Contains("needs Storage:Type FileSystem", Assert.Throws<XMod.XModException>(() => DownloadOptions.From("/_stored/", "AzureBlob")).Message);
    }

    [Fact]
    public async Task IfNoneMatchOnTheShaIsNotModified()
    {
        var (hub, _, sha) = await HubWithTrunkAsync();
        await using var __ = hub;
        using var request = new HttpRequestMessage(HttpMethod.Get, TrunkUrl) { Headers = { IfNoneMatch = { new EntityTagHeaderValue($"\"{sha}\"") } } };
        Assert.Equal(HttpStatusCode.NotModified, (await hub.Client.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task APushLeavesNoSpoolFileAndTheStoredFileIsThePushedOne()
    {
        var (hub, trunk, _) = await HubWithTrunkAsync();
        await using var _ = hub;
        var spool = Path.Combine(hub.DataDir, "tmp");
        Assert.True(!Directory.Exists(spool) || Directory.GetFiles(spool).Length == 0);
        Assert.Equal(trunk, await hub.Client.GetByteArrayAsync(TrunkUrl));
        Assert.DoesNotContain(hub.StoredFiles(), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    /// <summary>A body with no declared length (chunked) that grows past the limit.</summary>
    private sealed class Endless(long bytes) : Stream
    {
        private long _left = bytes;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, _left);
            Array.Fill(buffer, (byte)'x', offset, n);
            _left -= n;
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task APushOverTheLimitIs413NamingTheSetting(bool declaredLength)
    {
        await using var hub = await HubHost.StartAsync(new() { ["Hub:MaxPackageBytes"] = "100000" });
        var key = await hub.KeyAsync("alice");
        using var request = new HttpRequestMessage(HttpMethod.Put, "api/v2/package")
        {
            Content = declaredLength ? new ByteArrayContent(new byte[3 << 20]) : new StreamContent(new Endless(3 << 20)),
        };
        request.Headers.Add("X-NuGet-ApiKey", key);

        using var response = await hub.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("100,000", text);
        Assert.Contains("Hub:MaxPackageBytes", text);
        Assert.Contains("XMODHUB__Hub__MaxPackageBytes", text);
        Assert.Empty(hub.StoredFiles());
        var spool = Path.Combine(hub.DataDir, "tmp");
        Assert.True(!Directory.Exists(spool) || Directory.GetFiles(spool).Length == 0);
    }

    [Fact]
    public async Task ATooLargeMultipartPushIs413Too()
    {
        await using var hub = await HubHost.StartAsync(new() { ["Hub:MaxPackageBytes"] = "100000" });
        using var response = await hub.PushAsync(new byte[200_000], await hub.KeyAsync("alice"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("Hub:MaxPackageBytes", await response.Content.ReadAsStringAsync());
    }
}
