using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using XMod;
using XMod.Packaging.Checkpoints;
using XMod.Packaging.Manifests;
using XMod.Packaging.Nupkg;
using XModHub.Client.Cache;
using XModHub.Client.Feeds;
using XModHub.Client.Packages;
using XModHub.Core;
using XModHub.Server;

namespace XModHub.Client.Tests;

/// <summary>Issue 10 from the installer's side: hostile feeds and packages, redirects, unlisted versions, parallel installs.</summary>
public sealed class SecurityClientTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-client-security-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A trunk "tr" and language packages from one synthetic model, packed.</summary>
    internal static (string Trunk, Dictionary<string, string> Languages) Packages(string dir, string version, int seed, params string[] languages)
    {
        var model = SyntheticCheckpoint.Write(Path.Combine(dir, $"model-{version}-{seed}"), XModConfig.Preset("nano") with { Languages = languages.Length == 0 ? ["de_DE"] : languages }, seed);
        var outDir = Path.Combine(dir, "out");
        var trunk = NupkgWriter.Pack(ModelPackages.Trunk(model, "tr", version, Path.Combine(dir, $"t-{version}-{seed}")), outDir);
        return (trunk, languages.ToDictionary(l => l, l => NupkgWriter.Pack(ModelPackages.Language(model, "tr", l, version, Path.Combine(dir, $"{l}-{version}-{seed}")), outDir)));
    }

    private static Task<(Stream, long?)> Bytes(byte[] b) => Task.FromResult<(Stream, long?)>((new MemoryStream(b), b.Length));

    // ---- 1 -----------------------------------------------------------------------------------------

    [Fact]
    public async Task Item1_AHostilePackageWritesNothingOutsideTheCache()
    {
        var (trunk, _) = Packages(_dir, "1.0.0", 1);
        var target = $"/tmp/xmod-evil-{Guid.NewGuid():N}/evil.sh";
        var entries = TestPackages.Entries(trunk);
        var payload = "#!/bin/sh\necho owned\n"u8.ToArray();
        entries["xmod/" + target] = payload;
        var manifest = JsonNode.Parse(entries["xmod/xmod.json"])!;
        manifest["files"]!.AsArray().Add(new JsonObject { ["path"] = target, ["sha256"] = Convert.ToHexStringLower(SHA256.HashData(payload)), ["size"] = payload.Length });
        entries["xmod/xmod.json"] = Encoding.UTF8.GetBytes(manifest.ToJsonString());
        var cache = new PackageCache(Path.Combine(_dir, "home"));
        var e = await Assert.ThrowsAsync<XModException>(() => cache.InstallAsync("tr", NuGet.Versioning.NuGetVersion.Parse("1.0.0"), _ => Bytes(TestPackages.Zip(entries)), "evil", null, default));
        Assert.Contains("unsafe path", e.Message);
        Assert.False(File.Exists(target));
        Assert.False(Directory.Exists(Path.GetDirectoryName(target)));
    }

    [Fact]
    public void Item1_VerifyNeverLooksOutsideTheSnapshot()
    {
        var dir = Directory.CreateDirectory(Path.Combine(_dir, "snap")).FullName;
        var manifest = new PackageManifest { Kind = PackageKind.Trunk, Id = "x", Version = "1.0.0", Files = [new FileEntry("../../etc/passwd", new string('0', 64), 1)] };
        var e = Assert.Throws<XMod.Packaging.PackagingException>(() => manifest.Verify(dir));
        Assert.Contains("relative", e.Message);
    }

    // ---- 3: unlisted versions --------------------------------------------------------------------

    [Fact]
    public async Task Item3_UnlistedVersionsInstallOnlyWhenPinned()
    {
        await using var hub = await HubApp.StartAsync(Path.Combine(_dir, "hub"), configure: b => b.Logging.ClearProviders());
        var key = await hub.Service<ApiKeyService>().CreateAsync("alice", [ApiKeyService.Push], "t", default);
        var model = SyntheticCheckpoint.Write(Path.Combine(_dir, "model"), XModConfig.Preset("nano") with { Languages = ["de_DE"] }, 1);
        var outDir = Path.Combine(_dir, "out");
        var feed = new FeedClient(new HttpClient(), new FeedSource("hub", hub.FeedUrl, key));
        await feed.PushAsync(NupkgWriter.Pack(ModelPackages.Trunk(model, "tr", "1.0.0", Path.Combine(_dir, "t")), outDir), default);
        foreach (var v in new[] { "1.0.0", "2.0.0" })
        {
            await feed.PushAsync(NupkgWriter.Pack(ModelPackages.Language(model, "tr", "de_DE", v, Path.Combine(_dir, "de-" + v)), outDir), default);
        }
        using var http = new HttpClient();
        var unlist = new HttpRequestMessage(HttpMethod.Delete, hub.Address + "/api/v2/package/tr.lang-de/2.0.0");
        unlist.Headers.Add("X-NuGet-ApiKey", key);
        Assert.Equal(HttpStatusCode.NoContent, (await http.SendAsync(unlist)).StatusCode);

        var reporter = new BufferReporter();
        var user = new PackageManager(new ClientConfig { Sources = [new FeedSource("hub", hub.FeedUrl, null)] }, new PackageCache(Path.Combine(_dir, "user")), new HttpClient(), reporter);
        Assert.Equal("1.0.0", (await user.InstallAsync("lang-de", "tr", default)).Version);
        Assert.Equal("2.0.0", (await user.InstallAsync("lang-de@2.0.0", "tr", default)).Version);
        Assert.Contains(reporter.Lines, l => l.StartsWith("warning:", StringComparison.Ordinal) && l.Contains("2.0.0 is unlisted", StringComparison.Ordinal));
    }

    // ---- 4: the API key and redirects -------------------------------------------------------------

    [Fact]
    public async Task Item4_TheApiKeyNeverFollowsARedirect()
    {
        var seen = new List<string>();
        await using var other = await Server(app => app.Run(async c =>
        {
            lock (seen)
            {
                seen.Add($"{c.Request.Method} key={c.Request.Headers["X-NuGet-ApiKey"]}");
            }
            c.Response.StatusCode = 201;
            await c.Response.WriteAsync("stolen");
        }));
        await using var redirecting = await Server(app => app.Run(async c =>
        {
            if (c.Request.Path == "/v3/index.json")
            {
                var self = $"{c.Request.Scheme}://{c.Request.Host}";
                await c.Response.WriteAsJsonAsync(new { version = "3.0.0", resources = new[] { new Dictionary<string, string> { ["@id"] = self + "/api/v2/package", ["@type"] = "PackagePublish/2.0.0" } } });
                return;
            }
            c.Response.StatusCode = 307;
            c.Response.Headers.Location = other.Urls.First() + "/upload";
        }));
        var (trunk, _) = Packages(_dir, "1.0.0", 1);
        var feed = new FeedClient(new HttpClient(), new FeedSource("hub", redirecting.Urls.First() + "/v3/index.json", "secret-key"));
        var e = await Assert.ThrowsAsync<XModException>(() => feed.PushAsync(trunk, default));
        Assert.Contains("redirect", e.Message);
        Assert.DoesNotContain(seen, s => s.Contains("secret-key", StringComparison.Ordinal));
    }

    private static async Task<WebApplication> Server(Action<WebApplication> configure)
    {
        var builder = WebApplication.CreateSlimBuilder(["--urls", "http://127.0.0.1:0"]);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        configure(app);
        await app.StartAsync();
        return app;
    }

    // ---- 6: the package kind ------------------------------------------------------------------------

    [Fact]
    public async Task Item6_TheClientChecksThePackageKind()
    {
        // A feed that serves a trunk under a language id ({trunk}.lang-sw): the install is refused.
        var (trunk, _) = Packages(_dir, "1.0.0", 1);
        var squatDir = Path.Combine(_dir, "squat");
        var squatModel = SyntheticCheckpoint.Write(Path.Combine(squatDir, "m"), XModConfig.Preset("nano") with { Languages = ["sw_KE"] }, 5);
        var squat = NupkgWriter.Pack(ModelPackages.Trunk(squatModel, "tr.lang-sw", "1.0.0", Path.Combine(squatDir, "p")), Path.Combine(squatDir, "out"));
        var feed = new StubFeed();
        feed.Add("tr", "1.0.0", File.ReadAllBytes(trunk));
        feed.Add("tr.lang-sw", "1.0.0", File.ReadAllBytes(squat));
        var user = new PackageManager(new ClientConfig { Sources = [new FeedSource("stub", StubFeed.Index, null)] }, new PackageCache(Path.Combine(_dir, "user")), new HttpClient(feed), new BufferReporter());
        var e = await Assert.ThrowsAsync<XModException>(() => user.InstallAsync("lang-sw", "tr", default));
        Assert.Contains("is a Trunk package, not a Language package", e.Message);
        Assert.Null(user.Cache.Find("tr.lang-sw"));
    }

    // ---- 7: parallel installs and uninstalls ---------------------------------------------------------

    [Fact]
    public async Task Item7_ParallelInstallsAndUninstallsLoseNoEntry()
    {
        string[] languages = ["de_DE", "fr_XX", "es_XX", "ru_RU", "en_XX", "it_IT", "nl_XX", "sv_SE", "fi_FI", "pl_PL", "cs_CZ", "ro_RO", "pt_XX", "hu_HU", "el_GR", "tr_TR"];
        var (trunk, packs) = Packages(_dir, "1.0.0", 1, languages);
        for (var round = 0; round < 3; round++)
        {
            var cache = new PackageCache(Path.Combine(_dir, $"home-{round}"));
            await cache.InstallAsync("tr", NuGet.Versioning.NuGetVersion.Parse("1.0.0"), _ => Bytes(File.ReadAllBytes(trunk)), "t", null, default);
            var first = languages[..8];
            var second = languages[8..];
            foreach (var l in first)
            {
                await cache.InstallAsync($"tr.lang-{l[..2]}", NuGet.Versioning.NuGetVersion.Parse("1.0.0"), _ => Bytes(File.ReadAllBytes(packs[l])), "t", null, default);
            }
            // 8 installs of new packages and 8 uninstalls of installed ones, all at once.
            var work = second.Select(l => Task.Run(() => cache.InstallAsync($"tr.lang-{l[..2]}", NuGet.Versioning.NuGetVersion.Parse("1.0.0"), _ => Bytes(File.ReadAllBytes(packs[l])), "t", null, default)))
                .Concat<Task>(first.Select(l => Task.Run(() => cache.Uninstall($"tr.lang-{l[..2]}", null))));
            await Task.WhenAll(work);
            Assert.Equal(["tr", .. second.Select(l => $"tr.lang-{l[..2]}").Order(StringComparer.OrdinalIgnoreCase)],
                cache.Installed().Select(p => p.Id).Order(StringComparer.OrdinalIgnoreCase));
        }
    }

    // ---- 12: hostile downloads -------------------------------------------------------------------------

    [Fact]
    public async Task Item12_ATruncatedDownloadIsAClearMessage()
    {
        var (trunk, _) = Packages(_dir, "1.0.0", 1);
        var bytes = File.ReadAllBytes(trunk);
        var cache = new PackageCache(Path.Combine(_dir, "home"));
        var e = await Assert.ThrowsAsync<XModException>(() => cache.InstallAsync("tr", NuGet.Versioning.NuGetVersion.Parse("1.0.0"),
            _ => Task.FromResult<(Stream, long?)>((new BrokenStream(bytes[..(bytes.Length / 2)]), bytes.Length)), "stub", null, default));
        Assert.Contains("download", e.Message);
        Assert.Null(cache.Find("tr"));
    }

    [Fact]
    public async Task Item12_AnEndlessBodyIsCutAtTheLimit()
    {
        var cache = new PackageCache(Path.Combine(_dir, "home")) { MaxDownloadBytes = 5_000_000 };
        var e = await Assert.ThrowsAsync<XModException>(() => cache.InstallAsync("tr", NuGet.Versioning.NuGetVersion.Parse("1.0.0"),
            _ => Task.FromResult<(Stream, long?)>((new EndlessStream(), null)), "stub", null, default));
        Assert.Contains("5,000,000", e.Message);
        // A body longer than its declared length is cut at the declared size.
        e = await Assert.ThrowsAsync<XModException>(() => cache.InstallAsync("tr", NuGet.Versioning.NuGetVersion.Parse("1.0.0"),
            _ => Task.FromResult<(Stream, long?)>((new EndlessStream(), 1000)), "stub", null, default));
        Assert.Contains("1,000", e.Message);
        Assert.Empty(Directory.GetFiles(Path.Combine(cache.Root, "blobs", "sha256")));
    }

    [Fact]
    public async Task Item12_OverflowingShapesFromAFeedAreAClearMessage()
    {
        var (trunk, _) = Packages(_dir, "1.0.0", 1);
        var entries = TestPackages.Entries(trunk);
        var st = entries["xmod/trunk.safetensors"];
        var n = (int)BitConverter.ToUInt64(st, 0);
        var header = System.Text.RegularExpressions.Regex.Replace(Encoding.UTF8.GetString(st, 8, n), "\"shape\":\\[[^\\]]*\\]", "\"shape\":[4611686018427387904,4611686018427387904]");
        var hb = Encoding.UTF8.GetBytes(header);
        entries["xmod/trunk.safetensors"] = [.. BitConverter.GetBytes((ulong)hb.Length), .. hb, .. st.AsSpan(8 + n)];
        var manifest = JsonNode.Parse(entries["xmod/xmod.json"])!;
        foreach (var f in manifest["files"]!.AsArray())
        {
            if (f!["path"]!.GetValue<string>() == "trunk.safetensors")
            {
                f["sha256"] = Convert.ToHexStringLower(SHA256.HashData(entries["xmod/trunk.safetensors"]));
                f["size"] = entries["xmod/trunk.safetensors"].Length;
            }
        }
        entries["xmod/xmod.json"] = Encoding.UTF8.GetBytes(manifest.ToJsonString());
        var cache = new PackageCache(Path.Combine(_dir, "home"));
        var e = await Assert.ThrowsAsync<XModException>(() => cache.InstallAsync("tr", NuGet.Versioning.NuGetVersion.Parse("1.0.0"), _ => Bytes(TestPackages.Zip(entries)), "stub", null, default));
        Assert.Contains("shape", e.Message);
    }

    /// <summary>Gives its bytes, then fails as a connection that closed early does.</summary>
    private sealed class BrokenStream(byte[] first) : Stream
    {
        private int _position;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = Math.Min(count, first.Length - _position);
            if (n == 0)
            {
                throw new HttpIOException(HttpRequestError.ResponseEnded, "The response ended prematurely.");
            }
            Array.Copy(first, _position, buffer, offset, n);
            _position += n;
            return n;
        }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private sealed class EndlessStream : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => 0; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count)
        {
            Array.Fill(buffer, (byte)'A', offset, count);
            return count;
        }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

