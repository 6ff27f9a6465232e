using Microsoft.Extensions.Logging;
using NuGet.Versioning;
using XMod;
using XModHub.Client.Feeds;
using XModHub.Core;
using XModHub.Server;

namespace XModHub.Client.Tests;

/// <summary>Issue 10, items 8 and 10: keys and owners through the client (what the CLI verbs call), revocation and removal included.</summary>
public sealed class SecurityKeysOwnersTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-keys-owners-").FullName;
    private RunningHub _hub = null!;

    public async Task InitializeAsync() => _hub = await HubApp.StartAsync(Path.Combine(_dir, "hub"), configure: b => b.Logging.ClearProviders());

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private FeedClient Feed(string? key) => new(new HttpClient(), new FeedSource("hub", _hub.FeedUrl, key));

    private async Task<string> CreateKeyAsync(FeedClient admin, string user, params string[] scopes) =>
        (await admin.ApiAsync(HttpMethod.Post, "keys", new { user, scopes }, "create a key", default)).GetProperty("key").GetString()!;

    private static List<string> Owners(System.Text.Json.JsonElement e) => e.GetProperty("owners").EnumerateArray().Select(o => o.GetString()!).ToList();

    [Fact]
    public async Task Item10_KeysOwnersAndListingThroughTheClient()
    {
        var admin = Feed(await _hub.Service<ApiKeyService>().CreateAsync("root", [ApiKeyService.Admin], "bootstrap", default));
        var aliceKey = await CreateKeyAsync(admin, "alice", "push");
        var alice = Feed(aliceKey);
        var (trunk, _) = SecurityClientTests.Packages(_dir, "1.0.0", 1);
        await alice.PushAsync(trunk, default);

        // Keys: an admin sees every key, alice her own; neither sees a key itself.
        var all = (await admin.ApiAsync(HttpMethod.Get, "keys", null, "list keys", default)).GetProperty("keys").EnumerateArray().ToList();
        Assert.Equal(["root", "alice"], all.Select(k => k.GetProperty("user").GetString()));
        var own = (await alice.ApiAsync(HttpMethod.Get, "keys", null, "list keys", default)).GetProperty("keys").EnumerateArray().ToList();
        Assert.Equal(["alice"], own.Select(k => k.GetProperty("user").GetString()));
        Assert.DoesNotContain(aliceKey, (await admin.ApiAsync(HttpMethod.Get, "keys", null, "list keys", default)).ToString());

        // Owners: add, list, remove; the last owner stays.
        Assert.Equal(["alice", "bob"], Owners(await alice.ApiAsync(HttpMethod.Post, "packages/tr/owners", new { owner = "bob" }, "add bob", default)));
        Assert.Equal(["alice"], Owners(await alice.ApiAsync(HttpMethod.Delete, "packages/tr/owners/bob", null, "remove bob", default)));
        var last = await Assert.ThrowsAsync<XModException>(() => alice.ApiAsync(HttpMethod.Delete, "packages/tr/owners/alice", null, "remove alice", default));
        Assert.Contains("last owner", last.Message);

        // Item 8: an owner's unlist-only key may unlist, not hand the package out.
        var unlistOnly = Feed(await CreateKeyAsync(admin, "alice", "unlist"));
        var forbidden = await Assert.ThrowsAsync<XModException>(() => unlistOnly.ApiAsync(HttpMethod.Post, "packages/tr/owners", new { owner = "mallory" }, "add mallory", default));
        Assert.Contains("403", forbidden.Message);
        await unlistOnly.SetListedAsync("tr", NuGetVersion.Parse("1.0.0"), listed: false, default);
        Assert.Contains(NuGetVersion.Parse("1.0.0"), await alice.UnlistedVersionsAsync("tr", default));
        await alice.SetListedAsync("tr", NuGetVersion.Parse("1.0.0"), listed: true, default);
        Assert.Empty(await alice.UnlistedVersionsAsync("tr", default));

        // Revocation: the key stops working at once.
        var aliceId = own.Single().GetProperty("id").GetString()!;
        await admin.ApiAsync(HttpMethod.Delete, $"keys/{aliceId}", null, "revoke", default);
        var revoked = await Assert.ThrowsAsync<XModException>(() => alice.ApiAsync(HttpMethod.Get, "keys", null, "list keys", default));
        Assert.Contains("401", revoked.Message);
    }
}
