using System.IO.Compression;
using XMod.Packaging.Checkpoints;
using XMod.Packaging.Manifests;
using XMod.Packaging.Nupkg;

namespace XMod.TestSupport;

/// <summary>
/// Valid packages built without libtorch: a nano model directory whose tensors have every name
/// and shape the layout requires (bytes from a seed, so trunks differ), cut into a trunk package
/// and one language package per language, and packed. The one package builder of the tests.
/// </summary>
public static class TestPackages
{
    public static XModConfig Config(params string[] languages) => XModConfig.Preset("nano") with { Languages = languages };

    public static string ModelDir(string root, XModConfig config, int seed) =>
        SyntheticCheckpoint.Write(Path.Combine(root, $"model-{seed}-{Guid.NewGuid():N}"), config, seed);

    /// <summary>Packs a trunk and its languages into <paramref name="root"/>/nupkgs; returns the .nupkg paths (trunk first).</summary>
    public static List<string> Build(string root, string trunkId, string version, int seed, params string[] languages)
    {
        var model = ModelDir(root, Config(languages), seed);
        var packages = new List<string> { PackTrunk(root, model, trunkId, version) };
        foreach (var lang in languages)
        {
            var dir = ModelPackages.Language(model, trunkId, lang, version, Path.Combine(root, $"pkg-{trunkId}-{lang}-{version}"),
                new Dictionary<string, double> { ["heldout_perplexity"] = 10 + lang.Length });
            packages.Add(NupkgWriter.Pack(dir, Path.Combine(root, "nupkgs"), "tester"));
        }
        return packages;
    }

    /// <summary>Only the trunk package of a model with <paramref name="languages"/>.</summary>
    public static string BuildTrunk(string root, string trunkId, string version, int seed, params string[] languages) =>
        PackTrunk(root, ModelDir(root, Config(languages), seed), trunkId, version);

    private static string PackTrunk(string root, string model, string trunkId, string version) =>
        NupkgWriter.Pack(ModelPackages.Trunk(model, trunkId, version, Path.Combine(root, $"pkg-{trunkId}-{version}")), Path.Combine(root, "nupkgs"), "tester");

    /// <summary>The entries of a package, to be edited and re-zipped by <see cref="Zip"/>.</summary>
    public static Dictionary<string, byte[]> Entries(string nupkg)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        return zip.Entries.ToDictionary(e => e.FullName, e =>
        {
            using var s = e.Open();
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            return ms.ToArray();
        });
    }

    public static byte[] Zip(IEnumerable<KeyValuePair<string, byte[]>> entries)
    {
        using var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, data) in entries)
            {
                using var s = zip.CreateEntry(name).Open();
                s.Write(data);
            }
        }
        return ms.ToArray();
    }
}
