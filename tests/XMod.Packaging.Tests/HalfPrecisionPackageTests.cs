using System.Text;
using XMod.Packaging.Checkpoints;
using XMod.Packaging.Manifests;
using XMod.Packaging.Nupkg;
using XMod.Packaging.SafeTensors;

namespace XMod.Packaging.Tests;

/// <summary>Half-precision packages: half the bytes, the dtype in the manifest (schema 2), validated as any package; a dtype that does not fit its schema is refused.</summary>
public sealed class HalfPrecisionPackageTests : IDisposable
{
    private static readonly PackageLimits s_limits = new() { MaxPackageBytes = 3_000_000, MaxExpandedBytes = 6_000_000 };
    private readonly TempDir _dir = new("xmod-half-packages-");

    public void Dispose() => _dir.Dispose();

    private static ValidatedPackage Validate(byte[] package, Func<TrunkReference, XModConfig?> trunkConfig)
    {
        using var stream = new MemoryStream(package);
        return PackageValidator.Validate(stream, s_limits, trunkConfig);
    }

    [Theory]
    [InlineData("bf16", SafeTensorsDType.BF16)]
    [InlineData("f16", SafeTensorsDType.F16)]
    public void HalfPrecisionPackagesHalveTheWeightsAndPassValidation(string dtype, SafeTensorsDType storage)
    {
        var model = TestPackages.ModelDir(_dir.Path, TestPackages.Config("de_DE"), seed: 3);
        var trunk32 = ModelPackages.Trunk(model, "nano", "1.0.0", Path.Combine(_dir.Path, "t32"));
        var trunk = ModelPackages.Trunk(model, "nano", "1.0.0", Path.Combine(_dir.Path, "t-" + dtype), dtype: dtype);
        var weights = Path.Combine(trunk, ModelFiles.Trunk);
        Assert.InRange((double)new FileInfo(weights).Length / new FileInfo(Path.Combine(trunk32, ModelFiles.Trunk)).Length, 0.49, 0.55);
        using (var st = SafeTensorsFile.Open(weights))
        {
            Assert.All(st.Tensors, t => Assert.Equal(storage, t.DType));
        }
        var de = ModelPackages.Language(model, "nano", "de_DE", "1.0.0", Path.Combine(_dir.Path, "de-" + dtype), dtype: dtype);
        var validatedTrunk = Validate(File.ReadAllBytes(NupkgWriter.Pack(trunk, Path.Combine(_dir.Path, "out"))), _ => null);
        Assert.Equal(dtype, validatedTrunk.Manifest.DType);
        Assert.Equal(2, validatedTrunk.Manifest.Schema);
        var reference = PackageManifest.Load(de).Trunk!;
        Assert.Equal(PackageManifest.Sha256Of(weights), reference.Sha256);
        var language = Validate(File.ReadAllBytes(NupkgWriter.Pack(de, Path.Combine(_dir.Path, "out"))), r => r == reference ? validatedTrunk.TrunkConfig : null);
        Assert.Equal(dtype, language.Manifest.DType);
    }

    [Theory]
    [InlineData("\"schema\": 2", "\"schema\": 1", "manifest dtype 'bf16' with schema 1")]
    [InlineData("\"dtype\": \"bf16\"", "\"dtype\": \"f8\"", "manifest dtype 'f8' with schema 2")]
    [InlineData("\"schema\": 2", "\"schema\": 3", "manifest schema 3 is not supported")]
    public void ADTypeThatDoesNotFitItsSchemaIsRefused(string from, string to, string expected)
    {
        var model = TestPackages.ModelDir(_dir.Path, TestPackages.Config("de_DE"), seed: 4);
        var trunk = ModelPackages.Trunk(model, "nano", "1.0.0", Path.Combine(_dir.Path, "t"), dtype: "bf16");
        var entries = TestPackages.Entries(NupkgWriter.Pack(trunk, Path.Combine(_dir.Path, "out")));
        var manifest = Encoding.UTF8.GetString(entries["xmod/xmod.json"]);
        Assert.Contains(from, manifest);
        entries["xmod/xmod.json"] = Encoding.UTF8.GetBytes(manifest.Replace(from, to, StringComparison.Ordinal));
        var e = Assert.Throws<PackageValidationException>(() => Validate(TestPackages.Zip(entries), _ => null));
        Assert.Contains(expected, e.Message);
    }
}
