using XMod.Packaging.Checkpoints;
using XMod.Packaging.Manifests;
using XMod.Runtime.Model;
using XMod.Runtime.Tokenization;
using XMod.Tensors;
using XMod.Tensors.SentencePiece;

namespace XMod.Runtime.Tests;

/// <summary>
/// Owned hot-swapping: a forward keeps the module set it started with; what a swap replaces or
/// removes is freed deterministically when the last forward using it ends, never by a finalizer.
/// </summary>
[Collection(Serial.Name)] // live handle counts and the global generator
public sealed class HotSwapTests : IDisposable
{
    private const string Text = "All human beings are born free and equal in dignity and rights.";
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-hotswap-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Tensor Ids() => Tensor.From(new long[] { 0, 17, 42, 23, 99, 5, 2 }, 1, 7);

    private static float[] Encode(XModModel model, string language)
    {
        using var scope = DisposeScope.Begin();
        using var inference = Torch.InferenceMode();
        return model.Encode(Ids(), null, [language]).ToArray<float>();
    }

    [Fact]
    public void AModuleReplacedDuringAForwardLivesUntilThatForwardEndsAndIsThenFreed()
    {
        Settle();
        var finalized = Tensor.FinalizedCount;
        using var model = XModModel.Initialize(ModelTests.Nano(), 1);
        model.Training = false;
        var before = Encode(model, "de_DE");
        var old = model.Modules["de_DE"];
        var baseline = Tensor.LiveHandles;

        float[]? during = null;
        using var started = new ManualResetEventSlim();
        using var swapped = new ManualResetEventSlim();
        var forward = new Thread(() =>
        {
            using var modules = model.PinModules(); // the forward starts on the current set
            started.Set();
            swapped.Wait();
            during = Encode(model, "de_DE");
        });
        forward.Start();
        started.Wait();

        Torch.ManualSeed(99);
        model.SetModule(XModModel.NewModule(model.Config, "de_DE"));
        Assert.NotSame(old, model.Modules["de_DE"]);
        Assert.All(old.Tensors.Values, t => Assert.False(t.IsDisposed)); // the running forward still uses it
        Assert.Equal(baseline + old.Tensors.Count, Tensor.LiveHandles);   // old and new module both alive

        swapped.Set();
        forward.Join();
        Assert.Equal(before, during); // the forward ran on the module it started with
        Assert.All(old.Tensors.Values, t => Assert.True(t.IsDisposed)); // freed when that forward ended
        Assert.Equal(baseline, Tensor.LiveHandles);
        Assert.NotEqual(before, Encode(model, "de_DE")); // later forwards use the new module
        Settle();
        Assert.Equal(finalized, Tensor.FinalizedCount);
    }

    [Fact]
    public void UnloadingFreesAtOnceWhenNothingEncodes()
    {
        Settle();
        var finalized = Tensor.FinalizedCount;
        using var model = XModModel.Initialize(ModelTests.Nano(), 2);
        var french = model.Modules["fr_XX"];
        var baseline = Tensor.LiveHandles;

        model.RemoveLanguage("fr_XX");
        Assert.All(french.Tensors.Values, t => Assert.True(t.IsDisposed));
        Assert.Equal(baseline - french.Tensors.Count, Tensor.LiveHandles);
        Assert.DoesNotContain("fr_XX", model.Languages);
        var e = Assert.Throws<XModException>(() => Encode(model, "fr_XX"));
        Assert.Equal("unknown language 'fr_XX': the model has en_XX, de_DE", e.Message);
        Assert.Throws<XModException>(() => model.RemoveLanguage("fr_XX"));
        Assert.NotEmpty(Encode(model, "de_DE")); // the others are untouched
        Settle();
        Assert.Equal(finalized, Tensor.FinalizedCount);
    }

