using XMod.Packaging.Nupkg;

namespace XModHub.Core.Tests;

/// <summary>The hub's policy, over in-memory providers: who may push and unlist, limits, conflicts, downloads.</summary>
public sealed class PackageServiceTests : IDisposable
{
    private readonly TempDir _dir = new("xmod-core-");
    private readonly InMemoryMetadataStore _store = new();
    private readonly InMemoryBlobStorage _blobs = new();
    private readonly ApiKeyService _keys;
    private readonly PackageService _service;
    private readonly List<string> _packages;

    public PackageServiceTests()
    {
        _keys = new ApiKeyService(_store);
        _service = new PackageService(_store, _store, _blobs, _keys, new PackageLimits { MaxPackageBytes = 3_000_000 }, new PushOptions(Path.Combine(_dir.Path, "tmp")));
        _packages = TestPackages.Build(_dir.Path, "xmod-nano", "1.0.0", 1, "de_DE");
    }

    public void Dispose() => _dir.Dispose();

    private Task<string> Key(string user, params string[] scopes) => _keys.CreateAsync(user, scopes.Length == 0 ? [ApiKeyService.Push] : scopes, "test", default);

    private async Task<PushOutcome> Push(string nupkg, string? key)
    {
        await using var upload = File.OpenRead(nupkg);
        return await _service.PushAsync(upload, key, default);
    }

    [Fact]
    public async Task PushingNeedsAValidKeyWithThePushScope()
    {
        var none = await Push(_packages[0], null);
        Assert.Equal((PushStatus.Unauthorized, "an API key is required (X-NuGet-ApiKey)"), (none.Status, none.Message));
        Assert.Equal(PushStatus.Unauthorized, (await Push(_packages[0], "xmh_not-a-key")).Status);
        Assert.Equal(PushStatus.Unauthorized, (await Push(_packages[0], "")).Status);
        var reader = await Push(_packages[0], await Key("carol", ApiKeyService.Unlist));
        Assert.Equal((PushStatus.Forbidden, "the API key may not push packages"), (reader.Status, reader.Message));
        Assert.Empty(_blobs.Paths);
        Assert.Equal(PushStatus.Created, (await Push(_packages[0], await Key("root", ApiKeyService.Admin))).Status);
    }

    [Fact]
    public async Task APushStoresTheBlobUnderAPushUniqueLowerCasePathAndAVersionOnlyOnce()
    {
        var alice = await Key("alice");
        var created = await Push(_packages[0], alice);
        Assert.Equal(PushStatus.Created, created.Status);
        Assert.Equal("xmod-nano 1.0.0 published", created.Message);
        Assert.Equal("alice", created.Package!.Publisher);
        Assert.Equal([created.Package.BlobPath!], _blobs.Paths);
        Assert.Matches("^packages/xmod-nano/1.0.0/xmod-nano.1.0.0.[0-9a-f]{32}.nupkg$", created.Package.BlobPath);
        Assert.Equal("packages/xmod-nano/1.0.0/xmod-nano.1.0.0.nupkg", PackageService.LegacyBlobPath("XMod-Nano", "1.0.0"));

        var again = await Push(_packages[0], alice);
        Assert.Equal(PushStatus.Conflict, again.Status);
        Assert.Contains("never overwritten", again.Message);

        // The language package finds its trunk through the store, by id and weights sha256.
        Assert.Equal(PushStatus.Created, (await Push(_packages[1], alice)).Status);
        Assert.Equal(2, _blobs.Paths.Count);
    }

    [Fact]
    public async Task AnotherUsersIdIsForbidden()
    {
        Assert.Equal(PushStatus.Created, (await Push(_packages[0], await Key("alice"))).Status);
        var v2 = TestPackages.Build(_dir["v2"], "xmod-nano", "1.1.0", 1, "de_DE");
        var taken = await Push(v2[0], await Key("bob"));
        Assert.Equal(PushStatus.Forbidden, taken.Status);
        Assert.Contains("belongs to other owners", taken.Message);
        Assert.Single(_blobs.Paths);
    }

