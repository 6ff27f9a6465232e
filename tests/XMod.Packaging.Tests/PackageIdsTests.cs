using XMod.Packaging.Manifests;
using XMod.Packaging.Nupkg;

namespace XMod.Packaging.Tests;

public sealed class PackageIdsTests
{
    [Theory]
    [InlineData("xmod-mini")]
    [InlineData("xmod-mini.lang-de")]
    [InlineData("_private.Trunk_2")]
    [InlineData("a")]
    public void ValidIds(string id) => Assert.True(PackageIds.IsValid(id));

    [Theory]
    [InlineData("")]
    [InlineData("-leading-dash")]
    [InlineData(".leading-dot")]
    [InlineData("has space")]
    [InlineData("../escape")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("ümlaut")]
    [InlineData("semi;colon")]
    [InlineData("new\nline")]
    public void InvalidIds(string id)
    {
        Assert.False(PackageIds.IsValid(id));
        var e = Assert.Throws<PackagingException>(() => PackageIds.Check(id, "trunk id"));
        Assert.StartsWith($"trunk id '{id}' is not a valid package id", e.Message);
    }

    [Fact]
    public void IdsAreAtMostOneHundredCharacters()
    {
        Assert.True(PackageIds.IsValid(new string('a', PackageIds.MaxLength)));
        Assert.False(PackageIds.IsValid(new string('a', PackageIds.MaxLength + 1)));
    }

    [Fact]
    public void LanguageAndTaskIdsAreQualifiedByTheirTrunk()
    {
        Assert.Equal("xmod-mini.lang-de", PackageIds.Qualified("xmod-mini", "lang-de"));
        var trunk = new PackageManifest { Kind = PackageKind.Trunk, Id = "xmod-mini", Version = "1.0.0", Files = [] };
        Assert.Equal("xmod-mini", PackageIds.NuGetId(trunk));
        var language = trunk with { Kind = PackageKind.Language, Id = "lang-de", Trunk = new TrunkReference("xmod-mini", "[1.0.0]", new string('0', 64)) };
        Assert.Equal("xmod-mini.lang-de", PackageIds.NuGetId(language));
        var orphan = trunk with { Kind = PackageKind.Language, Id = "lang-de" };
        Assert.Contains("names no trunk", Assert.Throws<PackagingException>(() => PackageIds.NuGetId(orphan)).Message);
    }

    [Fact]
    public void PackageTypesMapBothWays()
    {
        foreach (var kind in Enum.GetValues<PackageKind>())
        {
            Assert.Equal(kind, PackageIds.KindOfPackageType(PackageIds.PackageTypeOf(kind)));
        }
        Assert.Null(PackageIds.KindOfPackageType("Dependency"));
        Assert.Null(PackageIds.KindOfPackageType("xmodtrunk")); // exact, as NuGet compares package types
    }
}
