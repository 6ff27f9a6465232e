using XMod.Packaging.Checkpoints;
using XMod.Packaging.SafeTensors;
using XMod.Runtime.Model;
using XMod.Tensors;

namespace XMod.Runtime.Tests;

[Collection(Serial.Name)] // initialisation seeds libtorch's global generator
public sealed class ModelTests : IDisposable
{
    private static readonly string[] s_langs = ["en_XX", "de_DE", "fr_XX"];
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-model-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static XModConfig Nano(bool shared = false, bool preNorm = false) => XModConfig.Preset("nano") with
    {
        VocabSize = 100,
        Languages = s_langs,
        SharedModule = shared,
        PreNorm = preNorm,
        AdapterLayerNorm = preNorm,
        AdapterReuseLayerNorm = !preNorm,
        LnBeforeAdapter = !preNorm,
    };

    private static Tensor Ids(int seed, int batch, int length)
    {
        var rng = new Random(seed);
        var ids = new long[batch * length];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = i % length == 0 ? 0 : rng.Next(4, 100);
        }
        return Tensor.From(ids, batch, length);
    }

    [Fact]
    public void MixedLanguageBatchEqualsEachExampleAlone()
    {
        using var model = XModModel.Initialize(Nano(), 1);
        using var scope = DisposeScope.Begin();
        var ids = Ids(2, 5, 12);
        string[] langs = ["de_DE", "en_XX", "de_DE", "fr_XX", "en_XX"];
        var batch = model.Encode(ids, null, langs);
        Assert.Equal([5L, 12, 32], batch.Shape);
        for (var i = 0; i < langs.Length; i++)
        {
            var alone = model.Encode(ids.Narrow(0, i, 1), null, [langs[i]]);
            var diff = (batch.Narrow(0, i, 1) - alone).Abs().Max(2).Values.Max(1).Values.Item();
            Assert.True(diff < 1e-5, $"example {i} ({langs[i]}) differs by {diff}");
        }
        // And the languages matter: the same ids under another language's module differ.
        var asFrench = model.Encode(ids.Narrow(0, 0, 1), null, ["fr_XX"]);
        Assert.True((batch.Narrow(0, 0, 1) - asFrench).Abs().Sum().Item() > 1e-3);
    }

    [Fact]
    public void ReplacingAModuleChangesOnlyItsLanguagesOutputs()
    {
        using var model = XModModel.Initialize(Nano(), 1);
        using var scope = DisposeScope.Begin();
        var ids = Ids(3, 4, 10);
        string[] langs = ["en_XX", "de_DE", "fr_XX", "de_DE"];
        var before = model.Encode(ids, null, langs);
        Torch.ManualSeed(99);
        model.SetModule(XModModel.NewModule(model.Config, "de_DE")); // the model frees the replaced module
        var after = model.Encode(ids, null, langs);
        for (var i = 0; i < langs.Length; i++)
        {
            var changed = (before.Narrow(0, i, 1) - after.Narrow(0, i, 1)).Abs().Sum().Item();
            if (langs[i] == "de_DE")
            {
                Assert.True(changed > 1e-3, $"example {i} (de_DE) did not change");
            }
            else
            {
                Assert.Equal(0, changed);
            }
        }
    }

    [Fact]
    public void PaddingDoesNotChangeTheRealTokens()
    {
        using var model = XModModel.Initialize(Nano(), 4);
        using var scope = DisposeScope.Begin();
        var ids = Ids(5, 1, 8);
        var padded = Torch.Cat([ids, Torch.Ones([1, 4], DType.Int64)], 1); // pad id 1
        var mask = Torch.Cat([Torch.Ones([1, 8], DType.Int64), Torch.Zeros([1, 4], DType.Int64)], 1);
        var plain = model.Encode(ids, null, ["en_XX"]);
        var withPad = model.Encode(padded, mask, ["en_XX"]).Narrow(1, 0, 8);
        Assert.True((plain - withPad).Abs().Max(2).Values.Max(1).Values.Item() < 1e-5);
    }

    [Fact]
    public void UnknownOrMissingLanguageNamesTheModelsLanguages()
    {
        using var model = XModModel.Initialize(Nano(), 1);
        using var scope = DisposeScope.Begin();
        var e = Assert.Throws<XModException>(() => model.Encode(Ids(1, 1, 4), null, ["yo_NG"]));
        Assert.Equal("unknown language 'yo_NG': the model has en_XX, de_DE, fr_XX", e.Message);
        var missing = Assert.Throws<XModException>(() => model.Encode(Ids(1, 1, 4), null, [null!]));
        Assert.Contains("no default_language", missing.Message);
        Assert.Throws<XModException>(() => model.Encode(Ids(1, 2, 4), null, ["en_XX"]));
    }

    [Fact]
    public void SharedBaselineRoutesEveryLanguageThroughOneModule()
    {
        using var model = XModModel.Initialize(Nano(shared: true), 1);
        Assert.Equal(["shared"], model.Modules.Keys);
        Assert.Equal(
            XModLayout.Count(XModLayout.Trunk(model.Config)) + XModLayout.Count(XModLayout.Module(model.Config, "shared")),
            model.AllParameters.Sum(p => p.NumEl));
        using var scope = DisposeScope.Begin();
        var ids = Ids(6, 2, 6);
        var a = model.Encode(ids, null, ["en_XX", "de_DE"]);
        var b = model.Encode(ids, null, ["fr_XX", "fr_XX"]);
        Assert.Equal(0, (a - b).Abs().Sum().Item()); // language does not matter with one module
    }

    [Fact]
    public void PreNormVariantHasItsExtraLayerNormsAndRuns()
    {
        var config = Nano(preNorm: true);
        var names = XModLayout.Trunk(config).Select(s => s.Name).ToList();
        Assert.Contains("roberta.encoder.LayerNorm.weight", names);
        Assert.Contains("roberta.encoder.layer.1.output.adapter_layer_norm.bias", names);
        using var model = XModModel.Initialize(config, 2);
        using var scope = DisposeScope.Begin();
        var h = model.Encode(Ids(7, 2, 5), null, ["en_XX", "fr_XX"]);
        // The final encoder LayerNorm (weight 1, bias 0) leaves each position with mean 0.
        Assert.True(h.Mean(-1).Abs().Max(1).Values.Max(0).Values.Item() < 1e-5);
    }

    [Fact]
    public void XModBaseLayoutHasThePapersParameterCounts()
    {
        var languages = "en_XX id_ID vi_VN ru_RU fa_IR sv_SE ja_XX fr_XX de_DE ro_RO ko_KR hu_HU es_XX fi_FI uk_UA da_DK pt_XX no_XX th_TH pl_PL bg_BG nl_XX zh_CN he_IL el_GR it_IT sk_SK hr_HR tr_TR ar_AR cs_CZ lt_LT hi_IN zh_TW ca_ES ms_MY sl_SI lv_LV ta_IN bn_IN et_EE az_AZ sq_AL sr_RS kk_KZ ka_GE tl_XX ur_PK is_IS hy_AM ml_IN mk_MK be_BY la_VA te_IN eu_ES gl_ES mn_MN kn_IN ne_NP sw_KE si_LK mr_IN af_ZA gu_IN cy_GB eo_EO km_KH ky_KG uz_UZ ps_AF pa_IN ga_IE ha_NG am_ET lo_LA ku_TR so_SO my_MM or_IN sa_IN".Split(' ');
        Assert.Equal(81, languages.Length);
        var config = XModConfig.Preset("base") with { Languages = languages };
        var module = XModLayout.Count(XModLayout.Module(config, "de_DE"));
        var total = XModLayout.Count(XModLayout.Trunk(config)) + languages.Length * module;
        Assert.Equal(7_091_712, module); // "each language's modules ~ 7.1M parameters"
        // Trunk: embeddings 192,398,592 + 12 layers x 7,087,872 + LM head 842,130 = 278,295,186;
        // plus 81 x 7,091,712 modules: 852,723,858, the reference's "852.7M parameters".
        Assert.Equal(278_295_186, XModLayout.Count(XModLayout.Trunk(config)));
        Assert.Equal(852_723_858, total);
    }

    [Fact]
    public void SaveAndLoadRoundTripsBitExactlyWithOneFilePerLanguage()
    {
        using var model = XModModel.Initialize(Nano(), 8);
        var dir = Path.Combine(_dir, "model");
        ModelStore.Save(model, null, dir);
        Assert.True(File.Exists(Path.Combine(dir, "trunk.safetensors")));
        Assert.Equal(["de_DE.safetensors", "en_XX.safetensors", "fr_XX.safetensors"],
            Directory.GetFiles(Path.Combine(dir, "modules")).Select(Path.GetFileName).Order());
        using (var st = SafeTensorsFile.Open(Path.Combine(dir, "trunk.safetensors")))
        {
            Assert.DoesNotContain(st.Names, n => n.Contains("adapter_modules", StringComparison.Ordinal));
        }
        using var loaded = ModelStore.Load(dir);
        AssertSameParameters(model, loaded);

        using var onlyGerman = ModelStore.Load(dir, ["de_DE"]);
        Assert.Equal(["de_DE"], onlyGerman.Modules.Keys);
    }

    [Fact]
    public void HuggingFaceExportThenImportIsBitExact()
    {
        using var model = XModModel.Initialize(Nano(), 9);
        var hf = Path.Combine(_dir, "hf");
        HuggingFaceFormat.Export(model, null, hf);
        using (var st = SafeTensorsFile.Open(Path.Combine(hf, "model.safetensors")))
        {
            Assert.Contains("roberta.encoder.layer.1.output.adapter_modules.de_DE.dense2.weight", st.Names);
            Assert.Equal([32L, 16], st.Info("roberta.encoder.layer.1.output.adapter_modules.de_DE.dense2.weight").Shape);
        }
        var outDir = Path.Combine(_dir, "imported");
        HuggingFaceFormat.Import(hf, outDir);
        using var imported = ModelStore.Load(outDir);
        AssertSameParameters(model, imported);
    }

    [Fact]
    public void ImportNamesTheMissingOrMisshapenTensorAndWritesNothing()
    {
        using var model = XModModel.Initialize(Nano(), 10);
        var hf = Path.Combine(_dir, "hf");
        HuggingFaceFormat.Export(model, null, hf);
        var weights = Path.Combine(hf, "model.safetensors");
        const string victim = "roberta.encoder.layer.0.attention.self.key.weight";

        Rewrite(weights, entries => entries.Where(e => e.Name != victim));
        var missing = Assert.Throws<XModException>(() => HuggingFaceFormat.Import(hf, Path.Combine(_dir, "out1")));
        Assert.Contains($"missing tensor {victim} [32, 32]", missing.Message);
        Assert.False(Directory.Exists(Path.Combine(_dir, "out1")));

        HuggingFaceFormat.Export(model, null, hf);
        Rewrite(weights, entries => entries.Select(e => e.Name == victim ? TensorEntry.FromBytes(e.Name, SafeTensorsDType.F32, [32, 16], new byte[32 * 16 * 4]) : e));
        var shape = Assert.Throws<XModException>(() => HuggingFaceFormat.Import(hf, Path.Combine(_dir, "out2")));
        Assert.Contains($"tensor {victim} has shape [32, 16], config.json needs [32, 32]", shape.Message);

        HuggingFaceFormat.Export(model, null, hf);
        Rewrite(weights, entries => entries.Append(TensorEntry.FromBytes("roberta.encoder.layer.0.output.adapter_modules.yo_NG.dense1.bias", SafeTensorsDType.F32, [16], new byte[64])));
        var extra = Assert.Throws<XModException>(() => HuggingFaceFormat.Import(hf, Path.Combine(_dir, "out3")));
        Assert.Contains("belongs to language 'yo_NG', which config.json does not list", extra.Message);

        // A tied decoder weight is accepted when equal to the embeddings, refused otherwise.
        HuggingFaceFormat.Export(model, null, hf);
        Rewrite(weights, entries => entries.Append(Copy(entries, XModLayout.WordEmbeddings, "lm_head.decoder.weight")));
        HuggingFaceFormat.Import(hf, Path.Combine(_dir, "out4"));
        Rewrite(weights, entries => entries.Select(e => e.Name == "lm_head.decoder.weight" ? TensorEntry.FromBytes(e.Name, SafeTensorsDType.F32, [100, 32], new byte[100 * 32 * 4]) : e));
        var untied = Assert.Throws<XModException>(() => HuggingFaceFormat.Import(hf, Path.Combine(_dir, "out5")));
        Assert.Contains("lm_head.decoder.weight differs from roberta.embeddings.word_embeddings.weight", untied.Message);
    }

    private static TensorEntry Copy(IEnumerable<TensorEntry> entries, string from, string to)
    {
        var e = entries.Single(x => x.Name == from);
        using var ms = new MemoryStream();
        e.WriteData(ms);
        return TensorEntry.FromBytes(to, e.DType, e.Shape, ms.ToArray());
    }

    /// <summary>Rewrites a safetensors file through a filter over its (fully read) entries.</summary>
    private static void Rewrite(string file, Func<IEnumerable<TensorEntry>, IEnumerable<TensorEntry>> edit)
    {
        List<TensorEntry> entries;
        using (var st = SafeTensorsFile.Open(file))
        {
            entries = st.Tensors.Select(i => TensorEntry.FromBytes(i.Name, i.DType, i.Shape, st.Data(i.Name).ToArray())).ToList();
        }
        SafeTensorsWriter.Write(file, edit(entries).ToList());
    }

    internal static void AssertSameParameters(XModModel expected, XModModel actual)
    {
        var a = expected.NamedParameters.ToList();
        var b = actual.NamedParameters.ToList();
        Assert.Equal(a.Select(kv => kv.Key), b.Select(kv => kv.Key));
        for (var i = 0; i < a.Count; i++)
        {
            Assert.True(a[i].Value.ToBytes().AsSpan().SequenceEqual(b[i].Value.ToBytes()), $"{a[i].Key} differs");
        }
    }
}
