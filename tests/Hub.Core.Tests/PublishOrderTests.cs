using XMod.Packaging.Manifests;
using XMod.Packaging.Nupkg;

namespace XModHub.Core.Tests;

/// <summary>
/// The write order of a push (blob first under a push-unique name, row second, a lost race deletes
/// its own blob), the orphan sweeper, and search ranking: the core's policy over in-memory stores.
/// </summary>
public sealed class PublishOrderTests : IDisposable
{
    private readonly TempDir _dir = new("xmod-core-order-");
    private readonly InMemoryMetadataStore _store = new();
    private readonly InMemoryBlobStorage _blobs = new();
    private readonly ApiKeyService _keys;
    private readonly PackageService _service;
    private readonly List<string> _packages;

    public PublishOrderTests()
    {
        _keys = new ApiKeyService(_store);
        _service = new PackageService(_store, _store, _blobs, _keys, new PackageLimits { MaxPackageBytes = 3_000_000 }, new PushOptions(Path.Combine(_dir.Path, "tmp")));
        _packages = TestPackages.Build(_dir.Path, "xmod-nano", "1.0.0", 1, "de_DE");
    }

    public void Dispose() => _dir.Dispose();

    private async Task<PushOutcome> Push(string nupkg, string key)
    {
        await using var upload = File.OpenRead(nupkg);
        return await _service.PushAsync(upload, key, default);
    }

    [Fact]
    public async Task Racing_pushes_of_one_version_give_one_version_and_leave_one_blob()
    {
        var key = await _keys.CreateAsync("alice", [ApiKeyService.Push], "t", default);
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => Task.Run(() => Push(_packages[0], key))));
        Assert.Equal(1, outcomes.Count(o => o.Status == PushStatus.Created));
        Assert.Equal(11, outcomes.Count(o => o.Status == PushStatus.Conflict));
        var row = await _store.GetAsync("xmod-nano", "1.0.0", default);
        // Every loser deleted the blob it wrote; the one left is the row's.
        Assert.Equal([row!.BlobPath!], _blobs.Paths);
    }

    [Fact]
    public async Task An_index_that_fails_after_the_blob_leaves_no_blob_and_no_claim()
    {
        var key = await _keys.CreateAsync("alice", [ApiKeyService.Push], "t", default);
        _store.FailingAdds = true;
        await Assert.ThrowsAsync<InvalidOperationException>(() => Push(_packages[0], key));
        Assert.Empty(_blobs.Paths);
        Assert.Empty(await _store.GetOwnersAsync("xmod-nano", default));
        _store.FailingAdds = false;
        // Someone else may take the id: the failed push's claim did not survive it.
        Assert.Equal(PushStatus.Created, (await Push(_packages[0], await _keys.CreateAsync("bob", [ApiKeyService.Push], "t", default))).Status);
        Assert.Equal(["bob"], await _store.GetOwnersAsync("xmod-nano", default));
    }

    [Fact]
    public async Task A_new_id_is_claimed_before_anything_is_stored()
    {
        Assert.Equal(ClaimResult.Claimed, await _store.ClaimAsync("xmod-nano", "carol", default));
        var outcome = await Push(_packages[0], await _keys.CreateAsync("alice", [ApiKeyService.Push], "t", default));
        Assert.Equal((PushStatus.Forbidden, "xmod-nano belongs to other owners; ask one of them to add you"), (outcome.Status, outcome.Message));
        Assert.Empty(_blobs.Paths);
    }

    [Fact]
    public async Task The_sweeper_removes_old_blobs_without_rows_and_keeps_the_rest()
    {
        var created = await Push(_packages[0], await _keys.CreateAsync("alice", [ApiKeyService.Push], "t", default));
        var kept = created.Package!.BlobPath!;
        var oldOrphan = PackageService.UniqueBlobPath("xmod-nano", "1.0.0");
        var youngOrphan = PackageService.UniqueBlobPath("xmod-nano", "2.0.0");
        var halfCopy = "packages/xmod-nano/1.0.0/xmod-nano.1.0.0.nupkg.1234.tmp";
        foreach (var path in new[] { oldOrphan, youngOrphan, halfCopy })
        {
            await _blobs.PutAsync(path, new MemoryStream([1, 2, 3]), overwrite: false, default);
        }
        _blobs.Age(oldOrphan, TimeSpan.FromHours(2));
        _blobs.Age(halfCopy, TimeSpan.FromHours(2));
        _blobs.Age(kept, TimeSpan.FromHours(2));
        var sweeper = new OrphanSweeper(_store, _blobs);
        Assert.Equal(2, await sweeper.SweepAsync(TimeSpan.FromHours(1), default));
        // A young blob may be a push in flight on another instance: it stays until it is old.
        Assert.Equal(new[] { kept, youngOrphan }.Order(StringComparer.Ordinal), _blobs.Paths.Order(StringComparer.Ordinal));
        Assert.Equal(1, await sweeper.SweepAsync(TimeSpan.Zero, default));
        Assert.Equal([kept], _blobs.Paths);
    }

    [Fact]
    public async Task A_version_stored_before_unique_names_is_served_from_its_legacy_path_and_not_swept()
    {
        var legacy = PackageService.LegacyBlobPath("old.pkg", "1.0.0");
        await _blobs.PutAsync(legacy, new MemoryStream([7, 7]), overwrite: false, default);
        await _store.AddAsync(new PackageRecord
        {
            Id = "old.pkg", Version = "1.0.0", Kind = PackageKind.Language, Published = DateTimeOffset.UnixEpoch, ManifestJson = "{}",
            Size = 2, Sha256 = new string('a', 64), Publisher = "alice",
        }, default);
        Assert.Equal(0, await new OrphanSweeper(_store, _blobs).SweepAsync(TimeSpan.Zero, default));
        await using var s = await _service.DownloadAsync("old.pkg", "1.0.0", default);
        Assert.Equal(2, s!.Length);
    }

    [Fact]
    public void Ranking_puts_the_id_then_the_language_then_the_id_substring_first()
    {
        SearchHit[] hits =
        [
            new("b.other", "1.0.0", null, "description match only"),
            new("a.yoruba-tools", "1.0.0", null, null),
            new("x.lang", "1.0.0", "yo", "Yoruba"),
            new("XMod.Lang.Yo", "1.0.0", "yo", "Yoruba"),
            new("c.yoruba", "1.0.0", null, "Yoruba"),
        ];
        Assert.Equal(["XMod.Lang.Yo", "x.lang", "a.yoruba-tools", "c.yoruba", "b.other"], PackageSearch.Rank(hits, "yo").Select(h => h.Id));
        Assert.Equal(["c.yoruba", "x.lang", "XMod.Lang.Yo", "a.yoruba-tools", "b.other"], PackageSearch.Rank(hits, " YORUBA ").Select(h => h.Id));
    }
}
