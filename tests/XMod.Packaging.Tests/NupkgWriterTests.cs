using System.IO.Compression;
using System.Text;
using XMod.Packaging.Manifests;
using XMod.Packaging.Nupkg;

namespace XMod.Packaging.Tests;

/// <summary>The .nupkg writer: deterministic bytes, the layout NuGet clients expect, and no package of a tampered directory.</summary>
public sealed class NupkgWriterTests : IDisposable
{
    private readonly TempDir _dir = new("xmod-nupkg-");

    public void Dispose() => _dir.Dispose();

    private string LanguageDir(string name)
    {
        var model = TestPackages.ModelDir(_dir.Path, TestPackages.Config("de_DE"), 4);
        return ModelPackages.Language(model, "xmod-nano", "de_DE", "1.0.0", _dir[name]);
    }

    [Fact]
    public void TheSameDirectoryPacksToTheSameBytesEveryTime()
    {
        var dir = LanguageDir("pkg");
        var first = File.ReadAllBytes(NupkgWriter.Pack(dir, _dir["out-1"], "tester"));
        // File times do not matter: entries carry a fixed timestamp.
        foreach (var f in Directory.GetFiles(dir, "*", SearchOption.AllDirectories))
        {
            File.SetLastWriteTimeUtc(f, DateTime.UtcNow.AddDays(-3));
        }
        var second = File.ReadAllBytes(NupkgWriter.Pack(dir, _dir["out-2"], "tester"));
        Assert.Equal(first, second);
        Assert.NotEqual(first, File.ReadAllBytes(NupkgWriter.Pack(dir, _dir["out-3"], "someone else")));
    }

    [Fact]
    public void ThePackageHasTheNuspecThePartsAndTheFilesUnderXmod()
    {
        var dir = LanguageDir("pkg");
        var path = NupkgWriter.Pack(dir, _dir["out"], "tester");
        Assert.Equal("xmod-nano.lang-de.1.0.0.nupkg", Path.GetFileName(path));
        using var zip = ZipFile.OpenRead(path);
        var names = zip.Entries.Select(e => e.FullName).ToList();
        Assert.Equal(["xmod-nano.lang-de.nuspec", "[Content_Types].xml", "_rels/.rels", "xmod/xmod.json"], names.Take(4));
        var manifest = PackageManifest.Load(dir);
        Assert.Equal(manifest.Files.Select(f => "xmod/" + f.Path).Order(StringComparer.Ordinal), names.Skip(4).Order(StringComparer.Ordinal));
        Assert.All(zip.Entries, e => Assert.Equal(new DateTime(2000, 1, 1), e.LastWriteTime.UtcDateTime.Date));
        using var nuspec = new StreamReader(zip.GetEntry("xmod-nano.lang-de.nuspec")!.Open(), Encoding.UTF8);
        var xml = nuspec.ReadToEnd();
        Assert.Contains("<id>xmod-nano.lang-de</id>", xml);
        Assert.Contains("<version>1.0.0</version>", xml);
        Assert.Contains("XModLanguage", xml);
        Assert.Contains("<authors>tester</authors>", xml);
    }

    [Fact]
    public void ATamperedDirectoryIsNotPacked()
    {
        var dir = LanguageDir("pkg");
        File.AppendAllText(Path.Combine(dir, "README.md"), "changed after the manifest was written");
        var e = Assert.ThrowsAny<XModException>(() => NupkgWriter.Pack(dir, _dir["out"], "tester"));
        Assert.Contains("README.md", e.Message);
        Assert.False(Directory.Exists(_dir["out"]) && Directory.EnumerateFiles(_dir["out"]).Any());
    }

    [Fact]
    public void ANonSemVerVersionIsRefused()
    {
        var model = TestPackages.ModelDir(_dir.Path, TestPackages.Config("de_DE"), 4);
        var dir = ModelPackages.Trunk(model, "xmod-nano", "not-a-version", _dir["trunk"]);
        var e = Assert.ThrowsAny<XModException>(() => NupkgWriter.Pack(dir, _dir["out"]));
        Assert.Contains("version 'not-a-version' is not SemVer", e.Message);
    }
}
