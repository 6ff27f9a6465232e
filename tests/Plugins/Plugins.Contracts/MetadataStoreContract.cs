using XMod.Packaging.Manifests;
using XModHub.Core;

namespace XModHub.Plugins.Contracts;

/// <summary>
/// What every metadata provider does (SQLite, PostgreSQL): a derived class supplies a fresh,
/// initialised, empty store per test; the assertions here are the contract. Search is asserted
/// through the core's <see cref="PackageSearch"/> (the store finds, the core ranks), so every store
/// answers a search alike.
/// </summary>
public abstract class MetadataStoreContract<TStore> where TStore : IPackageIndex, IOwnerStore, IApiKeyStore
{
    protected abstract Task<TStore> CreateAsync();

    private static Task<(int Total, IReadOnlyList<PackageRecord> Page)> SearchAsync(TStore store, SearchQuery query) =>
        new PackageSearch(store).SearchAsync(query, default);

    private static readonly DateTimeOffset s_published = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

    protected static PackageRecord Record(string id, string version, string publisher = "alice", PackageKind kind = PackageKind.Language,
        string description = "", string? english = null, string? bcp47 = null, bool listed = true, string? script = null, string? family = null) => new()
    {
        Id = id,
        Version = version,
        Kind = kind,
        Listed = listed,
        IsPrerelease = version.Contains('-', StringComparison.Ordinal),
        Published = s_published,
        Description = description,
        Authors = "tests",
        Tags = "xmod",
        ManifestJson = "{\"id\":\"" + id + "\"}",
        Readme = "# " + id,
        TrunkId = kind == PackageKind.Language ? "XMod.Trunk.Small" : null,
        EnglishName = english,
        Bcp47 = bcp47,
        LanguageCode = bcp47,
        Script = script,
        Family = family,
        Perplexity = 12.5,
        Size = 1234,
        Sha256 = new string('a', 64),
        Publisher = publisher,
        BlobPath = $"packages/{id.ToLowerInvariant()}/{version.ToLowerInvariant()}/{Guid.NewGuid():N}.nupkg",
    };

    private static Task<AddResult> AddAsync(TStore store, PackageRecord r) => store.AddAsync(r, default);

    [Fact]
    public async Task An_added_version_reads_back_field_for_field()
    {
        var store = await CreateAsync();
        var r = Record("XMod.Lang.Yo", "1.0.0", english: "Yoruba", bcp47: "yo", script: "Latn", family: "Niger-Congo") with
        {
            ConfigJson = "{\"d\":1}", WeightsSha256 = new string('b', 64), TrunkSha256 = new string('c', 64), Autonym = "Èdè Yorùbá", Iso6393 = "yor",
        };
        Assert.Equal(AddResult.Added, await AddAsync(store, r));
        var back = await store.GetAsync("xmod.lang.YO", "1.0.0", default);
        Assert.Equal(r, back);
        Assert.Null(await store.GetAsync("xmod.lang.yo", "2.0.0", default));
    }

    [Fact]
    public async Task A_duplicate_version_is_refused_whatever_its_case_and_the_first_row_stays()
    {
        var store = await CreateAsync();
        var first = Record("A.B", "1.0.0-Beta");
        await AddAsync(store, first);
        Assert.Equal(AddResult.AlreadyExists, await AddAsync(store, Record("a.b", "1.0.0-beta", "mallory")));
        Assert.Equal(first, await store.GetAsync("a.b", "1.0.0-BETA", default));
    }

    [Fact]
    public async Task A_row_without_a_blob_path_reads_back_without_one()
    {
        var store = await CreateAsync();
        await AddAsync(store, Record("legacy.pkg", "1.0.0") with { BlobPath = null });
        Assert.Null((await store.GetAsync("legacy.pkg", "1.0.0", default))!.BlobPath);
    }

