using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace XMod.TestSupport;

/// <summary>
/// Hostile variants of a valid language package, each with the reason it must be refused: one
/// catalogue that the format's validator tests (XMod.Packaging.Tests) and the hub's push tests
/// (a 400 that stores nothing, Hub.Server.Tests) both go through.
/// </summary>
public static class HostilePackages
{
    /// <summary>Each case's name and a fragment of the message that must refuse it.</summary>
    public static readonly IReadOnlyDictionary<string, string> Expected = new Dictionary<string, string>
    {
        ["path-traversal"] = "unsafe path",
        ["absolute-path"] = "unsafe path",
        ["backslash-path"] = "unsafe path",
        ["duplicate-entry"] = "appears twice",
        ["no-nuspec"] = "the package has no .nuspec at its root",
        ["manifest-schema"] = "ISO 639-3 code (3 letters)",
        ["manifest-not-json"] = "does not follow the manifest schema",
        ["manifest-kind-mismatch"] = "the manifest says Trunk, the nuspec's package type says Language",
        ["sha256-mismatch"] = "README.md does not match the sha256",
        ["file-not-in-manifest"] = "is in the package but not in the manifest's file list",
        ["manifest-file-missing"] = "which the package does not contain",
        ["safetensors-header-cap"] = "exceeds the cap",
        ["safetensors-offsets-out-of-bounds"] = "runs past the end of the file",
        ["safetensors-overlap"] = "overlaps",
        ["safetensors-unknown-dtype"] = "unknown dtype 'F128'",
        ["safetensors-too-short"] = "too short for a safetensors file",
    };

    public static IEnumerable<object[]> Names => Expected.Keys.Select(k => new object[] { k });

    /// <summary>The hostile variant <paramref name="name"/> of <paramref name="validLanguagePackage"/> (a .nupkg path).</summary>
    public static byte[] Build(string name, string validLanguagePackage)
    {
        var entries = TestPackages.Entries(validLanguagePackage);
        byte[] With(string entry, Func<byte[], byte[]> edit, bool fixManifest = true) => Edited(entries, entry, edit, fixManifest);
        return name switch
        {
            "path-traversal" => TestPackages.Zip(entries.Append(new("../../evil.txt", [1, 2, 3]))),
            "absolute-path" => TestPackages.Zip(entries.Append(new("/etc/evil", [1]))),
            "backslash-path" => TestPackages.Zip(entries.Append(new("xmod\\..\\..\\evil", [1]))),
            "duplicate-entry" => TestPackages.Zip(entries.Append(new("xmod/README.md", [1]))),
            "no-nuspec" => TestPackages.Zip(entries.Where(e => !e.Key.EndsWith(".nuspec", StringComparison.Ordinal))),
            "manifest-schema" => With("xmod/xmod.json", b => Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(b).Replace("\"iso639_3\": \"deu\"", "\"iso639_3\": \"GERMAN\"", StringComparison.Ordinal))),
            "manifest-not-json" => With("xmod/xmod.json", _ => Encoding.UTF8.GetBytes("{ not json")),
            "manifest-kind-mismatch" => With("xmod/xmod.json", b => Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(b).Replace("\"kind\": \"Language\"", "\"kind\": \"Trunk\"", StringComparison.Ordinal))),
            "sha256-mismatch" => With("xmod/README.md", b => [.. b, (byte)'!'], fixManifest: false),
            "file-not-in-manifest" => TestPackages.Zip(entries.Append(new("xmod/extra.bin", [1, 2, 3]))),
            "manifest-file-missing" => TestPackages.Zip(entries.Where(e => e.Key != "xmod/README.md")),
            "safetensors-header-cap" => With("xmod/module.safetensors", b => Header(b, h => h, lengthOverride: 200_000_000)),
            "safetensors-offsets-out-of-bounds" => With("xmod/module.safetensors", b => Header(b, h =>
            {
                var last = Tensors(h).MaxBy(t => t["data_offsets"]![1]!.GetValue<long>())!;
                var begin = last["data_offsets"]![0]!.GetValue<long>();
                last["shape"] = new JsonArray(100000);
                last["data_offsets"] = new JsonArray(begin, begin + 400000);
                return h;
            })),
            "safetensors-overlap" => With("xmod/module.safetensors", b => Header(b, h =>
            {
                var second = Tensors(h).OrderBy(t => t["data_offsets"]![0]!.GetValue<long>()).ElementAt(1);
                var size = second["data_offsets"]![1]!.GetValue<long>() - second["data_offsets"]![0]!.GetValue<long>();
                second["data_offsets"] = new JsonArray(0L, size); // now shares bytes with the first
                return h;
            })),
            "safetensors-unknown-dtype" => With("xmod/module.safetensors", b => Header(b, h =>
            {
                Tensors(h).First()["dtype"] = "F128";
                return h;
            })),
            "safetensors-too-short" => With("xmod/module.safetensors", b => b[..5]),
            _ => throw new ArgumentException($"no hostile package '{name}'", nameof(name)),
        };
    }

    /// <summary>The package with one entry changed; the manifest's sha256 and size are fixed up unless told otherwise.</summary>
    public static byte[] Edited(Dictionary<string, byte[]> entries, string entry, Func<byte[], byte[]> edit, bool fixManifest = true)
    {
        var copy = new Dictionary<string, byte[]>(entries) { [entry] = edit(entries[entry]) };
        if (fixManifest && entry.StartsWith("xmod/", StringComparison.Ordinal) && entry != "xmod/xmod.json")
        {
            var manifest = JsonNode.Parse(copy["xmod/xmod.json"])!;
            foreach (var f in manifest["files"]!.AsArray())
            {
                if ("xmod/" + f!["path"]!.GetValue<string>() == entry)
                {
                    f["sha256"] = Convert.ToHexStringLower(SHA256.HashData(copy[entry]));
                    f["size"] = copy[entry].Length;
                }
            }
            copy["xmod/xmod.json"] = Encoding.UTF8.GetBytes(manifest.ToJsonString());
        }
        return TestPackages.Zip(copy);
    }

    /// <summary>A safetensors file with its JSON header edited (and its length field, unless overridden).</summary>
    public static byte[] Header(byte[] safetensors, Func<JsonObject, JsonObject> edit, ulong? lengthOverride = null)
    {
        var n = BitConverter.ToUInt64(safetensors, 0);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(safetensors, 8, (int)n))!.AsObject();
        var newHeader = Encoding.UTF8.GetBytes(edit(header).ToJsonString());
        return [.. BitConverter.GetBytes(lengthOverride ?? (ulong)newHeader.Length), .. newHeader, .. safetensors.AsSpan(8 + (int)n)];
    }

    private static IEnumerable<JsonObject> Tensors(JsonObject header) =>
        header.Where(kv => kv.Key != "__metadata__").Select(kv => kv.Value!.AsObject()).ToList();
}
