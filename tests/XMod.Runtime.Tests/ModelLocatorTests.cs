using System.Text.Json;
using XMod.Packaging.Caching;
using XMod.Packaging.Manifests;
using XMod.Runtime.Model;

namespace XMod.Runtime.Tests;

/// <summary>Issue 12, item 1: one resolver for every option naming a model, trunk, language module or task.</summary>
public sealed class ModelLocatorTests : IDisposable
{
    private const string ShaA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private const string ShaB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    private readonly string _home = Directory.CreateTempSubdirectory("xmod-locator-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    /// <summary>A cache as install leaves it: installed.json and a snapshot directory per package.</summary>
    private void Install(params InstalledPackage[] packages)
    {
        var cache = new LocalCache(_home);
        Directory.CreateDirectory(cache.Root);
        foreach (var p in packages)
        {
            Directory.CreateDirectory(cache.SnapshotDir(p.Id, p.Version));
        }
        File.WriteAllText(Path.Combine(cache.Root, "installed.json"), JsonSerializer.Serialize(packages));
    }

    private static InstalledPackage Trunk(string id, string version, string sha) =>
        new(id, version, PackageKind.Trunk, "0", id, sha, null, "test", DateTimeOffset.UnixEpoch);

    private static InstalledPackage Lang(string trunk, string code, string version, string sha) =>
        new($"{trunk}.lang-{code.Split('_')[0]}", version, PackageKind.Language, "0", trunk, sha, code, "test", DateTimeOffset.UnixEpoch);

    private static InstalledPackage Task(string trunk, string name, string sha) =>
        new($"{trunk}.task-{name}", "1.0.0", PackageKind.Task, "0", trunk, sha, null, "test", DateTimeOffset.UnixEpoch);

    private string Snapshot(string id, string version) => new LocalCache(_home).SnapshotDir(id, version);

    [Fact]
    public void AnInstalledIdIsItsNewestSnapshotAndCarriesItsPackageId()
    {
        Install(Trunk("xmod-base", "1.0.0", ShaA), Trunk("xmod-base", "1.2.0", ShaA), Lang("xmod-base", "de_DE", "1.0.0", ShaA));
        var located = ModelLocator.Locate("xmod-base", _home);
        Assert.Equal((Snapshot("xmod-base", "1.2.0"), "xmod-base"), (located.Directory, located.PackageId));
        Assert.Equal(Snapshot("xmod-base", "1.0.0"), ModelLocator.Locate("xmod-base@1.0.0", _home).Directory);
        // lang-de without the trunk's prefix, and fully qualified with a version.
        Assert.Equal(Snapshot("xmod-base.lang-de", "1.0.0"), ModelLocator.Locate("lang-de", _home).Directory);
        Assert.Equal(Snapshot("xmod-base.lang-de", "1.0.0"), ModelLocator.Locate("xmod-base.lang-de@1.0.0", _home).Directory);
    }

    [Fact]
    public void ADirectoryIsTakenAsItIs()
    {
        var package = Path.Combine(_home, "modules", "lang-yo");
        Directory.CreateDirectory(package);
        File.WriteAllText(Path.Combine(package, PackageManifest.FileName), "{}");
        Assert.Equal(package, ModelLocator.Locate(package, _home).Directory);
        Assert.Null(ModelLocator.Locate(package, _home).PackageId);
        var empty = Path.Combine(_home, "empty");
        Directory.CreateDirectory(empty);
        var e = Assert.Throws<XModException>(() => ModelLocator.Locate(empty, _home));
        Assert.Contains("neither a model directory", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NothingFoundIsOneErrorSayingWhatWasTried()
    {
        Install(Trunk("xmod-base", "1.0.0", ShaA));
        var e = Assert.Throws<XModException>(() => ModelLocator.Locate("xmod-large", _home, "trunk"));
        Assert.Equal("trunk 'xmod-large' not found: it is not a directory, a model directory or a training run, and no installed package is xmod-large " +
            "(installed: xmod-base); install it with 'xmod-hub install xmod-large'", e.Message);
        e = Assert.Throws<XModException>(() => ModelLocator.Locate("xmod-base@2.0.0", _home));
        Assert.Contains("xmod-base is installed, but not version 2.0.0 (installed: 1.0.0)", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../xmod-base")]
    [InlineData("xmod-base/../../etc")]
    [InlineData("/nonexistent/run")]
    [InlineData("xmod base")]
    [InlineData("xmod..base")]
    [InlineData("xmod-base@../../1.0.0")]
    [InlineData("xmod-base@")]
    [InlineData("  ")]
    public void HostileReferencesAreOneClearLineAndReadNothingOutsideTheCache(string reference)
    {
        Install(Trunk("xmod-base", "1.0.0", ShaA));
        var e = Assert.Throws<XModException>(() => ModelLocator.Locate(reference, _home));
        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain(Snapshot("xmod-base", "1.0.0"), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AShortIdInstalledForSeveralTrunksListsThem()
    {
        Install(Trunk("xmod-base", "1.0.0", ShaA), Trunk("xmod-mini", "1.0.0", ShaB), Lang("xmod-base", "de_DE", "1.0.0", ShaA), Lang("xmod-mini", "de_DE", "1.0.0", ShaB));
        var e = Assert.Throws<XModException>(() => ModelLocator.Locate("lang-de", _home));
        Assert.Contains("several trunks (xmod-base.lang-de, xmod-mini.lang-de)", e.Message, StringComparison.Ordinal);
        // Narrowed by the trunk's weights, it is one.
        Assert.Equal(Snapshot("xmod-mini.lang-de", "1.0.0"), ModelLocator.Locate("lang-de", _home, "language", PackageKind.Language, ShaB).Directory);
    }

    [Fact]
    public void AKindKeepsOnlyPackagesOfThatKindAndATaskNeedsNoPrefix()
    {
        Install(Trunk("xmod-base", "1.0.0", ShaA), Task("xmod-base", "sections", ShaA));
        Assert.Equal(Snapshot("xmod-base.task-sections", "1.0.0"), ModelLocator.Locate("sections", _home, "task model", PackageKind.Task).Directory);
        Assert.Equal(Snapshot("xmod-base.task-sections", "1.0.0"), ModelLocator.Locate("task-sections", _home, "task model", PackageKind.Task).Directory);
        var e = Assert.Throws<XModException>(() => ModelLocator.Locate("xmod-base", _home, "task model", PackageKind.Task));
        Assert.Contains("no installed task package is xmod-base", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("de")]
    [InlineData("deu")]
    [InlineData("de_DE")]
    [InlineData("de-DE")]
    [InlineData("lang-de")]
    [InlineData("German")]
    [InlineData("xmod-base.lang-de")]
    [InlineData("lang-de@1.1.0")]
    public void ALanguageModuleOfATrunkIsFoundByAnyFormOfItsLanguage(string typed)
    {
        Install(Trunk("xmod-base", "1.0.0", ShaA), Lang("xmod-base", "de_DE", "1.0.0", ShaA), Lang("xmod-base", "de_DE", "1.1.0", ShaA),
            Lang("xmod-mini", "fr_XX", "1.0.0", ShaB));
        Assert.Equal(Snapshot("xmod-base.lang-de", "1.1.0"), ModelLocator.LocateLanguage(typed, _home, ShaA, "xmod-base"));
    }

    [Theory]
    [InlineData("fr")]
    [InlineData("zz")]
    [InlineData("../lang-de")]
    [InlineData("lang-de@9.9.9")]
    public void ALanguageNotInstalledForThatTrunkSaysWhatIsAndHowToGetIt(string typed)
    {
        Install(Trunk("xmod-base", "1.0.0", ShaA), Lang("xmod-base", "de_DE", "1.0.0", ShaA), Lang("xmod-mini", "fr_XX", "1.0.0", ShaB));
        var e = Assert.Throws<XModException>(() => ModelLocator.LocateLanguage(typed, _home, ShaA, "xmod-base"));
        Assert.Contains($"no language '{typed}' for xmod-base", e.Message, StringComparison.Ordinal);
        Assert.Contains("the installed language packages of its trunk are de_DE", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        if (typed == "fr")
        {
            Assert.Contains("install it with 'xmod-hub install lang-fr --trunk xmod-base'", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void ARunsTrunkIsKnownByItsWeightsWhenItWasInstalled()
    {
        Install(Trunk("xmod-base", "1.0.0", ShaA));
        Assert.Equal("xmod-base", ModelLocator.InstalledTrunkId(_home, ShaA));
        Assert.Null(ModelLocator.InstalledTrunkId(_home, ShaB));
    }
}
