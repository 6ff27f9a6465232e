using System.Text.Json;
using XMod.Packaging.Caching;
using XMod.Packaging.Checkpoints;
using XMod.Packaging.Manifests;
using XMod.Runtime.Model;
using XMod.Runtime.Serving;
using XMod.Runtime.Tokenization;
using XMod.Tensors;
using XMod.Tensors.SentencePiece;

namespace XMod.Runtime.Tests;

/// <summary>
/// The runtime API loads an installed language on its first use (memory-mapped from the cache)
/// and unloads the least recently used past MaxLoadedLanguages.
/// </summary>
[Collection(Serial.Name)] // live mapping counts
public sealed class RuntimeLazyTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("xmod-runtime-lazy-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    /// <summary>A cache with a nano trunk (with a tokenizer) and its three languages installed.</summary>
    private void Install()
    {
        var work = Path.Combine(_home, "work");
        Directory.CreateDirectory(work);
        var text = Path.Combine(work, "text.txt");
        File.WriteAllLines(text, File.ReadAllLines("/usr/share/common-licenses/GPL-3").Where(l => l.Trim().Length > 20));
        SentencePieceTrainer.Train([text], Path.Combine(work, "spm"), new SentencePieceOptions { VocabSize = 200, Threads = 1 });
        using var tokenizer = XModTokenizer.FromModel(SentencePieceModel.Load(Path.Combine(work, "spm.model")), TokenIdScheme.Native);
        var config = ModelTests.Nano() with { VocabSize = tokenizer.VocabSize };
        var model = SyntheticCheckpoint.Write(Path.Combine(work, "model"), config, seed: 8);
        tokenizer.Save(Path.Combine(model, ModelStore.TokenizerDir));
        var cache = new LocalCache(_home);
        var trunkDir = ModelPackages.Trunk(model, "nano", "1.0.0", cache.SnapshotDir("nano", "1.0.0"));
        var sha = PackageManifest.Sha256Of(Path.Combine(trunkDir, ModelStore.TrunkFile));
        var installed = new List<InstalledPackage> { new("nano", "1.0.0", PackageKind.Trunk, "", null, sha, null, "test", DateTimeOffset.UtcNow) };
        foreach (var l in config.Languages)
        {
            var id = "nano.lang-" + l[..2];
            ModelPackages.Language(model, "nano", l, "1.0.0", cache.SnapshotDir(id, "1.0.0"));
            installed.Add(new(id, "1.0.0", PackageKind.Language, "", "nano", sha, l, "test", DateTimeOffset.UtcNow));
        }
        File.WriteAllText(Path.Combine(cache.Root, "installed.json"), JsonSerializer.Serialize(installed));
    }

    [Fact]
    public void ALanguageIsLoadedOnFirstUseAndTheLeastRecentlyUsedIsUnloadedPastTheLimit()
    {
        Install();
        var mappings = MappedFile.LiveMappings;
        using (var runtime = XModRuntime.Open(new XModRuntimeOptions { Home = _home, Trunk = "nano", MaxLoadedLanguages = 2 }))
        {
            Assert.Equal(0, runtime.LoadedModuleCount);
            Assert.True(MappedFile.LiveMappings > mappings); // the trunk is mapped from the cache
            var german = runtime.Encode("All human beings are born free", "de");
            Assert.Equal(1, runtime.LoadedModuleCount); // German alone, loaded on its first use
            Assert.Equal(["de_DE"], runtime.Languages);
            runtime.Encode("All human beings are born free", "fr");
            Assert.Equal(2, runtime.LoadedModuleCount);
            runtime.Encode("All human beings are born free", "de"); // de is now the most recent
            runtime.FillMask("All human beings are <mask> free", "en");
            Assert.Equal(2, runtime.LoadedModuleCount);
            Assert.Equal(["de_DE", "en_XX"], runtime.Languages.Order(StringComparer.Ordinal)); // fr, least recently used, went
            Assert.Equal(german, runtime.Encode("All human beings are born free", "de"));
            var e = Assert.Throws<XModException>(() => runtime.Encode("x", "yo"));
            Assert.Contains("xmod-hub install", e.Message); // not installed: one line saying what to do
        }
        Assert.Equal(mappings, MappedFile.LiveMappings); // everything unmapped with the runtime
        using var strict = XModRuntime.Open(new XModRuntimeOptions { Home = _home, Trunk = "nano", LoadOnFirstUse = false });
        var refused = Assert.Throws<XModException>(() => strict.Encode("x", "de"));
        Assert.Contains("call LoadLanguage first", refused.Message);
    }
}
