using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using XModHub.Core;

namespace XModHub.Server.Tests;

/// <summary>
/// The red-team findings of issue 10, each as an attack on a running hub: what a hostile
/// publisher, a hostile browser page or an unlucky operator tries, and what the hub must answer.
/// </summary>
public sealed class SecurityTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-hub-security-").FullName;
    private HubHost _hub = null!;
    private string _alice = "";
    private List<string> _packages = [];

    public async Task InitializeAsync()
    {
        _hub = await HubHost.StartAsync();
        _alice = await _hub.KeyAsync("alice");
        _packages = TestPackages.Build(_dir, "xmod-nano", "1.0.0", 1, "de_DE");
        Assert.Equal(HttpStatusCode.Created, (await _hub.PushAsync(File.ReadAllBytes(_packages[0]), _alice)).StatusCode);
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    // ---- helpers ------------------------------------------------------------------------------

    private static string Sha(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));

    /// <summary>The language package with its entries edited; files under xmod/ are (re)listed in the manifest with correct hashes.</summary>
    private byte[] Language(Action<Dictionary<string, byte[]>> edit, Action<JsonObject>? manifestEdit = null, bool relist = true)
    {
        var entries = TestPackages.Entries(_packages[1]);
        edit(entries);
        var manifest = JsonNode.Parse(entries["xmod/xmod.json"])!.AsObject();
        if (relist)
        {
            var files = new JsonArray();
            foreach (var (name, data) in entries.Where(e => e.Key.StartsWith("xmod/", StringComparison.Ordinal) && e.Key != "xmod/xmod.json").OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                files.Add(new JsonObject { ["path"] = name["xmod/".Length..], ["sha256"] = Sha(data), ["size"] = data.Length });
            }
            manifest["files"] = files;
        }
        manifestEdit?.Invoke(manifest);
        entries["xmod/xmod.json"] = Encoding.UTF8.GetBytes(manifest.ToJsonString());
        return TestPackages.Zip(entries);
    }

    private static byte[] EditHeader(byte[] safetensors, Func<string, string> edit)
    {
        var n = (int)BitConverter.ToUInt64(safetensors, 0);
        var header = Encoding.UTF8.GetBytes(edit(Encoding.UTF8.GetString(safetensors, 8, n)));
        return [.. BitConverter.GetBytes((ulong)header.Length), .. header, .. safetensors.AsSpan(8 + n)];
    }

    private async Task<(HttpStatusCode Status, string Text)> Push(byte[] package, string? key = null)
    {
        using var response = await _hub.PushAsync(package, key ?? _alice);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task Refused(byte[] package, string expected, HttpStatusCode status = HttpStatusCode.BadRequest)
    {
        var before = _hub.StoredFiles();
        var (code, text) = await Push(package);
        Assert.True(code == status && text.Contains(expected, StringComparison.OrdinalIgnoreCase), $"expected {(int)status} with \"{expected}\", got {(int)code}: {text}");
        Assert.Equal(before, _hub.StoredFiles());
    }

    private async Task<HttpResponseMessage> Send(HttpMethod method, string url, string? key, HttpContent? content = null)
    {
        // Expect: 100-continue lets a refusal arrive before the body is sent, as curl does for large bodies.
        var request = new HttpRequestMessage(method, url) { Content = content };
        request.Headers.ExpectContinue = content?.Headers.ContentLength > 100_000;
        if (key is not null)
        {
            request.Headers.Add("X-NuGet-ApiKey", key);
        }
        return await _hub.Client.SendAsync(request);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    // ---- 1: arbitrary file write --------------------------------------------------------------

    [Fact]
    public async Task Item1_AnEmptyPathSegmentCannotSmuggleAnAbsolutePath()
    {
        var target = $"/tmp/xmod-evil-{Guid.NewGuid():N}/evil.sh";
        await Refused(Language(e => e["xmod/" + target] = "#!/bin/sh\necho owned\n"u8.ToArray()), "unsafe path");
        Assert.False(File.Exists(target));
    }

    [Fact]
    public async Task Item1_ManifestPathsAreRelativeOnly()
    {
        // The entry is harmless, the manifest names it by an absolute path: both must agree on a relative one.
        await Refused(Language(e => e["xmod/notes.txt"] = "hi"u8.ToArray(), m =>
        {
            foreach (var f in m["files"]!.AsArray())
            {
                if (f!["path"]!.GetValue<string>() == "notes.txt")
                {
                    f["path"] = "/notes.txt";
                }
            }
        }), "relative");
    }

    // ---- 2: stored script ------------------------------------------------------------------------

    [Fact]
    public async Task Item2_ModelCardScriptIsNeitherEmittedNorAllowedToRun()
    {
        var card = """
            # Hostile card
            ![x](/a.png){onerror="alert(1)"}
            [hover](https://example.org){onmouseover=alert(2)}
            [js](javascript:alert(3)) [JS](JaVaScRiPt:alert(4)) [enc](&#106;avascript:alert(5))
            [data](data:text/html;base64,PHNjcmlwdD5hbGVydCg2KTwvc2NyaXB0Pg==) ![img](data:image/svg+xml,<svg/onload=alert(7)>)
            <script>alert(8)</script>
            [fine](https://example.org/ok) [relative](/packages/x)
            """;
        var (code, text) = await Push(Language(e => e["xmod/README.md"] = Encoding.UTF8.GetBytes(card)));
        Assert.True(code == HttpStatusCode.Created, text);
        using var page = await _hub.Client.GetAsync("packages/xmod-nano.lang-de");
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("Hostile card", html);
        // What is left of the attack may show as text; nothing of it may be markup: no event
        // attribute in any tag, no javascript:/data: URL in any href or src, no script element.
        var tags = System.Text.RegularExpressions.Regex.Matches(html, "<[^>]*>").Select(m => m.Value).ToList();
        Assert.DoesNotContain(tags, t => System.Text.RegularExpressions.Regex.IsMatch(t, @"\son[a-z]+\s*=", System.Text.RegularExpressions.RegexOptions.IgnoreCase));
        Assert.DoesNotContain(tags, t => System.Text.RegularExpressions.Regex.IsMatch(t, @"(href|src)\s*=\s*""\s*(javascript|data|vbscript):", System.Text.RegularExpressions.RegexOptions.IgnoreCase));
        Assert.DoesNotContain(tags, t => t.StartsWith("<script", StringComparison.OrdinalIgnoreCase));
        Assert.Contains("href=\"https://example.org/ok\"", html);
        Assert.Contains("href=\"/packages/x\"", html);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/packages/xmod-nano")]
    [InlineData("/packages/nothing-here")]
    [InlineData("/v3/index.json")]
    [InlineData("/health")]
    public async Task Item2_EveryResponseCarriesSecurityHeaders(string url)
    {
        using var response = await _hub.Client.GetAsync(url.TrimStart('/'));
        var csp = string.Join(";", response.Headers.TryGetValues("Content-Security-Policy", out var v) ? v : []);
        Assert.Contains("default-src 'none'", csp);
        Assert.DoesNotContain("script-src", csp); // no script at all: default-src 'none' covers it
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
    }

    // ---- 4: URLs from the Host header ------------------------------------------------------------

    [Fact]
    public async Task Item4_TheServiceIndexIgnoresTheHostHeader()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "v3/index.json");
        request.Headers.Host = "evil.example";
        using var response = await _hub.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("evil.example", text);
        Assert.Contains(_hub.BaseAddress.ToString().TrimEnd('/') + "/api/v2/package", text);
    }

    [Fact]
    public async Task Item4_AConfiguredPublicBaseUrlIsAdvertised()
    {
        await using var hub = await HubHost.StartAsync(new() { ["Hub:PublicBaseUrl"] = "https://hub.example.org/" });
        var text = await hub.Client.GetStringAsync("v3/index.json");
        Assert.Contains("\"https://hub.example.org/api/v2/package\"", text);
        Assert.DoesNotContain("127.0.0.1", text);
    }

    // ---- 5: bodies before authentication -------------------------------------------------------

    [Theory]
    [InlineData("api/keys")]
    [InlineData("api/packages/xmod-nano/owners")]
    public async Task Item5_JsonEndpointsAuthenticateBeforeReadingTheBody(string url)
    {
        using var response = await Send(HttpMethod.Post, url, null, Json("{ this is not json"));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Item5_PushAuthenticatesBeforeReadingTheForm()
    {
        var content = new StringContent("--x\r\nbroken", Encoding.UTF8);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=x");
        using var response = await Send(HttpMethod.Put, "api/v2/package", null, content);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Item5_JsonEndpointsTakeKilobytesOnly()
    {
        var admin = await _hub.KeyAsync("root", ApiKeyService.Admin);
        var big = $"{{\"user\":\"bob\",\"scopes\":[\"push\"],\"name\":\"{new string('x', 1_000_000)}\"}}";
        using var response = await Send(HttpMethod.Post, "api/keys", admin, Json(big));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        using var unlist = await Send(HttpMethod.Delete, "api/v2/package/xmod-nano/1.0.0", _alice, new ByteArrayContent(new byte[2_000_000]));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, unlist.StatusCode);
    }

    // ---- 6: trunk namespace --------------------------------------------------------------------

    [Fact]
    public async Task Item6_NobodyElsePublishesATrunkInsideAnotherTrunksNamespace()
    {
        var mallory = await _hub.KeyAsync("mallory");
        var squat = TestPackages.Build(Path.Combine(_dir, "squat"), "xmod-nano.lang-sw", "1.0.0", 7, "sw_KE");
        var (code, text) = await Push(File.ReadAllBytes(squat[0]), mallory);
        Assert.True(code is HttpStatusCode.Forbidden or HttpStatusCode.BadRequest && text.Contains("xmod-nano", StringComparison.Ordinal), $"{(int)code}: {text}");
        var squat2 = TestPackages.Build(Path.Combine(_dir, "squat2"), "xmod-nano.tools", "1.0.0", 8, "sw_KE");
        (code, text) = await Push(File.ReadAllBytes(squat2[0]), mallory);
        Assert.True(code == HttpStatusCode.Forbidden && text.Contains("reserved", StringComparison.Ordinal), $"{(int)code}: {text}");
        // The trunk's owner may; a community member still publishes a language for the trunk.
        (code, text) = await Push(File.ReadAllBytes(squat2[0]), _alice);
        Assert.True(code == HttpStatusCode.Created, text);
        (code, text) = await Push(File.ReadAllBytes(_packages[1]), mallory);
        Assert.True(code == HttpStatusCode.Created, text);
    }

    // ---- 8: owner changes ------------------------------------------------------------------------

    [Fact]
    public async Task Item8_AnUnlistOnlyKeyCannotAddOwners()
    {
        var unlistOnly = await _hub.KeyAsync("alice", ApiKeyService.Unlist);
        using var response = await Send(HttpMethod.Post, "api/packages/xmod-nano/owners", unlistOnly, Json("{\"owner\":\"mallory\"}"));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.DoesNotContain("mallory", await _hub.Client.GetStringAsync("api/packages/xmod-nano"));
    }

    // ---- 9: a push over 128 MiB ------------------------------------------------------------------

    [Fact]
    public async Task Item9_APushOver128MiBIsReadNotA500()
    {
        var content = new MultipartFormDataContent { { new StreamContent(new ZeroStream(130L << 20)), "package", "big.nupkg" } };
        using var response = await Send(HttpMethod.Put, "api/v2/package", _alice, content);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest && text.Contains("not a valid zip", StringComparison.Ordinal), $"{(int)response.StatusCode}: {text}");
    }

    private sealed class ZeroStream(long length) : Stream
    {
        private long _position;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - _position);
            Array.Clear(buffer, offset, n);
            _position += n;
            return n;
        }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    // ---- 12: malformed inputs are a 4xx naming the problem -----------------------------------

    [Fact]
    public async Task Item12_FilesNull() => await Refused(Language(_ => { }, m => m["files"] = null), "files");

    [Fact]
    public async Task Item12_MetricsNull() => await Refused(Language(_ => { }, m => m["metrics"] = null), "metrics");

    [Fact]
    public async Task Item12_StringOffsets() => await Refused(Language(e => e["xmod/module.safetensors"] = EditHeader(e["xmod/module.safetensors"],
        h => System.Text.RegularExpressions.Regex.Replace(h, "\"data_offsets\":\\[(\\d+),(\\d+)\\]", "\"data_offsets\":[\"$1\",\"$2\"]"))), "offset");

    [Fact]
    public async Task Item12_OverflowingShape() => await Refused(Language(e => e["xmod/module.safetensors"] = EditHeader(e["xmod/module.safetensors"],
        h => System.Text.RegularExpressions.Regex.Replace(h, "\"shape\":\\[[^\\]]*\\]", "\"shape\":[4611686018427387904,4611686018427387904]"))), "shape");

    [Fact]
    public async Task Item12_DuplicateTensorNames() => await Refused(Language(e => e["xmod/module.safetensors"] = EditHeader(e["xmod/module.safetensors"], h =>
    {
        var first = JsonNode.Parse(h)!.AsObject().First(kv => kv.Key != "__metadata__");
        return "{\"" + first.Key + "\":" + first.Value!.ToJsonString() + "," + h[1..];
    })), "twice");

    [Fact]
    public async Task Item12_CorruptDeflate()
    {
        var bytes = File.ReadAllBytes(_packages[1]);
        // Damage the compressed bytes of the module (stored after its local header), not the directory.
        var at = IndexOf(bytes, "xmod/module.safetensors"u8) + 200;
        for (var i = 0; i < 64; i++)
        {
            bytes[at + i] ^= 0x5A;
        }
        await Refused(bytes, "corrupt");
    }

    [Fact]
    public async Task Item12_BZip2Entry()
    {
        var bytes = Language(e => e["xmod/notes.txt"] = Encoding.UTF8.GetBytes(new string('n', 5000)));
        SetMethod(bytes, "xmod/notes.txt", 12); // BZip2
        await Refused(bytes, "compression");
    }

    [Fact]
    public async Task Item12_MalformedMultipart()
    {
        var content = new StringContent("--x\r\nContent-Disposition: form-data; name=\"package\"; filename=\"a.nupkg\"\r\n\r\nPK", Encoding.UTF8);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=x");
        using var response = await Send(HttpMethod.Put, "api/v2/package", _alice, content);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest && text.Contains("multipart", StringComparison.OrdinalIgnoreCase), $"{(int)response.StatusCode}: {text}");
    }

    [Theory]
    [InlineData("{\"user\":\"bob\"}", "scopes")]
    [InlineData("{\"user\":\"bob\",\"scopes\":null}", "scopes")]
    [InlineData("{\"scopes\":[\"push\"]}", "user")]
    [InlineData("[1,2]", "JSON")]
    public async Task Item12_KeyCreationWithoutScopesOrUser(string body, string expected)
    {
        var admin = await _hub.KeyAsync("root", ApiKeyService.Admin);
        using var response = await Send(HttpMethod.Post, "api/keys", admin, Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest && text.Contains(expected, StringComparison.Ordinal), $"{(int)response.StatusCode}: {text}");
    }

    [Theory]
    [InlineData("{\"owner\":null}")]
    [InlineData("{}")]
    [InlineData("{\"owner\":\"  \"}")]
    public async Task Item12_OwnerNull(string body)
    {
        using var response = await Send(HttpMethod.Post, "api/packages/xmod-nano/owners", _alice, Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest && text.Contains("owner", StringComparison.Ordinal), $"{(int)response.StatusCode}: {text}");
    }

    // ---- 13: zip bombs ---------------------------------------------------------------------------

    [Fact]
    public async Task Item13_AnEntryThatInflatesBeyondItsDeclaredSizeIsRefused()
    {
        var entries = TestPackages.Entries(_packages[1]);
        entries["bomb.bin"] = new byte[4 << 20];
        var bytes = TestPackages.Zip(entries);
        SetUncompressedSize(bytes, "bomb.bin", 1000);
        await Refused(bytes, "bomb.bin");
    }

    [Fact]
    public async Task Item13_TheExpansionRatioIsCapped()
    {
        var entries = TestPackages.Entries(_packages[1]);
        entries["padding.bin"] = new byte[64 << 20];
        await Refused(TestPackages.Zip(entries), "ratio");
    }

    [Fact]
    public async Task Item13_EveryEntrysCrcIsChecked()
    {
        var bytes = File.ReadAllBytes(_packages[1]);
        SetCrc(bytes, "[Content_Types].xml", 0x12345678);
        await Refused(bytes, "CRC");
    }

    // ---- 14: ids, HEAD, search, manifest size ------------------------------------------------------

    [Theory]
    [InlineData("xmod..nano")]
    [InlineData("xmod-nano.")]
    [InlineData("-xmod")]
    public async Task Item14_IdsFollowNuGetsRules(string id)
    {
        // The packer refuses such ids, so the trunk package is edited by hand, as an attacker would.
        var entries = TestPackages.Entries(_packages[0]);
        var nuspec = entries.Keys.Single(k => k.EndsWith(".nuspec", StringComparison.Ordinal));
        entries[nuspec] = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(entries[nuspec]).Replace("<id>xmod-nano</id>", $"<id>{id}</id>"));
        var manifest = JsonNode.Parse(entries["xmod/xmod.json"])!;
        manifest["id"] = id;
        entries["xmod/xmod.json"] = Encoding.UTF8.GetBytes(manifest.ToJsonString());
        await Refused(TestPackages.Zip(entries), "not a valid package id");
    }

    [Fact]
    public async Task Item14_ACaseVariantKeepsTheFirstCasing()
    {
        var upper = TestPackages.Build(Path.Combine(_dir, "upper"), "XMOD-NANO", "2.0.0", 1, "de_DE");
        var (code, text) = await Push(File.ReadAllBytes(upper[0]));
        Assert.True(code == HttpStatusCode.Created, text);
        var index = await _hub.Client.GetStringAsync("v3/registration/xmod-nano/index.json");
        Assert.DoesNotContain("\"XMOD-NANO\"", index);
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Matches(index, "\"id\":\"xmod-nano\"").Count);
    }

    [Fact]
    public async Task Item14_HeadWorksOnDownloads()
    {
        using var head = await _hub.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "v3/package/xmod-nano/1.0.0/xmod-nano.1.0.0.nupkg"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(new FileInfo(_packages[0]).Length, head.Content.Headers.ContentLength);
        var details = await _hub.Client.GetStringAsync("api/packages/xmod-nano");
        Assert.Contains("\"downloads\":0", details); // a HEAD is not a download
    }

    [Fact]
    public async Task Item14_SearchTreatsUnderscoreLiterally()
    {
        Assert.Equal(HttpStatusCode.Created, (await Push(File.ReadAllBytes(_packages[1]))).Status);
        var hits = await _hub.Client.GetStringAsync("v3/search?q=de_DE");
        Assert.Contains("\"id\":\"xmod-nano.lang-de\"", hits);
        Assert.Contains("\"totalHits\":0", await _hub.Client.GetStringAsync("v3/search?q=dexDE"));
    }

    [Fact]
    public async Task Item14_TheManifestSizeIsCapped() =>
        await Refused(Language(_ => { }, m => m["provenance"] = new JsonObject { ["padding"] = new string('p', 600_000) }), "xmod.json is larger");

    // ---- zip surgery -------------------------------------------------------------------------------

    private static int IndexOf(byte[] haystack, ReadOnlySpan<byte> needle) => haystack.AsSpan().IndexOf(needle);

    /// <summary>Both headers (local and central) of an entry: offsets of their signatures.</summary>
    private static IEnumerable<(int At, bool Central)> Headers(byte[] zip, string name)
    {
        var n = Encoding.UTF8.GetBytes(name);
        for (var i = 0; i + 46 < zip.Length; i++)
        {
            if (zip[i] == 0x50 && zip[i + 1] == 0x4B && zip[i + 2] == 3 && zip[i + 3] == 4 && BitConverter.ToUInt16(zip, i + 26) == n.Length && zip.AsSpan(i + 30, n.Length).SequenceEqual(n))
            {
                yield return (i, false);
            }
            if (zip[i] == 0x50 && zip[i + 1] == 0x4B && zip[i + 2] == 1 && zip[i + 3] == 2 && BitConverter.ToUInt16(zip, i + 28) == n.Length && zip.AsSpan(i + 46, n.Length).SequenceEqual(n))
            {
                yield return (i, true);
            }
        }
    }

    private static void Patch(byte[] zip, string name, int localOffset, int centralOffset, byte[] value)
    {
        var found = 0;
        foreach (var (at, central) in Headers(zip, name).ToList())
        {
            value.CopyTo(zip, at + (central ? centralOffset : localOffset));
            found++;
        }
        Assert.Equal(2, found);
    }

    private static void SetMethod(byte[] zip, string name, ushort method) => Patch(zip, name, 8, 10, BitConverter.GetBytes(method));

    private static void SetCrc(byte[] zip, string name, uint crc) => Patch(zip, name, 14, 16, BitConverter.GetBytes(crc));

    private static void SetUncompressedSize(byte[] zip, string name, uint size) => Patch(zip, name, 22, 24, BitConverter.GetBytes(size));
}
