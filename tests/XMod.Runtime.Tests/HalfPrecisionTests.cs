using XMod.Packaging;
using XMod.Packaging.Checkpoints;
using XMod.Packaging.Manifests;
using XMod.Packaging.SafeTensors;
using XMod.Runtime.Model;
using XMod.Tensors;
using Xunit.Abstractions;

namespace XMod.Runtime.Tests;

/// <summary>
/// Half-precision packages: weights stored as bf16 or f16 are upcast to float32 when loaded, and a
/// model's outputs stay within a stated tolerance of the float32 model's (measured on the nano
/// model; docs/ARCHITECTURE.md states the same numbers).
/// </summary>
[Collection(Serial.Name)] // maps files: other tests count live mappings
public sealed class HalfPrecisionTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>Largest |difference| of the last hidden state (LayerNorm'd, values of order 1) allowed, per dtype.</summary>
    public const double BFloat16HiddenTolerance = 0.05;
    public const double Float16HiddenTolerance = 0.005;

    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-half-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(WeightPrecision.BFloat16, BFloat16HiddenTolerance)]
    [InlineData(WeightPrecision.Float16, Float16HiddenTolerance)]
    public void AHalfPrecisionRoundTripStaysWithinItsTolerance(string dtype, double tolerance)
    {
        var f32 = Path.Combine(_dir, "f32");
        using (var model = XModModel.Initialize(ModelTests.Nano(), 21))
        {
            ModelStore.Save(model, null, f32);
        }
        var half = Path.Combine(_dir, dtype);
        Directory.CreateDirectory(Path.Combine(half, ModelStore.ModulesDir));
        File.Copy(Path.Combine(f32, ModelStore.ConfigFile), Path.Combine(half, ModelStore.ConfigFile));
        WeightPrecision.Convert(Path.Combine(f32, ModelStore.TrunkFile), Path.Combine(half, ModelStore.TrunkFile), dtype);
        foreach (var l in ModelTests.Nano().Languages)
        {
            WeightPrecision.Convert(ModelStore.ModuleFile(f32, l), ModelStore.ModuleFile(half, l), dtype);
        }
        // Half the bytes (up to the header).
        var ratio = (double)new FileInfo(Path.Combine(half, ModelStore.TrunkFile)).Length / new FileInfo(Path.Combine(f32, ModelStore.TrunkFile)).Length;
        Assert.InRange(ratio, 0.49, 0.55);
        using var st = SafeTensorsFile.Open(Path.Combine(half, ModelStore.TrunkFile));
        Assert.All(st.Tensors, t => Assert.Equal(WeightPrecision.StorageType(dtype), t.DType));

        using var reference = ModelStore.Load(f32);
        foreach (var options in new[] { ModelLoadOptions.Default, ModelLoadOptions.Inference })
        {
            using var loaded = ModelStore.Load(half, options: options);
            Assert.All(loaded.Trunk.Values, t => Assert.Equal(DType.Float32, t.DType)); // upcast: every op runs in float32
            foreach (var l in ModelTests.Nano().Languages)
            {
                var expected = LazyLoadingTests.Encode(reference, l);
                var actual = LazyLoadingTests.Encode(loaded, l);
                var worst = expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max();
                output.WriteLine($"{dtype} {l}: max |hidden difference| {worst:G3} (tolerance {tolerance})");
                Assert.InRange(worst, 0, tolerance);
            }
        }
    }

    [Fact]
    public void BFloat16RoundsToNearestEvenAndKeepsSpecialValues()
    {
        Assert.Equal(1f, WeightPrecision.FromBFloat16(WeightPrecision.ToBFloat16(1f)));
        // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1).
        Assert.Equal(1f, WeightPrecision.FromBFloat16(WeightPrecision.ToBFloat16(1f + MathF.Pow(2, -8))));
        Assert.Equal(1f + MathF.Pow(2, -6), WeightPrecision.FromBFloat16(WeightPrecision.ToBFloat16(1f + MathF.Pow(2, -7) + MathF.Pow(2, -8))));
        Assert.True(float.IsNaN(WeightPrecision.FromBFloat16(WeightPrecision.ToBFloat16(float.NaN))));
        Assert.Equal(float.NegativeInfinity, WeightPrecision.FromBFloat16(WeightPrecision.ToBFloat16(float.NegativeInfinity)));
        // The same bits libtorch produces.
        var values = new[] { 0.1f, -3.14159f, 65504f, 1e-30f, 123456.78f };
        using var t = Tensor.From(values, values.Length);
        using var bf = t.To(DType.BFloat16);
        var torchBits = bf.ToBytes();
        var ours = values.SelectMany(v => BitConverter.GetBytes(WeightPrecision.ToBFloat16(v))).ToArray();
        Assert.Equal(torchBits, ours);
    }

    [Fact]
    public void AFloat16OverflowIsRefusedByName()
    {
        var src = Path.Combine(_dir, "big.safetensors");
        SafeTensorsWriter.Write(src, [TensorEntry.FromBytes("big", SafeTensorsDType.F32, [2], [.. BitConverter.GetBytes(1f), .. BitConverter.GetBytes(1e6f)])]);
        var e = Assert.Throws<PackagingException>(() => WeightPrecision.Convert(src, Path.Combine(_dir, "out.safetensors"), "f16"));
        Assert.Equal("tensor 'big' holds 1000000, beyond float16's range (±65504): store it as bf16 instead", e.Message);
        Assert.False(File.Exists(Path.Combine(_dir, "out.safetensors")));
        Assert.Throws<PackagingException>(() => WeightPrecision.Parse("f8"));
    }

    [Fact]
    public void HalfPrecisionPackagesRecordTheirDTypeAndBindLanguagesToTheHalfTrunk()
    {
        var model = SyntheticCheckpoint.Write(Path.Combine(_dir, "model"), ModelTests.Nano(), seed: 4);
        var trunk = ModelPackages.Trunk(model, "nano", "1.0.0", Path.Combine(_dir, "trunk"), dtype: "bf16");
        var manifest = PackageManifest.Load(trunk);
        Assert.Equal("bf16", manifest.DType);
        Assert.Equal(2, manifest.Schema);
        var trunkSha = PackageManifest.Sha256Of(Path.Combine(trunk, ModelStore.TrunkFile));
        var de = ModelPackages.Language(model, "nano", "de_DE", "1.0.0", Path.Combine(_dir, "de"), dtype: "bf16");
        var deManifest = PackageManifest.Load(de);
        Assert.Equal(trunkSha, deManifest.Trunk!.Sha256); // computed by converting the trunk the same way
        Assert.Equal("bf16", deManifest.DType);
        // float32 packages are what they always were: schema 1, no dtype field.
        var f32 = ModelPackages.Trunk(model, "nano", "1.0.0", Path.Combine(_dir, "trunk32"));
        Assert.DoesNotContain("dtype", File.ReadAllText(Path.Combine(f32, PackageManifest.FileName)));
        Assert.Equal(1, PackageManifest.Load(f32).Schema);

        // The runtime loads the half-precision trunk and language (upcast) and encodes.
        using var loaded = LoadedModel.OpenTrunk(trunk, ModelLoadOptions.Inference);
        Assert.Equal(trunkSha, loaded.TrunkSha256);
        Assert.Equal("de_DE", loaded.AddLanguage(de, map: true));
        Assert.NotEmpty(LazyLoadingTests.Encode(loaded.Model, "de_DE"));
        Assert.All(loaded.Model.Modules["de_DE"].Tensors.Values, t => Assert.Equal(DType.Float32, t.DType));
    }
}
