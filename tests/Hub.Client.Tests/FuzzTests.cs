using System.Diagnostics;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using NuGet.Versioning;
using XMod;
using XMod.Packaging.Checkpoints;
using XMod.Packaging.Manifests;
using XMod.Packaging.Nupkg;
using XMod.Packaging.SafeTensors;
using XModHub.Client.Cache;
using Xunit.Abstractions;

namespace XModHub.Client.Tests;

/// <summary>
/// Mutation fuzzing of everything that reads a package: the validator (zip, nuspec, manifest,
/// safetensors headers, shapes), the safetensors reader, the manifest parser and the client's
/// install (download, validation, extraction). Every case must end in success or a packaging
/// error with a message (PackagingException, PackageValidationException, XModException), never any
/// other exception. 2,000 cases here; XMOD_FUZZ_CASES=100000 for the long run (docs/SECURITY.md).
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task MutatedPackagesEndInSuccessOrAPackagingError()
    {
        var cases = int.TryParse(Environment.GetEnvironmentVariable("XMOD_FUZZ_CASES"), out var n) && n > 0 ? n : 2000;
        var seed = int.TryParse(Environment.GetEnvironmentVariable("XMOD_FUZZ_SEED"), out var s) ? s : 20261121;
        var installEvery = int.TryParse(Environment.GetEnvironmentVariable("XMOD_FUZZ_INSTALL_EVERY"), out var e) && e > 0 ? e : 4;
        var report = await new PackageFuzzer(_dir).RunAsync(cases, seed, installEvery);
        output.WriteLine(report.Summary());
        Assert.True(report.Failures.Count == 0, report.Summary());
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.Summary()); // both outcomes were reached
    }
}

public sealed class FuzzReport
{
    public int InstallEvery;
    public int Cases;
    public int Accepted;
    public int Refused;
    public int Installs;
    public TimeSpan Elapsed;
    public Dictionary<string, (int Cases, int Refused)> ByMutation { get; } = new();
    public List<string> Failures { get; } = [];

    public string Summary() =>
        $"{Cases:N0} cases in {Elapsed.TotalSeconds:F1} s ({Cases / Math.Max(Elapsed.TotalSeconds, 1e-9):F0}/s): {Accepted:N0} accepted, {Refused:N0} refused with a message, {Installs:N0} client installs, {Failures.Count} other exceptions\n"
        + string.Join("\n", ByMutation.OrderBy(k => k.Key).Select(k => $"  {k.Key,-18} {k.Value.Cases,8:N0} cases {k.Value.Refused,8:N0} refused"))
        + (Failures.Count == 0 ? "" : "\nfailures:\n  " + string.Join("\n  ", Failures.Distinct().Take(20)));
}

/// <summary>Valid packages, mutated: bit flips, truncations, splices, header and JSON mutations.</summary>
public sealed class PackageFuzzer(string dir)
{
    private static readonly string[] s_mutations = ["bitflip", "truncate", "splice", "safetensors-json", "safetensors-len", "manifest-json", "nuspec", "entry-bytes", "zip-name"];

