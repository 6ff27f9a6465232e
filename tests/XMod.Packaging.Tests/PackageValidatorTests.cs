using System.Text;
using XMod.Packaging.Checkpoints;
using XMod.Packaging.Manifests;
using XMod.Packaging.Nupkg;

namespace XMod.Packaging.Tests;

/// <summary>The package format's validator on its own (the hub's push goes through it): valid packages pass, each hostile one is refused with its reason.</summary>
public sealed class PackageValidatorTests : IDisposable
{
    private static readonly PackageLimits s_limits = new() { MaxPackageBytes = 3_000_000, MaxExpandedBytes = 6_000_000 };
    private readonly TempDir _dir = new("xmod-validator-");
    private readonly List<string> _packages;
    private readonly XModConfig _trunkConfig;
    private readonly TrunkReference _trunk;

    public PackageValidatorTests()
    {
        _packages = TestPackages.Build(_dir.Path, "xmod-nano", "1.0.0", 1, "de_DE");
        var trunk = Validate(File.ReadAllBytes(_packages[0]), _ => null);
        _trunkConfig = trunk.TrunkConfig!;
        _trunk = PackageManifest.Load(Path.Combine(_dir.Path, "pkg-xmod-nano-de_DE-1.0.0")).Trunk!;
    }

    public void Dispose() => _dir.Dispose();

    private static ValidatedPackage Validate(byte[] package, Func<TrunkReference, XModConfig?> trunkConfig)
    {
        using var stream = new MemoryStream(package);
        return PackageValidator.Validate(stream, s_limits, trunkConfig);
    }

    /// <summary>What the hub answers: the config of the one trunk it has.</summary>
    private XModConfig? Hub(TrunkReference r) => r == _trunk ? _trunkConfig : null;

    [Fact]
    public void ValidTrunkAndLanguagePackagesPass()
    {
        var trunkBytes = File.ReadAllBytes(_packages[0]);
        var trunk = Validate(trunkBytes, Hub);
        Assert.Equal(("xmod-nano", "1.0.0", PackageKind.Trunk), (trunk.Id, trunk.Version.ToNormalizedString(), trunk.Kind));
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(trunkBytes)), trunk.Sha256);
        Assert.Equal(trunkBytes.Length, trunk.Size);
        Assert.Equal(["de_DE"], _trunkConfig.Languages);
        var language = Validate(File.ReadAllBytes(_packages[1]), Hub);
        Assert.Equal(("xmod-nano.lang-de", PackageKind.Language), (language.Id, language.Kind));
        Assert.Equal("de_DE", language.Manifest.Language!.Code);
        Assert.Equal("tester", language.Authors);
    }

    [Theory]
    [MemberData(nameof(HostilePackages.Names), MemberType = typeof(HostilePackages))]
    public void EveryHostilePackageIsRefusedWithItsReason(string name)
    {
        var e = Assert.Throws<PackageValidationException>(() => Validate(HostilePackages.Build(name, _packages[1]), Hub));
        Assert.True(e.Message.Contains(HostilePackages.Expected[name], StringComparison.Ordinal), $"{name}: {e.Message}");
    }

    [Fact]
    public void NotAZip() =>
        Assert.Contains("not a valid zip archive", Assert.Throws<PackageValidationException>(() => Validate(Encoding.UTF8.GetBytes("this is not a package"), Hub)).Message);

    [Fact]
    public void LimitsOnSizeEntriesAndExpansion()
    {
        var big = Assert.Throws<PackageValidationException>(() => Validate(new byte[3_000_001], Hub));
        Assert.Contains("the limit is 3,000,000", big.Message);

        var entries = TestPackages.Entries(_packages[1]);
        var bomb = TestPackages.Zip(entries.Append(new("xmod/padding.bin", new byte[7_000_000]))); // compresses to almost nothing
        Assert.Contains("expands to more than 6,000,000 bytes", Assert.Throws<PackageValidationException>(() => Validate(bomb, Hub)).Message);

        var many = TestPackages.Zip(entries.Concat(Enumerable.Range(0, 1000).Select(i => new KeyValuePair<string, byte[]>($"xmod/f{i}", [1]))));
        Assert.Contains("entries; the limit is 1000", Assert.Throws<PackageValidationException>(() => Validate(many, Hub)).Message);
    }

    [Fact]
    public void ALanguagePackageNeedsItsTrunkOnTheHub() =>
        Assert.Contains("is not on this hub: publish the trunk first",
            Assert.Throws<PackageValidationException>(() => Validate(File.ReadAllBytes(_packages[1]), _ => null)).Message);

    [Fact]
    public void ShapesMustFitTheTrunksConfig()
    {
        // A module built for a wider trunk (hidden 64) claiming to fit the nano trunk.
        var wide = TestPackages.ModelDir(_dir.Path, TestPackages.Config("de_DE") with { HiddenSize = 64, IntermediateSize = 128, NumHeads = 2 }, 9);
        var module = File.ReadAllBytes(Path.Combine(wide, "modules", "de_DE.safetensors"));
        var package = HostilePackages.Edited(TestPackages.Entries(_packages[1]), "xmod/module.safetensors", _ => module);
        var e = Assert.Throws<PackageValidationException>(() => Validate(package, Hub));
        Assert.Contains("adapter_modules.de_DE.dense1.weight has shape [32, 64]; the trunk's config requires [16, 32]", e.Message);
    }
}
