using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using XMod.Packaging.Manifests;

namespace XModHub.Server.Tests;

/// <summary>Each rejection reason: a 400 naming it, and nothing stored.</summary>
public sealed class PushValidationTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-hub-reject-").FullName;
    private HubHost _hub = null!;
    private string _key = "";
    private List<string> _packages = [];

    public async Task InitializeAsync()
    {
        _hub = await HubHost.StartAsync(new() { ["Hub:MaxPackageBytes"] = "3000000", ["Hub:MaxExpandedBytes"] = "6000000" });
        _key = await _hub.KeyAsync("alice");
        _packages = TestPackages.Build(_dir, "xmod-nano", "1.0.0", 1, "de_DE");
        Assert.Equal(HttpStatusCode.Created, (await _hub.PushAsync(File.ReadAllBytes(_packages[0]), _key)).StatusCode);
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

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

    /// <summary>The valid language package with one entry changed; the manifest's sha256 is fixed up unless told otherwise.</summary>
    private byte[] Edited(string entry, Func<byte[], byte[]> edit, bool fixManifest = true)
    {
        var entries = TestPackages.Entries(_packages[1]);
        entries[entry] = edit(entries[entry]);
        if (fixManifest && entry.StartsWith("xmod/", StringComparison.Ordinal) && entry != "xmod/xmod.json")
        {
            var manifest = JsonNode.Parse(entries["xmod/xmod.json"])!;
            foreach (var f in manifest["files"]!.AsArray())
            {
                if ("xmod/" + f!["path"]!.GetValue<string>() == entry)
                {
                    f["sha256"] = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(entries[entry]));
                    f["size"] = entries[entry].Length;
                }
            }
            entries["xmod/xmod.json"] = Encoding.UTF8.GetBytes(manifest.ToJsonString());
        }
        return TestPackages.Zip(entries);
    }

    private static byte[] Header(byte[] safetensors, Func<JsonObject, JsonObject> edit, ulong? lengthOverride = null)
    {
        var n = BitConverter.ToUInt64(safetensors, 0);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(safetensors, 8, (int)n))!.AsObject();
        var newHeader = Encoding.UTF8.GetBytes(edit(header).ToJsonString());
        return [.. BitConverter.GetBytes(lengthOverride ?? (ulong)newHeader.Length), .. newHeader, .. safetensors.AsSpan(8 + (int)n)];
    }

    private static JsonObject FirstTensor(JsonObject h) => h.First(kv => kv.Key != "__metadata__").Value!.AsObject();

    [Fact]
    public async Task NotAZip() => await Rejected(Encoding.UTF8.GetBytes("this is not a package"), "not a valid zip archive");

    [Fact]
    public async Task PathTraversal()
    {
        var entries = TestPackages.Entries(_packages[1]);
        entries["../../evil.txt"] = [1, 2, 3];
        await Rejected(TestPackages.Zip(entries), "unsafe path");
    }

    [Fact]
    public async Task SizeLimit() => await Rejected(new byte[3_500_000], "exceeds the 3,000,000-byte limit");

    [Fact]
    public async Task ExpandedSizeLimit()
    {
        var entries = TestPackages.Entries(_packages[1]);
        entries["xmod/padding.bin"] = new byte[7_000_000]; // compresses to almost nothing
        await Rejected(TestPackages.Zip(entries), "expands to more than 6,000,000 bytes");
    }

    [Fact]
    public async Task ManifestSchema() =>
        await Rejected(Edited("xmod/xmod.json", b => Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(b).Replace("\"iso639_3\": \"deu\"", "\"iso639_3\": \"GERMAN\""))),
            "ISO 639-3 code (3 letters)");

    [Fact]
    public async Task ManifestNotJson() => await Rejected(Edited("xmod/xmod.json", _ => Encoding.UTF8.GetBytes("{ not json")), "does not follow the manifest schema");

    [Fact]
    public async Task Sha256Mismatch() =>
        await Rejected(Edited("xmod/README.md", b => [.. b, (byte)'!'], fixManifest: false), "README.md does not match the sha256");

    [Fact]
    public async Task SafeTensorsHeaderLengthCap() =>
        await Rejected(Edited("xmod/module.safetensors", b => Header(b, h => h, lengthOverride: 200_000_000)), "exceeds the cap");

    [Fact]
    public async Task SafeTensorsOffsetsOutOfBounds() =>
        await Rejected(Edited("xmod/module.safetensors", b => Header(b, h =>
        {
            var last = h.Where(kv => kv.Key != "__metadata__").MaxBy(kv => kv.Value!["data_offsets"]![1]!.GetValue<long>()).Value!.AsObject();
            var begin = last["data_offsets"]![0]!.GetValue<long>();
            last["shape"] = new JsonArray(100000);
            last["data_offsets"] = new JsonArray(begin, begin + 400000);
            return h;
        })), "runs past the end of the file");

    [Fact]
    public async Task SafeTensorsOverlap() =>
        await Rejected(Edited("xmod/module.safetensors", b => Header(b, h =>
        {
            var tensors = h.Where(kv => kv.Key != "__metadata__").Select(kv => kv.Value!.AsObject()).OrderBy(t => t["data_offsets"]![0]!.GetValue<long>()).ToList();
            var second = tensors[1];
            var size = second["data_offsets"]![1]!.GetValue<long>() - second["data_offsets"]![0]!.GetValue<long>();
            second["data_offsets"] = new JsonArray(0L, size); // now shares bytes with the first
            return h;
        })), "overlaps");

    [Fact]
    public async Task SafeTensorsUnknownDtype() =>
        await Rejected(Edited("xmod/module.safetensors", b => Header(b, h =>
        {
            FirstTensor(h)["dtype"] = "F128";
            return h;
        })), "unknown dtype 'F128'");

    [Fact]
    public async Task ShapesInconsistentWithTheTrunk()
    {
        // A module built for a wider trunk (hidden 64) claiming to fit the nano trunk.
        var wide = TestPackages.ModelDir(_dir, TestPackages.Config("de_DE") with { HiddenSize = 64, IntermediateSize = 128, NumHeads = 2 }, 9);
        var entries = TestPackages.Entries(_packages[1]);
        var module = File.ReadAllBytes(Path.Combine(wide, "modules", "de_DE.safetensors"));
        entries["xmod/module.safetensors"] = module;
        var manifest = JsonNode.Parse(entries["xmod/xmod.json"])!;
        var file = manifest["files"]!.AsArray().First(f => f!["path"]!.GetValue<string>() == "module.safetensors")!;
        file["sha256"] = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(module));
        file["size"] = module.Length;
        entries["xmod/xmod.json"] = Encoding.UTF8.GetBytes(manifest.ToJsonString());
        await Rejected(TestPackages.Zip(entries), "adapter_modules.de_DE.dense1.weight has shape [32, 64]; the trunk's config requires [16, 32]");
    }

    [Fact]
    public async Task TrunkNotOnTheHub()
    {
        var other = TestPackages.Build(Path.Combine(_dir, "other"), "other-trunk", "1.0.0", 5, "fr_XX");
        await Rejected(File.ReadAllBytes(other[1]), "is not on this hub: publish the trunk first");
    }

    [Fact]
    public async Task TheValidPackageIsAccepted() =>
        Assert.Equal(HttpStatusCode.Created, (await _hub.PushAsync(File.ReadAllBytes(_packages[1]), _key)).StatusCode);
}
