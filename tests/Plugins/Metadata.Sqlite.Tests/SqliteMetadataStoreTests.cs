using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using XMod.Packaging.Manifests;
using XModHub.Core;

namespace XModHub.Plugins.Metadata.Sqlite.Tests;

/// <summary>The SQLite index against the IMetadataStore contract: add once, owners, listing, downloads, search, trunks, keys.</summary>
public sealed class SqliteMetadataStoreTests : IAsyncLifetime
{
    private readonly TempDir _dir = new("xmod-sqlite-");
    private SqliteMetadataStore _store = null!;

    public async Task InitializeAsync()
    {
        _store = new SqliteMetadataStore(new SqliteMetadataOptions { ConnectionString = $"Data Source={_dir["hub.db"]};Pooling=False" });
        await _store.InitializeAsync(default);
        await _store.InitializeAsync(default); // idempotent: a restarted hub initialises again
    }

    public Task DisposeAsync()
    {
        _dir.Dispose();
        return Task.CompletedTask;
    }

    private static PackageRecord Record(string id, string version, string publisher = "alice", PackageKind kind = PackageKind.Language,
        string? script = "Latn", string? trunk = "xmod-nano", string? weights = null) => new()
    {
        Id = id, Version = version, Kind = kind, Published = DateTimeOffset.UnixEpoch, ManifestJson = "{}", Size = 1, Sha256 = new string('a', 64),
        Publisher = publisher, Script = script, TrunkId = trunk, WeightsSha256 = weights, EnglishName = id.Contains("de") ? "German" : "Other",
        IsPrerelease = version.Contains('-'),
    };

    private Task<AddResult> Add(PackageRecord r) => _store.AddAsync(r, _ => Task.CompletedTask, default);

    [Fact]
    public async Task AVersionIsAddedOnceAndTheFirstPublisherOwnsTheId()
    {
        Assert.Equal(AddResult.Added, await Add(Record("xmod-nano.lang-de", "1.0.0")));
        Assert.Equal(AddResult.AlreadyExists, await Add(Record("XMOD-NANO.LANG-DE", "1.0.0"))); // ids compare case-insensitively
        Assert.Equal(AddResult.Forbidden, await Add(Record("xmod-nano.lang-de", "1.1.0", publisher: "bob")));
        Assert.Equal(["alice"], await _store.GetOwnersAsync("xmod-nano.lang-de", default));
        Assert.True(await _store.AddOwnerAsync("xmod-nano.lang-de", "bob", default));
        Assert.False(await _store.AddOwnerAsync("xmod-nano.lang-de", "bob", default));
        Assert.Equal(AddResult.Added, await Add(Record("xmod-nano.lang-de", "1.1.0", publisher: "bob")));
        Assert.Equal(["1.0.0", "1.1.0"], (await _store.GetVersionsAsync("xmod-nano.lang-de", true, default)).Select(r => r.Version));
    }

    [Fact]
    public async Task AFailingBlobWriteLeavesNoRowAndNoOwner()
    {
        await Assert.ThrowsAsync<IOException>(() => _store.AddAsync(Record("xmod-nano.lang-fr", "1.0.0"), _ => throw new IOException("disk full"), default));
        Assert.Null(await _store.GetAsync("xmod-nano.lang-fr", "1.0.0", default));
        Assert.Empty(await _store.GetOwnersAsync("xmod-nano.lang-fr", default));
        Assert.Equal(AddResult.Added, await Add(Record("xmod-nano.lang-fr", "1.0.0", publisher: "carol")));
    }