/// <summary>A NuGet v3 feed in memory: a service index, flat-container versions and downloads, served by whatever bytes a test gives.</summary>
internal sealed class StubFeed : HttpMessageHandler
{
    public const string Index = "http://stub.invalid/v3/index.json";
    private readonly Dictionary<string, Dictionary<string, byte[]>> _packages = new(StringComparer.OrdinalIgnoreCase);

    public void Add(string id, string version, byte[] bytes)
    {
        if (!_packages.TryGetValue(id, out var versions))
        {
            _packages[id] = versions = new Dictionary<string, byte[]>(StringComparer.OrdinalIgnoreCase);
        }
        versions[version] = bytes;
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancel)
    {
        var path = request.RequestUri!.AbsolutePath;
        HttpResponseMessage Json(string json) => new(HttpStatusCode.OK) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (path == "/v3/index.json")
        {
            return Task.FromResult(Json("""{"version":"3.0.0","resources":[{"@id":"http://stub.invalid/v3/package/","@type":"PackageBaseAddress/3.0.0"}]}"""));
        }
        var parts = path["/v3/package/".Length..].Split('/');
        if (parts.Length == 2 && parts[1] == "index.json" && _packages.TryGetValue(parts[0], out var versions))
        {
            return Task.FromResult(Json("{\"versions\":[" + string.Join(",", versions.Keys.Select(v => $"\"{v}\"")) + "]}"));
        }
        if (parts.Length == 3 && _packages.TryGetValue(parts[0], out versions) && versions.TryGetValue(parts[1], out var bytes))
        {
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(bytes) });
        }
        return Task.FromResult(new HttpResponseMessage(HttpStatusCode.NotFound));
    }
}
