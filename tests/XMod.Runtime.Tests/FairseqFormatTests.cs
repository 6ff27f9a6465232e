using XMod.Packaging.Checkpoints;
using XMod.Runtime.Model;
using XMod.Runtime.Tokenization;
using XMod.Tensors.SentencePiece;

namespace XMod.Runtime.Tests;

/// <summary>
/// fairseq's own release layout (model.pt + dict.txt + sentencepiece.bpe.model), written by
/// python3-torch under fairseq's names with args/cfg/optimizer entries beside the weights.
/// </summary>
public sealed class FairseqFormatTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-fairseq-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static XModConfig Config(int vocab) => ModelTests.Nano() with { HiddenSize = 64, NumHeads = 1, IntermediateSize = 128, VocabSize = vocab };

    /// <summary>Writes a fairseq folder from an HF export of <paramref name="model"/>; <paramref name="cfgExtra"/> goes into the pickled cfg.</summary>
    private string WriteFairseq(XModModel model, SentencePieceModel spm, string cfgExtra = "None")
    {
        var hf = Path.Combine(_dir, "hf");
        HuggingFaceFormat.Export(model, null, hf);
        var fs = Path.Combine(_dir, "fairseq");
        Directory.CreateDirectory(fs);
        File.WriteAllBytes(Path.Combine(fs, "sentencepiece.bpe.model"), spm.ToBytes());
        File.WriteAllLines(Path.Combine(fs, "dict.txt"), Enumerable.Range(3, spm.VocabSize - 3).Select(i => $"{spm.IdToPiece(i)} {1000 - i}"));
        var marker = Path.Combine(_dir, "pwned");
        Python.Run($$"""
            import torch, json, struct, collections, os, sys, types, argparse, re
            raw = open(os.path.join(r"{{hf}}", "model.safetensors"), "rb").read()
            n = struct.unpack("<Q", raw[:8])[0]
            header = json.loads(raw[8:8 + n])
            hf = dict()
            for k, v in header.items():
                if k == "__metadata__": continue
                b, e = v["data_offsets"]
                hf[k] = torch.frombuffer(bytearray(raw[8 + n + b:8 + n + e]), dtype=torch.float32).reshape(v["shape"])
            E = "encoder.sentence_encoder."
            rules = [
                (r"^roberta\.embeddings\.word_embeddings\.", E + "embed_tokens."),
                (r"^roberta\.embeddings\.position_embeddings\.", E + "embed_positions."),
                (r"^roberta\.embeddings\.LayerNorm\.", E + "layernorm_embedding."),
                (r"^roberta\.encoder\.layer\.(\d+)\.attention\.self\.query\.", E + r"layers.\1.self_attn.q_proj."),
                (r"^roberta\.encoder\.layer\.(\d+)\.attention\.self\.key\.", E + r"layers.\1.self_attn.k_proj."),
                (r"^roberta\.encoder\.layer\.(\d+)\.attention\.self\.value\.", E + r"layers.\1.self_attn.v_proj."),
                (r"^roberta\.encoder\.layer\.(\d+)\.attention\.output\.dense\.", E + r"layers.\1.self_attn.out_proj."),
                (r"^roberta\.encoder\.layer\.(\d+)\.attention\.output\.LayerNorm\.", E + r"layers.\1.self_attn_layer_norm."),
                (r"^roberta\.encoder\.layer\.(\d+)\.intermediate\.dense\.", E + r"layers.\1.fc1."),
                (r"^roberta\.encoder\.layer\.(\d+)\.output\.dense\.", E + r"layers.\1.fc2."),
                (r"^roberta\.encoder\.layer\.(\d+)\.output\.LayerNorm\.", E + r"layers.\1.final_layer_norm."),
                (r"^roberta\.encoder\.layer\.(\d+)\.output\.adapter_modules\.(\w+)\.dense1\.", E + r"layers.\1.adapter_modules.\2.fc1."),
                (r"^roberta\.encoder\.layer\.(\d+)\.output\.adapter_modules\.(\w+)\.dense2\.", E + r"layers.\1.adapter_modules.\2.fc2."),
                (r"^lm_head\.dense\.", "encoder.lm_head.dense."),
                (r"^lm_head\.layer_norm\.", "encoder.lm_head.layer_norm."),
                (r"^lm_head\.bias$", "encoder.lm_head.bias"),
            ]
            sd = collections.OrderedDict()
            sd[E + "version"] = torch.Tensor([3])
            # fairseq's ModuleDict keeps cfg.model.languages' order; the safetensors header is sorted
            langs = json.loads('{{System.Text.Json.JsonSerializer.Serialize(model.Config.Languages)}}')
            def lang_rank(k):
                m = re.search(r"adapter_modules\.(\w+)\.", k)
                return langs.index(m.group(1)) if m else -1
            keys = sorted([k for k in header if k != "__metadata__"], key=lang_rank)
            for k in ["roberta.embeddings.word_embeddings.weight"] + keys:
                if k == "roberta.embeddings.token_type_embeddings.weight": continue
                name = k
                for pat, rep in rules:
                    name = re.sub(pat, rep, name)
                assert name != k, k
                sd[name] = hf[k]
            sd["encoder.lm_head.weight"] = sd[E + "embed_tokens.weight"]   # tied: the same tensor
            # omegaconf's DictConfig as fairseq pickles its cfg: a class from a module only Python has
            sys.modules["omegaconf"] = types.ModuleType("omegaconf")
            mod = types.ModuleType("omegaconf.dictconfig"); sys.modules["omegaconf.dictconfig"] = mod
            class DictConfig:
                def __init__(self, content): self._content = content
            DictConfig.__module__ = "omegaconf.dictconfig"; mod.DictConfig = DictConfig
            class Evil:
                def __reduce__(self): return (os.system, ("touch " + r"{{marker}}",))
            cfg = DictConfig(dict(model=dict(languages=["en_XX"], arch="xmod_base"), extra={{cfgExtra}}))
            state = {"args": argparse.Namespace(arch="xmod_base", lr=[0.0007]), "cfg": cfg, "model": sd,
                     "optimizer_history": [{"criterion_name": "MaskedLmLoss", "num_updates": 125000}],
                     "extra_state": {"epoch": 3, "seen": {1, 2}, "ratio": 0.5}, "last_optimizer_state": None}
            torch.save(state, os.path.join(r"{{fs}}", "model.pt"))
            """);
        return fs;
    }

    private SentencePieceModel TrainSpm()
    {
        var prefix = Path.Combine(_dir, "xlmr");
        SentencePieceTrainer.Train(["/usr/share/common-licenses/GPL-3"], prefix, new SentencePieceOptions { VocabSize = 300, FairseqSpecialIds = false, Threads = 1 });
        return SentencePieceModel.Load(prefix + ".model");
    }

    [TorchFact]
    public void ImportsFairseqsReleaseLayout()
    {
        using var spm = TrainSpm();
        using var model = XModModel.Initialize(Config(spm.VocabSize + 2), 41);
        var fs = WriteFairseq(model, spm);
        var outDir = Path.Combine(_dir, "imported");
        var (config, hasTokenizer) = HuggingFaceFormat.Import(fs, outDir);
        Assert.True(hasTokenizer);
        Assert.Equal(model.Config.Languages, config.Languages); // fairseq's order, which language ids index
        Assert.Equal(1, config.NumHeads);
        using var imported = ModelStore.Load(outDir);
        const string tokenTypes = "roberta.embeddings.token_type_embeddings.weight";
        var a = model.NamedParameters.Where(kv => kv.Key != tokenTypes).ToList();
        var b = imported.NamedParameters.Where(kv => kv.Key != tokenTypes).ToList();
        Assert.Equal(a.Select(kv => kv.Key), b.Select(kv => kv.Key));
        for (var i = 0; i < a.Count; i++)
        {
            Assert.True(a[i].Value.ToBytes().AsSpan().SequenceEqual(b[i].Value.ToBytes()), $"{a[i].Key} differs");
        }
        Assert.All(imported.NamedParameters.Single(kv => kv.Key == tokenTypes).Value.ToArray<float>(), v => Assert.Equal(0f, v));
        using var tokenizer = XModTokenizer.Load(Path.Combine(outDir, ModelStore.TokenizerDir));
        using var reference = XModTokenizer.FromModel(SentencePieceModel.FromBytes(spm.ToBytes()), TokenIdScheme.XlmR);
        Assert.Equal(reference.Encode("This License applies to any program."), tokenizer.Encode("This License applies to any program."));
        Assert.False(File.Exists(Path.Combine(_dir, "pwned")));
    }

    [TorchFact]
    public void RefusesAHostileCfgAndADictionaryThatDoesNotMatch()
    {
        using var spm = TrainSpm();
        using var model = XModModel.Initialize(Config(spm.VocabSize + 2), 42);
        var fs = WriteFairseq(model, spm, cfgExtra: "Evil()");
        var e = Assert.ThrowsAny<XModException>(() => HuggingFaceFormat.Import(fs, Path.Combine(_dir, "out1")));
        Assert.Contains("it calls posix.system", e.Message);
        Assert.False(File.Exists(Path.Combine(_dir, "pwned")));
        Assert.False(Directory.Exists(Path.Combine(_dir, "out1")));

        fs = WriteFairseq(model, spm);
        var dict = Path.Combine(fs, "dict.txt");
        var lines = File.ReadAllLines(dict);
        (lines[5], lines[6]) = (lines[6], lines[5]);
        File.WriteAllLines(dict, lines);
        var mismatch = Assert.ThrowsAny<XModException>(() => HuggingFaceFormat.Import(fs, Path.Combine(_dir, "out2")));
        Assert.Contains("line 6 is", mismatch.Message);
        Assert.Contains("does not match the SentencePiece model", mismatch.Message);
    }
}
