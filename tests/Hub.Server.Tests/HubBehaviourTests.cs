using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit.Abstractions;

namespace XModHub.Server.Tests;

public sealed class HubBehaviourTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-hub-behaviour-").FullName;

    public void Dispose() => TempDir.Delete(_dir);

    [Fact]
    public async Task TwentyConcurrentPushesOfOneVersionGiveOneCreatedAndNineteenConflicts()
    {
        await using var hub = await HubHost.StartAsync();
        var key = await hub.KeyAsync("alice");
        var packages = TestPackages.Build(_dir, "xmod-nano", "1.0.0", 1, "de_DE");
        Assert.Equal(HttpStatusCode.Created, (await hub.PushAsync(File.ReadAllBytes(packages[0]), key)).StatusCode);
        var bytes = File.ReadAllBytes(packages[1]);
        var statuses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(async () => (await hub.PushAsync(bytes, key)).StatusCode)));
        Assert.Equal(1, statuses.Count(s => s == HttpStatusCode.Created));
        Assert.Equal(19, statuses.Count(s => s == HttpStatusCode.Conflict));
        Assert.Equal(2, hub.StoredFiles().Count); // the trunk and one language package, no temporary leftovers
        using var index = JsonDocument.Parse(await hub.Client.GetStringAsync("v3/package/xmod-nano.lang-de/index.json"));
        Assert.Equal(["1.0.0"], index.RootElement.GetProperty("versions").EnumerateArray().Select(v => v.GetString()));
        var stored = await hub.Client.GetByteArrayAsync("v3/package/xmod-nano.lang-de/1.0.0/xmod-nano.lang-de.1.0.0.nupkg");
        Assert.Equal(bytes, stored);
    }

    [Fact]
    public async Task KeysAndOwnership()
    {
        await using var hub = await HubHost.StartAsync();
        var alice = await hub.KeyAsync("alice");
        var bob = await hub.KeyAsync("bob");
        var packages = TestPackages.Build(_dir, "xmod-nano", "1.0.0", 1, "de_DE");
        var v2 = TestPackages.Build(Path.Combine(_dir, "v2"), "xmod-nano", "1.1.0", 1, "de_DE");

        var anonymous = await hub.PushAsync(File.ReadAllBytes(packages[0]), null);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await hub.PushAsync(File.ReadAllBytes(packages[0]), "xmh_not-a-key")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await hub.PushAsync(File.ReadAllBytes(packages[0]), alice)).StatusCode);

        // Bob may not publish a new version of alice's trunk...
        var taken = await hub.PushAsync(File.ReadAllBytes(v2[0]), bob);
        Assert.Equal(HttpStatusCode.Forbidden, taken.StatusCode);
        Assert.Contains("belongs to other owners", await taken.Content.ReadAsStringAsync());
        // ...until alice makes him an owner.
        using (var add = new HttpRequestMessage(HttpMethod.Post, "api/packages/xmod-nano/owners") { Content = JsonContent.Create(new { owner = "bob" }) })
        {
            add.Headers.Add("X-NuGet-ApiKey", alice);
            Assert.Equal(HttpStatusCode.OK, (await hub.Client.SendAsync(add)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.Created, (await hub.PushAsync(File.ReadAllBytes(v2[0]), bob)).StatusCode);

        // A key without the push scope cannot push; keys are stored hashed.
        var reader = await hub.KeyAsync("carol", "unlist");
        Assert.Equal(HttpStatusCode.Forbidden, (await hub.PushAsync(File.ReadAllBytes(packages[1]), reader)).StatusCode);
        var db = File.ReadAllBytes(Path.Combine(hub.DataDir, "hub.db"));
        Assert.DoesNotContain(alice, System.Text.Encoding.ASCII.GetString(db));

        // Unlisting: an unknown key is 401, another user's key 403, the owner's 204.
        async Task<HttpStatusCode> Unlist(string? k)
        {
            using var req = new HttpRequestMessage(HttpMethod.Delete, "api/v2/package/xmod-nano/1.0.0");
            if (k is not null)
            {
                req.Headers.Add("X-NuGet-ApiKey", k);
            }
            return (await hub.Client.SendAsync(req)).StatusCode;
        }
        Assert.Equal(HttpStatusCode.Unauthorized, await Unlist(null));
        Assert.Equal(HttpStatusCode.Unauthorized, await Unlist("xmh_wrong"));
        Assert.Equal(HttpStatusCode.Forbidden, await Unlist(await hub.KeyAsync("mallory")));
        Assert.Equal(HttpStatusCode.NoContent, await Unlist(alice));

        // Only admins create keys.
        using var create = new HttpRequestMessage(HttpMethod.Post, "api/keys") { Content = JsonContent.Create(new { user = "dave", scopes = new[] { "push" }, name = "x" }) };
        create.Headers.Add("X-NuGet-ApiKey", alice);
        Assert.Equal(HttpStatusCode.Forbidden, (await hub.Client.SendAsync(create)).StatusCode);
    }

    [Fact]
    public async Task LanguageApiFiltersAndFindsWhatFitsATrunk()
    {
        await using var hub = await HubHost.StartAsync();
        var key = await hub.KeyAsync("alice");
        foreach (var p in TestPackages.Build(_dir, "xmod-nano", "1.0.0", 1, "de_DE", "ru_RU", "ja_XX")
            .Concat(TestPackages.Build(Path.Combine(_dir, "b"), "other-trunk", "2.0.0", 2, "de_DE")))
        {
            Assert.Equal(HttpStatusCode.Created, (await hub.PushAsync(File.ReadAllBytes(p), key)).StatusCode);
        }
        using (var all = JsonDocument.Parse(await hub.Client.GetStringAsync("api/languages?trunk=xmod-nano")))
        {
            var langs = all.RootElement.GetProperty("languages").EnumerateArray().ToList();
            Assert.Equal(3, langs.Count);
            var de = langs.Single(l => l.GetProperty("code").GetString() == "de_DE");
            Assert.Equal("lang-de", de.GetProperty("short_id").GetString());
            Assert.Equal("Deutsch", de.GetProperty("autonym").GetString());
            Assert.Equal(15, de.GetProperty("heldout_perplexity").GetDouble());
        }
        using (var cyrillic = JsonDocument.Parse(await hub.Client.GetStringAsync("api/languages?trunk=xmod-nano&script=Cyrl")))
        {
            Assert.Equal(["ru_RU"], cyrillic.RootElement.GetProperty("languages").EnumerateArray().Select(l => l.GetProperty("code").GetString()));
        }
        using (var byName = JsonDocument.Parse(await hub.Client.GetStringAsync("api/languages?q=german")))
        {
            // Both trunks have a German module; the user types lang-de either way.
            Assert.Equal(["other-trunk.lang-de", "xmod-nano.lang-de"], byName.RootElement.GetProperty("languages").EnumerateArray().Select(l => l.GetProperty("id").GetString()).Order());
        }
        using (var fits = JsonDocument.Parse(await hub.Client.GetStringAsync("api/trunks/other-trunk/2.0.0/packages")))
        {
            Assert.Equal(["other-trunk.lang-de"], fits.RootElement.GetProperty("packages").EnumerateArray().Select(l => l.GetProperty("id").GetString()));
        }
        using (var details = JsonDocument.Parse(await hub.Client.GetStringAsync("api/packages/xmod-nano.lang-ja")))
        {
            Assert.Equal("xmod-hub install lang-ja --trunk xmod-nano", details.RootElement.GetProperty("install").GetString());
            Assert.Contains("Japanese", details.RootElement.GetProperty("readme").GetString());
            Assert.Equal("Language", details.RootElement.GetProperty("manifest").GetProperty("kind").GetString());
        }
        Assert.Equal(HttpStatusCode.NotFound, (await hub.Client.GetAsync("api/packages/nope")).StatusCode);
    }

    [Fact]
    public async Task BrowsePageRendersInHeadlessChromium()
    {
        await using var hub = await HubHost.StartAsync();
        var key = await hub.KeyAsync("alice");
        foreach (var p in TestPackages.Build(_dir, "xmod-nano", "1.0.0", 1, "de_DE", "ru_RU", "ja_XX", "el_GR"))
        {
            Assert.Equal(HttpStatusCode.Created, (await hub.PushAsync(File.ReadAllBytes(p), key)).StatusCode);
        }
        var screenshots = Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(screenshots);
        var index = Chromium(hub.BaseAddress + "?trunk=xmod-nano", Path.Combine(screenshots, "browse.png"));
        foreach (var expected in new[] { "German", "Deutsch", "русский", "日本語", "Ελληνικά", "lang-ja", "Cyrl", "4 languages" })
        {
            Assert.Contains(expected, index);
        }
        Assert.True(new FileInfo(Path.Combine(screenshots, "browse.png")).Length > 10_000, "the screenshot is empty");
        output.WriteLine($"screenshots of the browse page: {Path.Combine(screenshots, "browse.png")}, {Path.Combine(screenshots, "package.png")}");
        var filtered = Chromium(hub.BaseAddress + "?trunk=xmod-nano&script=Grek", null);
        Assert.Contains("Ελληνικά", filtered);
        Assert.DoesNotContain(">Deutsch<", filtered); // German's row is filtered out (the search box's hint still names it)
        var page = Chromium(hub.BaseAddress + "packages/xmod-nano.lang-de", Path.Combine(screenshots, "package.png"));
        Assert.Contains("xmod-hub install lang-de --trunk xmod-nano", page);
        Assert.Contains("<table>", page); // the model card's Markdown table, rendered
    }

    /// <summary>Loads a page in headless Chromium; returns the DOM it built (and saves a screenshot).</summary>
    private static string Chromium(string url, string? screenshot)
    {
        using var profile = new TempDir("xmod-chromium-");
        string[] common = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic", $"--user-data-dir={profile.Path}"];
        if (screenshot is not null)
        {
            ProcessRunner.RunOk("chromium", [.. common, "--window-size=1280,900", $"--screenshot={screenshot}", url], timeout: TimeSpan.FromMinutes(2));
        }
        return ProcessRunner.RunOk("chromium", [.. common, "--dump-dom", url], timeout: TimeSpan.FromMinutes(2)).StdOut;
    }
}