    /// <param name="installEvery">Every n-th case also goes through the client's install (disk writes and fsync: the slow part).</param>
    public async Task<FuzzReport> RunAsync(int cases, int seed, int installEvery)
    {
        var (trunkPath, languages) = SecurityClientTests.Packages(dir, "1.0.0", seed % 1000, "de_DE");
        var language = File.ReadAllBytes(languages["de_DE"]);
        var trunk = File.ReadAllBytes(trunkPath);
        var config = XModConfig.Load(Path.Combine(Directory.GetDirectories(dir, "model-*")[0], ModelFiles.Config));
        var cache = new PackageCache(Path.Combine(dir, "home"));
        var version = NuGetVersion.Parse("1.0.0");
        await cache.InstallAsync("tr", version, _ => Open(trunk), "fuzz", null, default);
        var languageEntries = TestPackages.Entries(languages["de_DE"]);
        var scratch = Directory.CreateDirectory(Path.Combine(dir, "scratch")).FullName;
        var report = new FuzzReport();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < cases; i++)
        {
            var random = new Random(seed + i);
            var mutation = s_mutations[random.Next(s_mutations.Length)];
            var baseIsTrunk = random.Next(4) == 0;
            byte[] bytes;
            try
            {
                bytes = Mutate(mutation, baseIsTrunk ? trunk : language, baseIsTrunk ? trunk : language, baseIsTrunk ? language : trunk, languageEntries, random);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or System.Text.Json.JsonException or InvalidOperationException)
            {
                continue; // the mutation itself could not re-read the zip: nothing to test
            }
            report.Cases++;
            var refused = false;
            void Run(string target, Action action)
            {
                try
                {
                    action();
                }
                catch (XModException e) when (e.Message.Length > 0)
                {
                    refused |= target == "validator";
                }
                catch (Exception e)
                {
                    report.Failures.Add($"{target} / {mutation} (case {i}): {e.GetType().Name}: {e.Message.Split('\n')[0]}");
                }
            }
            Run("validator", () => PackageValidator.Validate(new MemoryStream(bytes), new PackageLimits(), r => r.Id == "tr" ? config : null));
            // The readers on their own: the mutated safetensors file and manifest from the package, where it still unzips.
            var (st, manifest) = TryEntries(bytes);
            if (st is not null)
            {
                var path = Path.Combine(scratch, "module.safetensors");
                File.WriteAllBytes(path, st);
                Run("safetensors", () => SafeTensorsFile.Open(path).Dispose());
            }
            if (manifest is not null)
            {
                File.WriteAllBytes(Path.Combine(scratch, PackageManifest.FileName), manifest);
                Run("manifest", () => PackageManifest.Load(scratch));
            }
            // The client's whole install (download, validation, extraction) for every n-th case.
            if (i % installEvery == 0)
            {
                report.Installs++;
                var id = baseIsTrunk ? "tr" : "tr.lang-de";
                Run("client install", () =>
                {
                    cache.Uninstall("tr.lang-de", null);
                    cache.InstallAsync(id, version, _ => Open(bytes), "fuzz", null, default).GetAwaiter().GetResult();
                });
            }
            if (refused)
            {
                report.Refused++;
            }
            else
            {
                report.Accepted++;
            }
            var (c, r) = report.ByMutation.GetValueOrDefault(mutation);
            report.ByMutation[mutation] = (c + 1, r + (refused ? 1 : 0));
            if (i % 5000 == 4999 && Environment.GetEnvironmentVariable("XMOD_FUZZ_LOG") is { Length: > 0 } log)
            {
                report.Elapsed = clock.Elapsed;
                File.AppendAllText(log, $"--- after case {i + 1}\n{report.Summary()}\n");
            }
        }
        report.Elapsed = clock.Elapsed;
        return report;
    }

    private static Task<(Stream, long?)> Open(byte[] b) => Task.FromResult<(Stream, long?)>((new MemoryStream(b), b.Length));

    private static (byte[]? SafeTensors, byte[]? Manifest) TryEntries(byte[] bytes)
    {
        try
        {
            using var zip = new ZipArchive(new MemoryStream(bytes), ZipArchiveMode.Read);
            byte[]? Read(string name)
            {
                var e = zip.GetEntry(name);
                if (e is null || e.Length > 50_000_000)
                {
                    return null;
                }
                using var s = e.Open();
                using var ms = new MemoryStream();
                s.CopyTo(ms);
                return ms.ToArray();
            }
            return (Read("xmod/module.safetensors") ?? Read("xmod/trunk.safetensors"), Read("xmod/" + PackageManifest.FileName));
        }
        catch (Exception e) when (e is InvalidDataException or IOException or NotSupportedException)
        {
            return (null, null);
        }
    }

    private static byte[] Mutate(string mutation, byte[] package, byte[] self, byte[] other, Dictionary<string, byte[]> languageEntries, Random random)
    {
        switch (mutation)
        {
            case "bitflip":
            {
                var b = (byte[])package.Clone();
                for (var k = random.Next(1, 9); k > 0; k--)
                {
                    b[random.Next(b.Length)] ^= (byte)(1 << random.Next(8));
                }
                return b;
            }
            case "truncate":
                return package[..random.Next(package.Length)];
            case "splice":
            {
                var a = random.Next(self.Length);
                var b = random.Next(other.Length);
                return [.. self.AsSpan(0, a), .. other.AsSpan(b)];
            }
        }
        // Entry-level mutations: unzip, change one thing, fix the manifest's hashes so the deep checks are reached.
        var entries = EntriesOf(package);
        var st = entries.Keys.First(k => k.EndsWith(".safetensors", StringComparison.Ordinal));
        switch (mutation)
        {
            case "safetensors-json":
                entries[st] = MutateHeader(entries[st], random);
                break;
            case "safetensors-len":
            {
                var b = (byte[])entries[st].Clone();
                BitConverter.GetBytes(random.Next(3) switch { 0 => ulong.MaxValue - (ulong)random.Next(100), 1 => (ulong)random.Next(200_000_000), _ => BitConverter.ToUInt64(b) + (ulong)random.Next(-8, 9) }).CopyTo(b, 0);
                entries[st] = b;
                break;
            }
            case "manifest-json":
                entries["xmod/xmod.json"] = Encoding.UTF8.GetBytes(MutateJson(Encoding.UTF8.GetString(entries["xmod/xmod.json"]), random));
                return TestPackages.Zip(entries);
            case "nuspec":
            {
                var key = entries.Keys.First(k => k.EndsWith(".nuspec", StringComparison.Ordinal));
                var text = Encoding.UTF8.GetString(entries[key]);
                var at = random.Next(text.Length);
                text = random.Next(3) switch
                {
                    0 => text[..at] + (char)random.Next(32, 127) + text[Math.Min(text.Length, at + 1)..],
                    1 => text[..at],
                    _ => text.Replace(random.Next(2) == 0 ? "XModLanguage" : "1.0.0", random.Next(2) == 0 ? "" : "XModTrunk"),
                };
                entries[key] = Encoding.UTF8.GetBytes(text);
                return TestPackages.Zip(entries);
            }
            case "entry-bytes":
            {
                var key = entries.Keys.ElementAt(random.Next(entries.Count));
                var b = (byte[])entries[key].Clone();
                if (b.Length > 0)
                {
                    b[random.Next(b.Length)] ^= (byte)(1 << random.Next(8));
                }
                entries[key] = b;
                break;
            }
            case "zip-name":
            {
                var key = entries.Keys.ElementAt(random.Next(entries.Count));
                var names = new[] { "xmod//tmp/x", "xmod/../x", "/abs", "xmod/./a", "xmod/a\\b", "C:x", "xmod/", "xmod/a/", key.ToUpperInvariant() };
                var data = entries[key];
                entries.Remove(key);
                entries[names[random.Next(names.Length)]] = data;
                break;
            }
        }
        FixManifest(entries);
        return TestPackages.Zip(entries);
    }

    private static Dictionary<string, byte[]> EntriesOf(byte[] package)
    {
        using var zip = new ZipArchive(new MemoryStream(package), ZipArchiveMode.Read);
        return zip.Entries.ToDictionary(e => e.FullName, e =>
        {
            using var s = e.Open();
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            return ms.ToArray();
        });
    }

    private static void FixManifest(Dictionary<string, byte[]> entries)
    {
        JsonNode? node;
        try
        {
            node = entries.TryGetValue("xmod/xmod.json", out var json) ? JsonNode.Parse(json) : null;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        {
            return; // the mutation broke the manifest itself: that is the case then
        }
        if (node is not JsonObject m || m["files"] is not JsonArray files)
        {
            return;
        }
        foreach (var f in files.OfType<JsonObject>())
        {
            string? p;
            try
            {
                p = f["path"] is JsonValue pv && pv.TryGetValue<string>(out var v) ? v : null;
            }
            catch (InvalidOperationException)
            {
                p = null; // a path that is not valid UTF-8 after a byte flip
            }
            if (p is not null && entries.TryGetValue("xmod/" + p, out var data))
            {
                f["sha256"] = Convert.ToHexStringLower(SHA256.HashData(data));
                f["size"] = data.Length;
            }
        }
        entries["xmod/xmod.json"] = Encoding.UTF8.GetBytes(m.ToJsonString());
    }

    private static readonly string[] s_values = ["null", "-1", "0", "1e309", "9223372036854775807", "18446744073709551616", "\"x\"", "\"\"", "[]", "{}", "[4611686018427387904,4611686018427387904]", "true", "\"../../x\"", "\"/etc/passwd\""];

    /// <summary>Replaces one JSON value (a number, string, array or object) with a hostile one, or cuts the text.</summary>
    private static string MutateJson(string json, Random random)
    {
        if (random.Next(8) == 0)
        {
            return json[..random.Next(json.Length)];
        }
        var starts = Enumerable.Range(0, json.Length).Where(k => json[k] == ':' || json[k] == '[' || json[k] == ',').ToList();
        var at = starts[random.Next(starts.Count)] + 1;
        var end = at;
        var depth = 0;
        var inString = false;
        for (; end < json.Length; end++)
        {
            var c = json[end];
            if (inString)
            {
                if (c == '\\')
                {
                    end++;
                }
                else if (c == '"')
                {
                    inString = false;
                    if (depth == 0)
                    {
                        end++;
                        break;
                    }
                }
                continue;
            }
            if (c == '"')
            {
                inString = true;
            }
            else if (c is '{' or '[')
            {
                depth++;
            }
            else if (c is '}' or ']')
            {
                if (depth == 0)
                {
                    break;
                }
                depth--;
                if (depth == 0)
                {
                    end++;
                    break;
                }
            }
            else if (c == ',' && depth == 0)
            {
                break;
            }
        }
        return json[..at] + s_values[random.Next(s_values.Length)] + json[Math.Min(end, json.Length)..];
    }

    private static byte[] MutateHeader(byte[] safetensors, Random random)
    {
        var n = (int)Math.Min(BitConverter.ToUInt64(safetensors, 0), (ulong)(safetensors.Length - 8));
        var header = MutateJson(Encoding.UTF8.GetString(safetensors, 8, n), random);
        var hb = Encoding.UTF8.GetBytes(header);
        return [.. BitConverter.GetBytes((ulong)hb.Length), .. hb, .. safetensors.AsSpan(8 + n)];
    }
}
