namespace XModHub.Core.Tests;

public sealed class ApiKeyServiceTests
{
    [Fact]
    public async Task KeysAreRandomShownOnceAndStoredOnlyAsTheirHash()
    {
        var store = new InMemoryMetadataStore();
        var keys = new ApiKeyService(store);
        var a = await keys.CreateAsync("alice", [ApiKeyService.Push], "laptop", default);
        var b = await keys.CreateAsync("alice", [ApiKeyService.Push], "ci", default);
        Assert.Matches("^xmh_[A-Za-z0-9_-]{43}$", a);
        Assert.NotEqual(a, b);
        Assert.Equal(new[] { ApiKeyService.Hash(a), ApiKeyService.Hash(b) }.Order(StringComparer.Ordinal), store.Keys.Select(k => k.Hash).Order(StringComparer.Ordinal));

        var record = await keys.AuthenticateAsync(a, default);
        Assert.Equal(("alice", "laptop"), (record!.User, record.Name));
        Assert.Equal([ApiKeyService.Push], record.Scopes);
        Assert.Null(await keys.AuthenticateAsync(null, default));
        Assert.Null(await keys.AuthenticateAsync("", default));
        Assert.Null(await keys.AuthenticateAsync(a + "x", default));
        Assert.Null(await keys.AuthenticateAsync(a.ToUpperInvariant(), default));
    }

    [Fact]
    public void TheHashIsSha256InLowerCaseHex() =>
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ApiKeyService.Hash("abc"));
}