    [Fact]
    public void AFailedSwapTakesNothingAndChangesNothing()
    {
        using var model = XModModel.Initialize(ModelTests.Nano(), 3);
        var config = model.Config;
        using var wrong = XModModel.NewModule(config with { AdapterReductionFactor = config.AdapterReductionFactor * 2 }, "de_DE");
        var e = Assert.Throws<XModException>(() => model.SetModule(wrong));
        Assert.Contains("has shape", e.Message);
        using var unknown = XModModel.NewModule(config, "yo_NG");
        Assert.Throws<XModException>(() => model.SetModule(unknown)); // not a language without addLanguage
        // A language's parts come together: embeddings without their tokenizer, a module under another key.
        using var embeddings = new LanguageEmbeddings("yo_NG", Torch.Zeros([50, config.HiddenSize]), Torch.Zeros([config.MaxPositions, config.HiddenSize]), Torch.Zeros([50]));
        e = Assert.Throws<XModException>(() => model.SetLanguage("yo_NG", unknown, embeddings, tokenizer: null));
        Assert.Equal("the tokenizer and the embeddings of 'yo_NG' do not match", e.Message);
        e = Assert.Throws<XModException>(() => model.SetLanguage("sw_KE", unknown, null, null));
        Assert.Equal("the module for 'sw_KE' is keyed 'yo_NG'", e.Message);
        e = Assert.Throws<XModException>(() => model.SetLanguage("yo_NG", null, null, null));
        Assert.Equal("language 'yo_NG' has no modules; an X-MOD trunk needs them", e.Message);
        Assert.Same(config, model.Config);
        Assert.All(wrong.Tensors.Values.Concat(unknown.Tensors.Values).Concat(embeddings.Tensors.Values), t => Assert.False(t.IsDisposed));
    }

    [Fact]
    public void UnloadingAPackagedLanguageFreesItsModuleEmbeddingsAndTokenizerAtOnce()
    {
        var (trunkDir, sha) = Trunk();
        var yo = LanguagePackage("yo_NG", sha, vocab: 300, seed: 5);
        Settle();
        var (tensors, objects, finalized) = Counters();
        using (var loaded = LoadedModel.OpenTrunk(trunkDir))
        {
            var trunkTensors = Tensor.LiveHandles;
            Assert.Equal("yo_NG", loaded.AddLanguage(yo));
            var tokenizer = loaded.TokenizerFor("yo_NG");
            var module = loaded.Model.Modules["yo_NG"];
            var embeddings = loaded.Model.LanguageEmbeddings["yo_NG"];
            Assert.Equal(objects + 1, NativeObject.LiveCount); // the language's SentencePiece processor

            loaded.RemoveLanguage("yo_NG");
            Assert.True(tokenizer.Spm.IsDisposed);
            Assert.All(module.Tensors.Values.Concat(embeddings.Tensors.Values), t => Assert.True(t.IsDisposed));
            Assert.Equal(trunkTensors, Tensor.LiveHandles);
            Assert.Equal(objects, NativeObject.LiveCount);
        }
        Assert.Equal(tensors, Tensor.LiveHandles);
        Settle();
        Assert.Equal((tensors, objects, finalized), Counters());
    }