    [Fact]
    public async Task InvalidOrOversizedPackagesAreRefusedBeforeAnythingIsStored()
    {
        var alice = await Key("alice");
        var big = _dir["big.nupkg"];
        File.WriteAllBytes(big, new byte[3_000_001]);
        var tooBig = await Push(big, alice);
        Assert.Equal((PushStatus.TooLarge, PackageService.TooLargeMessage(3_000_000)), (tooBig.Status, tooBig.Message));
        var hostile = _dir["hostile.nupkg"];
        File.WriteAllBytes(hostile, HostilePackages.Build("path-traversal", _packages[0]));
        var refused = await Push(hostile, alice);
        Assert.Equal(PushStatus.Invalid, refused.Status);
        Assert.Contains("unsafe path", refused.Message);
        // A language package whose trunk is not here.
        Assert.Contains("publish the trunk first", (await Push(_packages[1], alice)).Message);
        Assert.Empty(_blobs.Paths);
    }

    [Fact]
    public async Task AFailedBlobWriteAddsNoVersion()
    {
        var alice = await Key("alice");
        _blobs.Failing = true;
        // A full disk is an expected outcome (507 with a message), not an exception, and stores nothing.
        var full = await Push(_packages[0], alice);
        Assert.Equal(PushStatus.InsufficientStorage, full.Status);
        Assert.Null(await _store.GetAsync("xmod-nano", "1.0.0", default));
        Assert.Empty(_blobs.Paths);
        _blobs.Failing = false;
        Assert.Equal(PushStatus.Created, (await Push(_packages[0], alice)).Status);
    }

    [Fact]
    public async Task UnlistingIsForOwnersAndAdmins()
    {
        var alice = await Key("alice");
        await Push(_packages[0], alice);
        Assert.Equal(ListingResult.Unauthorized, await _service.SetListedAsync("xmod-nano", "1.0.0", false, null, default));
        Assert.Equal(ListingResult.Unauthorized, await _service.SetListedAsync("xmod-nano", "1.0.0", false, "xmh_wrong", default));
        Assert.Equal(ListingResult.NotFound, await _service.SetListedAsync("xmod-nano", "9.9.9", false, alice, default));
        Assert.Equal(ListingResult.Forbidden, await _service.SetListedAsync("xmod-nano", "1.0.0", false, await Key("mallory"), default));
        // An owner's key without push or unlist scope is not enough.
        Assert.Equal(ListingResult.Forbidden, await _service.SetListedAsync("xmod-nano", "1.0.0", false, await Key("alice", "read"), default));
        Assert.Equal(ListingResult.Done, await _service.SetListedAsync("xmod-nano", "1.0", false, await Key("alice", ApiKeyService.Unlist), default)); // 1.0 is 1.0.0
        Assert.False((await _store.GetAsync("xmod-nano", "1.0.0", default))!.Listed);
        Assert.Equal(ListingResult.Done, await _service.SetListedAsync("xmod-nano", "1.0.0", true, await Key("root", ApiKeyService.Admin), default));
        Assert.True((await _store.GetAsync("xmod-nano", "1.0.0", default))!.Listed);
    }

    [Fact]
    public async Task DownloadsReturnTheStoredBytesAndAreCounted()
    {
        await Push(_packages[0], await Key("alice"));
        Assert.Null(await _service.DownloadAsync("xmod-nano", "2.0.0", default));
        await using (var s = (await _service.DownloadAsync("XMOD-NANO", "1.0.0", default))!)
        {
            using var ms = new MemoryStream();
            await s.CopyToAsync(ms);
            Assert.Equal(File.ReadAllBytes(_packages[0]), ms.ToArray());
        }
        await (await _service.DownloadAsync("xmod-nano", "1.0.0", default))!.DisposeAsync();
        Assert.Equal(2, (await _store.GetAsync("xmod-nano", "1.0.0", default))!.Downloads);
    }

    [Theory]
    [InlineData("1.0", "1.0.0")]
    [InlineData("01.2.3", "1.2.3")]
    [InlineData("1.0.0-Beta", "1.0.0-Beta")]
    [InlineData("not a version", "not a version")]
    public void VersionsAreNormalised(string version, string expected) => Assert.Equal(expected, PackageService.Normalize(version));
}