    [Fact]
    public async Task ConcurrentAddsOfOneVersionGiveExactlyOneAdded()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => Add(Record("xmod-nano.lang-ru", "1.0.0")))));
        Assert.Equal(1, results.Count(r => r == AddResult.Added));
        Assert.Equal(7, results.Count(r => r == AddResult.AlreadyExists));
    }

    [Fact]
    public async Task ListingDownloadsAndSearch()
    {
        await Add(Record("xmod-nano.lang-de", "1.0.0"));
        await Add(Record("xmod-nano.lang-de", "2.0.0-beta"));
        await Add(Record("xmod-nano.lang-ru", "1.0.0", script: "Cyrl"));
        await Add(Record("other.lang-de", "1.0.0", trunk: "other"));
        await Add(Record("xmod-nano", "1.0.0", kind: PackageKind.Trunk, script: null, weights: new string('b', 64)));

        await _store.AddDownloadAsync("xmod-nano.lang-de", "1.0.0", default);
        await _store.AddDownloadAsync("XMOD-NANO.LANG-DE", "1.0.0", default);
        Assert.Equal(2, (await _store.GetAsync("xmod-nano.lang-de", "1.0.0", default))!.Downloads);

        var (total, page) = await _store.SearchAsync(new SearchQuery { Text = "german" }, default);
        Assert.Equal(2, total);
        Assert.Equal("2.0.0-beta", page.Single(p => p.Id == "xmod-nano.lang-de").Version); // the newest version of each id
        Assert.Equal(["1.0.0"], (await _store.SearchAsync(new SearchQuery { Text = "german", IncludePrerelease = false, Trunk = "xmod-nano" }, default)).Page.Select(p => p.Version));
        Assert.Equal(["xmod-nano.lang-ru"], (await _store.SearchAsync(new SearchQuery { Script = "Cyrl" }, default)).Page.Select(p => p.Id));
        Assert.Equal(["xmod-nano"], (await _store.SearchAsync(new SearchQuery { Kind = PackageKind.Trunk }, default)).Page.Select(p => p.Id));
        Assert.Equal(2, (await _store.SearchAsync(new SearchQuery { Take = 2 }, default)).Page.Count);
        // Search text is data, not SQL or a LIKE pattern.
        Assert.Equal(0, (await _store.SearchAsync(new SearchQuery { Text = "'; DROP TABLE packages; --" }, default)).Total);
        Assert.Equal(0, (await _store.SearchAsync(new SearchQuery { Text = "_" }, default)).Total);

        Assert.True(await _store.SetListedAsync("xmod-nano.lang-ru", "1.0.0", false, default));
        Assert.False(await _store.SetListedAsync("xmod-nano.lang-ru", "9.0.0", false, default));
        Assert.Equal(0, (await _store.SearchAsync(new SearchQuery { Script = "Cyrl" }, default)).Total);
        Assert.Empty(await _store.GetVersionsAsync("xmod-nano.lang-ru", false, default));
        Assert.Single(await _store.GetVersionsAsync("xmod-nano.lang-ru", true, default));

        Assert.Equal("xmod-nano", (await _store.FindTrunkAsync("XMod-Nano", new string('B', 64), default))!.Id);
        Assert.Null(await _store.FindTrunkAsync("xmod-nano", new string('c', 64), default));
        Assert.Null(await _store.FindTrunkAsync("xmod-nano.lang-de", new string('b', 64), default)); // only trunks
    }

    [Fact]
    public async Task ApiKeysRoundTripByHash()
    {
        var created = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
        await _store.AddApiKeyAsync(new ApiKeyRecord("h1", "alice", ["push", "unlist"], created, "laptop"), default);
        var key = await _store.FindApiKeyAsync("h1", default);
        Assert.Equal(("alice", "laptop", created), (key!.User, key.Name, key.Created));
        Assert.Equal(["push", "unlist"], key.Scopes);
        Assert.Null(await _store.FindApiKeyAsync("h2", default));
    }

    [Fact]
    public void RegistrationNeedsAConnectionString()
    {
        var empty = new ConfigurationBuilder().Build();
        var e = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddSqliteMetadata(empty));
        Assert.Contains("Database:ConnectionString is required", e.Message);
        var section = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionString"] = "Data Source=:memory:" }).Build();
        Assert.IsType<SqliteMetadataStore>(new ServiceCollection().AddSqliteMetadata(section).BuildServiceProvider().GetRequiredService<IMetadataStore>());
    }
}
