using XMod.Packaging.Checkpoints;
using XMod.Packaging.SafeTensors;
using XMod.Runtime.Model;
using XMod.Tensors;

namespace XMod.Runtime.Tests;

/// <summary>
/// Loading only what is used: weights memory-mapped from their files (bit-identical to reading
/// them), modules loaded on the first use of their language and evicted past a limit, hostile
/// safetensors headers refused with one line.
/// </summary>
[Collection(Serial.Name)] // live mapping and handle counts
public sealed class LazyLoadingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-lazy-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly long[] s_ids = [0, 17, 42, 23, 99, 5, 2];

    internal static float[] Encode(XModModel model, string language)
    {
        using var scope = DisposeScope.Begin();
        using var inference = Torch.InferenceMode();
        model.Training = false;
        return model.Encode(Tensor.From(s_ids, 1, s_ids.Length), null, [language]).ToArray<float>();
    }

    private static float[] Logits(XModModel model, string language)
    {
        using var scope = DisposeScope.Begin();
        using var inference = Torch.InferenceMode();
        model.Training = false;
        return model.LmHead(model.Encode(Tensor.From(s_ids, 1, s_ids.Length), null, [language]), language).ToArray<float>();
    }

    /// <summary>A nano model directory (config, trunk, three modules) written by ModelStore.Save.</summary>
    private string SavedModel(ulong seed = 11)
    {
        var dir = Path.Combine(_dir, $"model-{seed}");
        using var model = XModModel.Initialize(ModelTests.Nano(), seed);
        ModelStore.Save(model, null, dir);
        return dir;
    }

    [Fact]
    public void AMappedLoadGivesBitIdenticalOutputsToARead()
    {
        var dir = SavedModel();
        var mappings = MappedFile.LiveMappings;
        using (var read = ModelStore.Load(dir))
        using (var mapped = ModelStore.Load(dir, options: ModelLoadOptions.Inference))
        {
            Assert.True(MappedFile.LiveMappings > mappings); // the trunk (and used modules) are views of mappings
            foreach (var language in ModelTests.Nano().Languages)
            {
                Assert.Equal(Encode(read, language), Encode(mapped, language));
                Assert.Equal(Logits(read, language), Logits(mapped, language));
            }
        }
        Assert.Equal(mappings, MappedFile.LiveMappings); // unmapped when the last tensor viewing them went
    }

    [Fact]
    public void AMappingLivesUntilItsLastTensorIsFreedAndWritesNeverReachTheFile()
    {
        var dir = SavedModel();
        var trunk = Path.Combine(dir, ModelStore.TrunkFile);
        var bytes = File.ReadAllBytes(trunk);
        var mappings = MappedFile.LiveMappings;
        var tensors = ModelStore.LoadWeights(trunk, map: true);
        Assert.Equal(mappings + 1, MappedFile.LiveMappings); // one mapping, its handle already closed
        var word = tensors[XModLayout.WordEmbeddings];
        var before = word.ToArray<float>();
        using (Torch.NoGrad())
        {
            word.ZeroInPlace(); // copy-on-write: a private copy of the pages, the file untouched
        }
        Assert.All(word.ToArray<float>(), v => Assert.Equal(0f, v));
        Assert.Equal(bytes, File.ReadAllBytes(trunk));
        foreach (var t in tensors.Values.Where(t => !ReferenceEquals(t, word)))
        {
            t.Dispose();
        }
        Assert.Equal(mappings + 1, MappedFile.LiveMappings); // the word embeddings still view it
        word.Dispose();
        Assert.Equal(mappings, MappedFile.LiveMappings);
        using var again = ModelStore.LoadWeights(trunk, map: true)[XModLayout.WordEmbeddings];
        Assert.Equal(before, again.ToArray<float>());
    }

    [Fact]
    public void OnlyTheUsedModuleIsLoadedAndEvictedModulesComeBackIdentical()
    {
        var dir = SavedModel();
        using var read = ModelStore.Load(dir);
        using var lazy = ModelStore.Load(dir, options: ModelLoadOptions.Inference);
        Assert.True(lazy.LoadsOnDemand);
        Assert.Equal(0, lazy.LoadedModuleCount);
        Assert.Equal(["en_XX", "de_DE", "fr_XX"], lazy.Languages); // every language is known

        var german = Encode(lazy, "de_DE");
        Assert.Equal(["de_DE"], lazy.LoadedModuleKeys); // encoding German holds the trunk and one module
        Assert.Equal(Encode(read, "de_DE"), german);
        Encode(lazy, "de_DE");
        Assert.Equal(1, lazy.LoadedModuleCount);

        Encode(lazy, "fr_XX");
        Assert.Equal(["de_DE", "fr_XX"], lazy.LoadedModuleKeys);
        lazy.MaxLoadedModules = 1; // the least recently used goes
        Assert.Equal(["fr_XX"], lazy.LoadedModuleKeys);
        Assert.Equal(Encode(read, "de_DE"), Encode(lazy, "de_DE")); // reloaded on use, identical
        Assert.Equal(["de_DE"], lazy.LoadedModuleKeys);

        lazy.EvictModule("de_DE");
        Assert.Equal(0, lazy.LoadedModuleCount);
        Assert.Contains("de_DE", lazy.Languages); // still a language of the model
        var e = Assert.Throws<XModException>(() => read.EvictModule("de_DE"));
        Assert.Contains("not opened to load languages on demand", e.Message);
        e = Assert.Throws<XModException>(() => ModelStore.Save(lazy, null, Path.Combine(_dir, "copy")));
        Assert.Contains("loads its languages on demand", e.Message);
    }

    [Fact]
    public void AForwardPinnedOnAModuleKeepsItWhileItIsEvicted()
    {
        var dir = SavedModel();
        using var lazy = ModelStore.Load(dir, options: ModelLoadOptions.Inference);
        var expected = Encode(lazy, "de_DE");
        var module = lazy.Modules["de_DE"];
        using (lazy.PinModules("de_DE"))
        {
            lazy.EvictModule("de_DE");
            Assert.All(module.Tensors.Values, t => Assert.False(t.IsDisposed)); // the pinned set still holds it
            Assert.Equal(expected, Encode(lazy, "de_DE"));
        }
        Assert.All(module.Tensors.Values, t => Assert.True(t.IsDisposed)); // freed when the pin ended
        Assert.Equal(0, lazy.LoadedModuleCount);
        using (lazy.PinModules("fr_XX"))
        {
            Assert.Equal(["fr_XX"], lazy.LoadedModuleKeys); // pinning for a language loads it first
        }
    }

    [Fact]
    public void ConcurrentForwardsInManyLanguagesWithAnEvictionLimitAllSucceed()
    {
        var dir = SavedModel();
        using var read = ModelStore.Load(dir);
        var languages = ModelTests.Nano().Languages;
        var expected = languages.ToDictionary(l => l, l => Encode(read, l));
        using var lazy = ModelStore.Load(dir, options: ModelLoadOptions.Inference with { MaxLoadedLanguages = 1 });
        var failures = new List<string>();
        var threads = Enumerable.Range(0, 3).Select(i => new Thread(() =>
        {
            for (var n = 0; n < 8; n++)
            {
                var l = languages[(i + n) % languages.Count];
                try
                {
                    if (!expected[l].SequenceEqual(Encode(lazy, l)))
                    {
                        lock (failures)
                        {
                            failures.Add($"{l}: different output");
                        }
                    }
                }
                catch (Exception e)
                {
                    lock (failures)
                    {
                        failures.Add($"{l}: {e.Message}");
                    }
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Empty(failures);
        Assert.Equal(1, lazy.LoadedModuleCount);
    }

    [Fact]
    public void AMisalignedTensorIsReadInsteadOfMappedWithTheSameValues()
    {
        var file = Path.Combine(_dir, "misaligned.safetensors");
        var floats = new[] { 1.5f, -2.25f, 3e-7f, 42f };
        SafeTensorsWriter.Write(file,
        [
            TensorEntry.FromBytes("a", SafeTensorsDType.U8, [1], [7]),
            TensorEntry.FromBytes("b", SafeTensorsDType.F32, [4], floats.SelectMany(BitConverter.GetBytes).ToArray()), // at data offset 1
        ]);
        var mapped = ModelStore.LoadWeights(file, map: true);
        try
        {
            Assert.Equal(floats, mapped["b"].ToArray<float>());
            Assert.Equal([(byte)7], mapped["a"].ToArray<byte>());
        }
        finally
        {
            foreach (var t in mapped.Values)
            {
                t.Dispose();
            }
        }
        // The native view itself refuses a misaligned offset rather than handing out an unaligned tensor.
        using var mapping = MappedFile.Open(file);
        var e = Assert.Throws<TorchException>(() => mapping.Tensor(9, DType.Float32, [4]));
        Assert.Contains("not aligned", e.Message);
        e = Assert.Throws<TorchException>(() => mapping.Tensor(mapping.Length - 4, DType.Float32, [4]));
        Assert.Contains("outside", e.Message);
    }

    public static TheoryData<string, string> HostileHeaders => new()
    {
        { """{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", "runs past the end of the file" },
        { """{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"v":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", "overlaps" },
        { """{"w":{"dtype":"F32","shape":[2],"data_offsets":[1,9]}}""", "gap of 1 bytes" },
        { """{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", "do not hold shape" },
        { """{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,99999999999]}}""", "do not hold shape" },
    };

    [Theory]
    [MemberData(nameof(HostileHeaders))]
    public void AHostileHeaderIsRefusedWithOneLineBeforeAnythingIsMapped(string header, string expected)
    {
        var file = Path.Combine(_dir, "hostile.safetensors");
        var json = System.Text.Encoding.UTF8.GetBytes(header);
        File.WriteAllBytes(file, [.. BitConverter.GetBytes((ulong)json.Length), .. json, .. new byte[8]]);
        var mappings = MappedFile.LiveMappings;
        var e = Assert.ThrowsAny<XModException>(() => ModelStore.LoadWeights(file, map: true));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(mappings, MappedFile.LiveMappings);
    }
}