    [Fact]
    public void EncodingWhileLanguagesLoadAndUnloadNeitherCrashesNorLeaks()
    {
        var (trunkDir, sha) = Trunk();
        // Two builds of one language with different vocabularies: a forward that mixed one's
        // tokenizer with the other's embeddings would index past a table or get the wrong width.
        var yoSmall = LanguagePackage("yo_NG", sha, vocab: 300, seed: 5);
        var yoLarge = LanguagePackage("yo_NG", sha, vocab: 400, seed: 6);
        var de = LanguagePackage("de_DE", sha, vocab: null, seed: 7);
        Settle();
        var (tensors, objects, finalized) = Counters();
        var encodes = 0;
        var failures = new List<Exception>();
        using (var loaded = LoadedModel.OpenTrunk(trunkDir))
        {
            var model = loaded.Model;
            model.Training = false;
            loaded.AddLanguage(de);
            using var stop = new CancellationTokenSource();
            var encoders = Enumerable.Range(0, 2).Select(_ => new Thread(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        using var modules = model.PinModules();
                        var language = model.Languages.Contains("yo_NG") ? "yo_NG" : "de_DE";
                        using var scope = DisposeScope.Begin();
                        using var inference = Torch.InferenceMode();
                        Tensor ids;
                        long vocab;
                        if (language == "yo_NG")
                        {
                            var tokenizer = loaded.TokenizerFor(language);
                            var tokens = tokenizer.Encode(Text).Select(i => (long)i).ToArray();
                            ids = Tensor.From(tokens, 1, tokens.Length);
                            vocab = tokenizer.VocabSize;
                        }
                        else
                        {
                            ids = Ids();
                            vocab = model.VocabSizeOf(language);
                        }
                        var logits = model.LmHead(model.Encode(ids, null, [language]), language);
                        if (logits.Size(-1) != vocab)
                        {
                            throw new InvalidOperationException($"logits over {logits.Size(-1)} ids for a tokenizer of {vocab}");
                        }
                        Interlocked.Increment(ref encodes);
                    }
                    catch (Exception e)
                    {
                        lock (failures)
                        {
                            failures.Add(e);
                        }
                    }
                }
            })).ToList();
            encoders.ForEach(t => t.Start());
            for (var i = 0; i < 300; i++)
            {
                switch (i % 4)
                {
                    case 0: loaded.AddLanguage(yoSmall); break;
                    case 1: loaded.AddLanguage(yoLarge); break; // replaces the loaded build
                    case 2: loaded.RemoveLanguage("yo_NG"); break;
                    default: loaded.AddLanguage(de); break;     // replaces de_DE with itself
                }
            }
            stop.Cancel();
            encoders.ForEach(t => t.Join());
        }
        Assert.Empty(failures);
        Assert.True(encodes > 0, "no forward ran");
        Assert.Equal(tensors, Tensor.LiveHandles);
        Assert.Equal(objects, NativeObject.LiveCount);
        Settle();
        Assert.Equal((tensors, objects, finalized), Counters());
    }

    private static (long Tensors, long Objects, long Finalized) Counters() =>
        (Tensor.LiveHandles, NativeObject.LiveCount, Tensor.FinalizedCount + NativeObject.FinalizedCount);

    /// <summary>A synthetic nano trunk with no languages of its own; returns it and its weights' sha256.</summary>
    private (string Dir, string Sha256) Trunk()
    {
        var dir = SyntheticCheckpoint.Write(Path.Combine(_dir, "trunk"), ModelTests.Nano() with { Languages = ["en_XX"] }, seed: 3);
        return (dir, ModelDirectory.TrunkSha256(dir));
    }

    /// <summary>
    /// A language package for the trunk: random modules and, with <paramref name="vocab"/>, its own
    /// SentencePiece vocabulary (trained on a real text) with matching embeddings.
    /// </summary>
    private string LanguagePackage(string code, string trunkSha, int? vocab, int seed)
    {
        var dir = Path.Combine(_dir, $"{code}-{seed}");
        Directory.CreateDirectory(dir);
        var config = ModelTests.Nano();
        Torch.ManualSeed((ulong)seed);
        using var module = XModModel.NewModule(config, code);
        using var scope = DisposeScope.Begin();
        var tensors = module.Tensors.ToList();
        if (vocab is { } pieces)
        {
            var text = Path.Combine(_dir, "text.txt");
            File.WriteAllLines(text, File.ReadAllLines("/usr/share/common-licenses/GPL-3").Where(l => l.Trim().Length > 20));
            var prefix = Path.Combine(_dir, $"spm-{seed}");
            SentencePieceTrainer.Train([text], prefix, new SentencePieceOptions { VocabSize = pieces, Threads = 1 });
            using var tokenizer = XModTokenizer.FromModel(SentencePieceModel.Load(prefix + ".model"), TokenIdScheme.Native);
            tokenizer.Save(Path.Combine(dir, ModelStore.TokenizerDir));
            tensors.Add(KeyValuePair.Create(XModLayout.WordEmbeddings, Torch.Randn([tokenizer.VocabSize, config.HiddenSize]) * 0.02));
            tensors.Add(KeyValuePair.Create(XModLayout.PositionEmbeddings, Torch.Randn([config.MaxPositions, config.HiddenSize]) * 0.02));
            tensors.Add(KeyValuePair.Create(XModLayout.LmBias, Torch.Zeros([tokenizer.VocabSize])));
        }
        ModelStore.WriteTensors(Path.Combine(dir, ModelFiles.LanguageModule), tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal));
        new PackageManifest
        {
            Kind = PackageKind.Language,
            Id = "lang-" + code[..2],
            Version = "1.0.0",
            Trunk = new TrunkReference("nano", "*", trunkSha),
            Language = new LanguageDescription(code, code[..2], code[..2], code, code, "Latn", "test"),
            Files = PackageManifest.Inventory(dir),
        }.Save(dir);
        return dir;
    }

    private static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }
}