    [Fact]
    public async Task The_first_claim_owns_an_id_and_of_racing_claims_one_wins()
    {
        var store = await CreateAsync();
        var claims = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => Task.Run(() => store.ClaimAsync("Race.Id", $"user{i}", default))));
        Assert.Equal(1, claims.Count(c => c == ClaimResult.Claimed));
        Assert.Equal(9, claims.Count(c => c == ClaimResult.OwnedByOthers));
        var owner = (await store.GetOwnersAsync("race.id", default)).Single();
        Assert.Equal(ClaimResult.AlreadyOwner, await store.ClaimAsync("RACE.ID", owner, default));
        // A claim no version came of is released: the next claimant takes the id.
        await store.ReleaseClaimAsync("race.id", owner, default);
        Assert.Empty(await store.GetOwnersAsync("race.id", default));
        Assert.Equal(ClaimResult.Claimed, await store.ClaimAsync("race.id", "carol", default));
    }

    [Fact]
    public async Task Owners_are_added_to_owned_ids_and_the_last_one_stays()
    {
        var store = await CreateAsync();
        Assert.False(await store.AddOwnerAsync("nobody.owns", "bob", default));
        Assert.Empty(await store.GetOwnersAsync("nobody.owns", default));
        Assert.Equal(ClaimResult.Claimed, await store.ClaimAsync("own.me", "alice", default));
        Assert.Equal(["alice"], await store.GetOwnersAsync("OWN.ME", default));
        Assert.Equal(ClaimResult.OwnedByOthers, await store.ClaimAsync("own.me", "mallory", default));
        Assert.True(await store.AddOwnerAsync("own.me", "bob", default));
        Assert.False(await store.AddOwnerAsync("own.me", "bob", default));
        Assert.Equal(["alice", "bob"], await store.GetOwnersAsync("own.me", default));
        Assert.Equal(RemoveOwnerResult.NotAnOwner, await store.RemoveOwnerAsync("own.me", "mallory", default));
        Assert.Equal(RemoveOwnerResult.Removed, await store.RemoveOwnerAsync("own.me", "alice", default));
        Assert.Equal(RemoveOwnerResult.LastOwner, await store.RemoveOwnerAsync("own.me", "bob", default));
        Assert.Equal(["bob"], await store.GetOwnersAsync("own.me", default));
    }

    [Fact]
    public async Task Racing_removals_never_leave_an_id_without_owners()
    {
        var store = await CreateAsync();
        await store.ClaimAsync("two.owners", "alice", default);
        await store.AddOwnerAsync("two.owners", "bob", default);
        var results = await Task.WhenAll(new[] { "alice", "bob" }.Select(o => Task.Run(() => store.RemoveOwnerAsync("two.owners", o, default))));
        Assert.Equal([RemoveOwnerResult.Removed, RemoveOwnerResult.LastOwner], results.Order());
        Assert.Single(await store.GetOwnersAsync("two.owners", default));
    }

    [Fact]
    public async Task Concurrent_adds_of_one_version_add_it_once()
    {
        var store = await CreateAsync();
        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => Task.Run(() => AddAsync(store, Record("race.pkg", "1.0.0")))));
        Assert.Equal(1, results.Count(r => r == AddResult.Added));
        Assert.Equal(9, results.Count(r => r == AddResult.AlreadyExists));
    }

    [Fact]
    public async Task The_index_finds_the_newest_listed_version_of_each_id_in_id_order()
    {
        var store = await CreateAsync();
        await AddAsync(store, Record("b.pkg", "1.9.0"));
        await AddAsync(store, Record("b.pkg", "1.10.0"));
        await AddAsync(store, Record("B.Pkg", "2.0.0-rc.1"));
        await AddAsync(store, Record("a.pkg", "1.0.0"));
        await AddAsync(store, Record("a.pkg", "3.0.0", listed: false));
        await AddAsync(store, Record("c_pkg", "1.0.0"));
        var all = await store.FindNewestAsync(new PackageFilter(), 0, 10, default);
        Assert.Equal(3, all.Total);
        Assert.Equal([("a.pkg", "1.0.0"), ("B.Pkg", "2.0.0-rc.1"), ("c_pkg", "1.0.0")], all.Hits.Select(h => (h.Id, h.Version)));
        var releases = await store.FindNewestAsync(new PackageFilter { IncludePrerelease = false }, 1, 1, default);
        Assert.Equal((3, "1.10.0"), (releases.Total, releases.Hits.Single().Version));
    }

    [Fact]
    public async Task Api_keys_are_found_by_hash_only()
    {
        var store = await CreateAsync();
        var key = new ApiKeyRecord("hash-1", "alice", ["push", "unlist"], s_published, "laptop");
        await store.AddApiKeyAsync(key, default);
        var back = await store.FindApiKeyAsync("hash-1", default);
        Assert.NotNull(back);
        Assert.Equal(("alice", "laptop", s_published), (back.User, back.Name, back.Created));
        Assert.Equal(["push", "unlist"], back.Scopes);
        Assert.Null(await store.FindApiKeyAsync("hash-2", default));
        Assert.Null(await store.FindApiKeyAsync("' OR 1=1 --", default));
    }

    [Fact]
    public async Task Versions_are_in_version_order_and_unlisting_hides_them()
    {
        var store = await CreateAsync();
        foreach (var v in new[] { "1.10.0", "1.2.0", "1.2.0-beta.2", "1.2.0-beta.10", "1.2.0-alpha" })
        {
            await AddAsync(store, Record("v.pkg", v));
        }
        Assert.Equal(["1.2.0-alpha", "1.2.0-beta.2", "1.2.0-beta.10", "1.2.0", "1.10.0"], (await store.GetVersionsAsync("V.PKG", false, default)).Select(r => r.Version));
        Assert.True(await store.SetListedAsync("v.pkg", "1.10.0", false, default));
        Assert.False(await store.SetListedAsync("v.pkg", "9.9.9", false, default));
        Assert.Equal(4, (await store.GetVersionsAsync("v.pkg", false, default)).Count);
        Assert.Equal(5, (await store.GetVersionsAsync("v.pkg", true, default)).Count);
    }

    [Fact]
    public async Task Versions_of_many_ids_come_in_one_read_in_any_case_and_hostile_ids_match_nothing()
    {
        var store = await CreateAsync();
        await AddAsync(store, Record("Many.A", "1.0.0"));
        await AddAsync(store, Record("many.a", "2.0.0"));
        await AddAsync(store, Record("many.b", "1.0.0"));
        await store.SetListedAsync("many.b", "1.0.0", false, default);
        await AddAsync(store, Record("many.c", "1.0.0"));
        var ids = new[] { "MANY.A", "many.b", "' OR 1=1 --", "many.a" }.Concat(Enumerable.Range(0, 1200).Select(i => $"absent.{i}")).ToList();
        var rows = await store.GetVersionsOfAsync(ids, default);
        Assert.Equal(["many.a 1.0.0", "many.a 2.0.0", "many.b 1.0.0"], rows.Select(r => $"{r.Id.ToLowerInvariant()} {r.Version}").Order(StringComparer.Ordinal));
        Assert.Contains(rows, r => !r.Listed); // unlisted versions too: a browse table counts their downloads
        Assert.Empty(await store.GetVersionsOfAsync([], default));
    }

    [Fact]
    public async Task Search_returns_the_newest_listed_version_of_each_match_ranked()
    {
        var store = await CreateAsync();
        await AddAsync(store, Record("XMod.Lang.Yo", "1.0.0", english: "Yoruba", bcp47: "yo", script: "Latn", family: "Niger-Congo"));
        await AddAsync(store, Record("XMod.Lang.Yo", "1.10.0", english: "Yoruba", bcp47: "yo", script: "Latn", family: "Niger-Congo"));
        await AddAsync(store, Record("XMod.Lang.Yo", "2.0.0-rc.1", english: "Yoruba", bcp47: "yo", script: "Latn", family: "Niger-Congo"));
        await AddAsync(store, Record("XMod.Lang.Yo", "1.9.0", english: "Yoruba", bcp47: "yo", script: "Latn", family: "Niger-Congo"));
        await AddAsync(store, Record("Other.Yoruba.Tools", "1.0.0", description: "tools for yo text"));
        await AddAsync(store, Record("XMod.Lang.De", "1.0.0", english: "German", bcp47: "de", script: "Latn", family: "Indo-European"));
        await AddAsync(store, Record("XMod.Trunk.Small", "1.0.0", kind: PackageKind.Trunk, description: "the trunk"));
        await AddAsync(store, Record("Hidden.Yo", "1.0.0", description: "yo", listed: false));

        var (total, page) = await SearchAsync(store, new SearchQuery { Text = " YO " });
        Assert.Equal(2, total);
        // Last id segment equals the text: ranked first; its newest version, pre-releases included by default.
        Assert.Equal(["XMod.Lang.Yo", "Other.Yoruba.Tools"], page.Select(r => r.Id));
        Assert.Equal("2.0.0-rc.1", page[0].Version);
        Assert.Equal("1.10.0", (await SearchAsync(store, new SearchQuery { Text = "yo", IncludePrerelease = false })).Page[0].Version);

        Assert.Equal(["XMod.Lang.De"], (await SearchAsync(store, new SearchQuery { Text = "german" })).Page.Select(r => r.Id));
        Assert.Equal(["XMod.Trunk.Small"], (await SearchAsync(store, new SearchQuery { Kind = PackageKind.Trunk })).Page.Select(r => r.Id));
        Assert.Equal(2, (await SearchAsync(store, new SearchQuery { Script = "Latn" })).Total);
        Assert.Equal(["XMod.Lang.De"], (await SearchAsync(store, new SearchQuery { Family = "indo" })).Page.Select(r => r.Id));
        Assert.Equal(3, (await SearchAsync(store, new SearchQuery { Trunk = "xmod.trunk.SMALL" })).Total);
        // Nothing listed matches; the unlisted package is never found.
        Assert.Equal(0, (await SearchAsync(store, new SearchQuery { Text = "hidden" })).Total);
    }

    [Fact]
    public async Task Search_pages_and_counts_every_match()
    {
        var store = await CreateAsync();
        for (var i = 0; i < 25; i++)
        {
            await AddAsync(store, Record($"Page.P{i:D2}", "1.0.0"));
            await AddAsync(store, Record($"Page.P{i:D2}", "1.1.0"));
        }
        var (total, first) = await SearchAsync(store, new SearchQuery { Text = "page", Take = 10 });
        Assert.Equal(25, total);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"Page.P{i:D2}"), first.Select(r => r.Id));
        Assert.All(first, r => Assert.Equal("1.1.0", r.Version));
        var (total3, third) = await SearchAsync(store, new SearchQuery { Text = "page", Skip = 20, Take = 10 });
        Assert.Equal((25, 5), (total3, third.Count));
        var (beyond, none) = await SearchAsync(store, new SearchQuery { Text = "page", Skip = 100, Take = 10 });
        Assert.Equal((25, 0), (beyond, none.Count));
    }

    [Theory]
    [InlineData("%")]
    [InlineData("_")]
    [InlineData("' OR ''='")]
    [InlineData("\\")]
    [InlineData("'; DROP TABLE packages; --")]
    public async Task Search_text_is_literal_not_a_pattern(string hostile)
    {
        var store = await CreateAsync();
        await AddAsync(store, Record("Plain.Pkg", "1.0.0", description: "nothing special"));
        Assert.Equal(0, (await SearchAsync(store, new SearchQuery { Text = hostile })).Total);
        await AddAsync(store, Record("Odd.Pkg", "1.0.0", description: "has " + hostile + " in it"));
        Assert.Equal(["Odd.Pkg"], (await SearchAsync(store, new SearchQuery { Text = hostile })).Page.Select(r => r.Id));
    }

    [Fact]
    public async Task Downloads_count_per_version()
    {
        var store = await CreateAsync();
        await AddAsync(store, Record("dl.pkg", "1.0.0"));
        await AddAsync(store, Record("dl.pkg", "2.0.0"));
        await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => store.AddDownloadAsync("DL.PKG", "1.0.0", default)));
        await store.AddDownloadAsync("dl.pkg", "9.9.9", default);
        Assert.Equal(5, (await store.GetAsync("dl.pkg", "1.0.0", default))!.Downloads);
        Assert.Equal(0, (await store.GetAsync("dl.pkg", "2.0.0", default))!.Downloads);
    }

    [Fact]
    public async Task A_trunk_is_found_by_id_and_weights_hash()
    {
        var store = await CreateAsync();
        var sha = new string('d', 64);
        await AddAsync(store, Record("XMod.Trunk.Small", "1.0.0", kind: PackageKind.Trunk) with { WeightsSha256 = sha, ConfigJson = "{}" });
        Assert.Equal("1.0.0", (await store.FindTrunkAsync("xmod.trunk.small", sha.ToUpperInvariant(), default))?.Version);
        Assert.Null(await store.FindTrunkAsync("xmod.trunk.small", new string('e', 64), default));
        // Only trunks: a language package carrying the same hash is not one.
        await AddAsync(store, Record("XMod.Lang.Sw", "1.0.0", bcp47: "sw") with { WeightsSha256 = sha });
        Assert.Null(await store.FindTrunkAsync("xmod.lang.sw", sha, default));
    }

    [Fact]
    public async Task Unlisting_takes_a_version_out_of_search_and_filters_combine()
    {
        var store = await CreateAsync();
        await AddAsync(store, Record("XMod.Lang.Ru", "1.0.0", english: "Russian", script: "Cyrl"));
        await AddAsync(store, Record("XMod.Lang.De", "1.0.0", english: "German", script: "Latn"));
        await AddAsync(store, Record("XMod.Lang.De", "2.0.0-beta", english: "German", script: "Latn"));
        await AddAsync(store, Record("Other.Lang.De", "1.0.0", english: "German", script: "Latn") with { TrunkId = "Other.Trunk" });
        Assert.Equal(["XMod.Lang.Ru"], (await SearchAsync(store, new SearchQuery { Script = "Cyrl" })).Page.Select(r => r.Id));
        Assert.Equal(2, (await SearchAsync(store, new SearchQuery { Take = 2 })).Page.Count);
        var german = await SearchAsync(store, new SearchQuery { Text = "german", IncludePrerelease = false, Trunk = "XMod.Trunk.Small" });
        Assert.Equal([("XMod.Lang.De", "1.0.0")], german.Page.Select(r => (r.Id, r.Version)));

        Assert.True(await store.SetListedAsync("xmod.lang.ru", "1.0.0", false, default));
        Assert.Equal(0, (await SearchAsync(store, new SearchQuery { Script = "Cyrl" })).Total);
        Assert.Empty(await store.GetVersionsAsync("xmod.lang.ru", false, default));
        Assert.Single(await store.GetVersionsAsync("xmod.lang.ru", true, default));
        // Listing it again brings it back.
        Assert.True(await store.SetListedAsync("xmod.lang.ru", "1.0.0", true, default));
        Assert.Equal(1, (await SearchAsync(store, new SearchQuery { Script = "Cyrl" })).Total);
    }
}
