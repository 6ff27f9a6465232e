using System.Net;
using System.Text;

namespace XModHub.Server.Tests;

/// <summary>A hub with small limits and the nano trunk pushed, shared by the rejection tests (a refused push stores nothing).</summary>
public sealed class RejectingHub : IAsyncLifetime
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("xmod-hub-reject-").FullName;
    public HubHost Hub { get; private set; } = null!;
    public string Key { get; private set; } = "";
    public List<string> Packages { get; private set; } = [];

    public async Task InitializeAsync()
    {
        Hub = await HubHost.StartAsync(new() { ["Hub:MaxPackageBytes"] = "3000000", ["Hub:MaxExpandedBytes"] = "6000000" });
        Key = await Hub.KeyAsync("alice");
        Packages = TestPackages.Build(Dir, "xmod-nano", "1.0.0", 1, "de_DE");
        Assert.Equal(HttpStatusCode.Created, (await Hub.PushAsync(File.ReadAllBytes(Packages[0]), Key)).StatusCode);
    }

    public async Task DisposeAsync()
    {
        await Hub.DisposeAsync();
        TempDir.Delete(Dir);
    }
}

/// <summary>Each rejection reason: a 400 naming it, and nothing stored.</summary>
public sealed class PushValidationTests(RejectingHub fixture) : IClassFixture<RejectingHub>
{
    private readonly string _dir = fixture.Dir;
    private readonly HubHost _hub = fixture.Hub;
    private readonly string _key = fixture.Key;
    private readonly List<string> _packages = fixture.Packages;

    private async Task Rejected(byte[] package, string expected)
    {
        var before = _hub.StoredFiles();
        var searchBefore = await _hub.Client.GetStringAsync("v3/search?take=100");
        var response = await _hub.PushAsync(package, _key);
        var message = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(message.Contains(expected, StringComparison.Ordinal), $"expected \"{expected}\" in: {message}");
        Assert.Equal(before, _hub.StoredFiles());
        Assert.Equal(searchBefore, await _hub.Client.GetStringAsync("v3/search?take=100"));
    }

    /// <summary>Every hostile package of the shared catalogue (format rules the validator enforces): refused by the hub too.</summary>
    [Theory]
    [MemberData(nameof(HostilePackages.Names), MemberType = typeof(HostilePackages))]
    public async Task EveryHostilePackageIsRefused(string name) =>
        await Rejected(HostilePackages.Build(name, _packages[1]), HostilePackages.Expected[name]);

    [Fact]
    public async Task NotAZip() => await Rejected(Encoding.UTF8.GetBytes("this is not a package"), "not a valid zip archive");

    [Fact]
    public async Task SizeLimit()
    {
        var response = await _hub.PushAsync(new byte[3_500_000], _key);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("exceeds this hub's limit of 3,000,000 bytes (setting Hub:MaxPackageBytes", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ExpandedSizeLimit()
    {
        var entries = TestPackages.Entries(_packages[1]);
        entries["xmod/padding.bin"] = new byte[7_000_000]; // compresses to almost nothing
        await Rejected(TestPackages.Zip(entries), "expands to more than 6,000,000 bytes"); // the hub's configured limit reaches the validator
    }

    [Fact]
    public async Task ShapesInconsistentWithTheTrunk()
    {
        // A module built for a wider trunk (hidden 64) claiming to fit the nano trunk.
        var wide = TestPackages.ModelDir(_dir, TestPackages.Config("de_DE") with { HiddenSize = 64, IntermediateSize = 128, NumHeads = 2 }, 9);
        var module = File.ReadAllBytes(Path.Combine(wide, "modules", "de_DE.safetensors"));
        await Rejected(HostilePackages.Edited(TestPackages.Entries(_packages[1]), "xmod/module.safetensors", _ => module), "adapter_modules.de_DE.dense1.weight has shape [32, 64]; the trunk's config requires [16, 32]");
    }

    [Fact]
    public async Task TrunkNotOnTheHub()
    {
        var other = TestPackages.Build(Path.Combine(_dir, "other"), "other-trunk", "1.0.0", 5, "fr_XX");
        await Rejected(File.ReadAllBytes(other[1]), "is not on this hub: publish the trunk first");
    }

    [Fact]
    public async Task TheValidPackageIsAccepted() => // validation runs before the version check, so the other tests do not care that it is stored
        Assert.Equal(HttpStatusCode.Created, (await _hub.PushAsync(File.ReadAllBytes(_packages[1]), _key)).StatusCode);
}
