using XModHub.Client.Cache;
using XModHub.Client.Feeds;
using XModHub.Client.Packages;

namespace XModHub.Client.Tests;

public sealed class InstallResolutionTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-resolve-").FullName;
    private HubHost _hub = null!;
    private FeedSource _source = null!;

    public async Task InitializeAsync()
    {
        _hub = await HubHost.StartAsync();
        _source = new FeedSource("hub", _hub.FeedUrl, await _hub.KeyAsync("maintainer"));
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        TempDir.Delete(_dir);
    }

    /// <summary>A trunk version (weights from a seed) and its languages, packed.</summary>
    private List<string> Packages(string version, int seed, params string[] languages) =>
        TestPackages.Build(Path.Combine(_dir, version), "tr", version, seed, languages);

    private async Task PushAsync(IEnumerable<string> packages)
    {
        var feed = new FeedClient(new HttpClient(), _source);
        foreach (var p in packages)
        {
            await feed.PushAsync(p, default);
        }
    }

    [Fact]
    public async Task InstallPicksTheNewestVersionThatFitsTheInstalledTrunk()
    {
        await PushAsync(Packages("1.0.0", 1, "de_DE", "ru_RU"));
        await PushAsync(Packages("2.0.0", 2, "de_DE")); // a retrained trunk: its modules fit only it
        var reporter = new BufferReporter();
        var user = new PackageManager(new ClientConfig { Sources = [_source with { ApiKey = null }] }, new PackageCache(Path.Combine(_dir, "user")), new HttpClient(), reporter);
        await user.InstallAsync("tr@1.0.0", null, default);
        var de = await user.InstallAsync("lang-de", "tr", default);
        Assert.Equal("1.0.0", de.Version);
        Assert.Contains("tr.lang-de 2.0.0 does not fit the installed trunk; trying an older version", reporter.ToString());

        // Pinned to a version that does not fit: refused with the reason, nothing installed.
        var e = await Assert.ThrowsAsync<TrunkMismatchException>(() => user.InstallAsync("lang-de@2.0.0", "tr", default));
        Assert.Contains("was built for trunk tr", e.Message);
        Assert.Null(user.Cache.Find("tr.lang-de", "2.0.0"));

        // Search filters go to the hub.
        var cyrillic = await user.SearchAsync("", "XModLanguage", 50, default, new Dictionary<string, string> { ["script"] = "Cyrl" });
        Assert.Equal(["tr.lang-ru"], cyrillic.Select(h => h.Id));
    }
}
