using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using XMod.Runtime.Formats;
using XMod.Runtime.Model;
using XMod.Runtime.Tokenization;
using XMod.Tensors.SentencePiece;

namespace XMod.Runtime.Tests;

/// <summary>
/// tokenizer.json (as transformers' XLMRobertaConverter writes it) and exported
/// sentencepiece.bpe.model give XLMRobertaTokenizer's ids; the reference is python3-sentencepiece
/// on the original model with XLMRobertaTokenizer's id mapping.
/// </summary>
[Collection(Serial.Name)]
public sealed class HfTokenizerTests : IDisposable
{
    private const string Text = "/usr/share/common-licenses/GPL-3";
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-hftok-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string[] s_texts =
    [
        "This License applies to any program or other work.",
        "   leading,   repeated    and trailing spaces   ",
        "\uFB01le \uFF26\uFF55\uFF4C\uFF4C\uFF57\uFF49\uFF44\uFF54\uFF48 \u2460 \u00BD caf\u0065\u0301", // NFKC: ligature, full width, circled, fraction, combining accent
        "unknown characters: \u6F22\u5B57 \U0001F642 \u222E \u0E01\u0E32",
        "tabs\tand\nnewlines\r\nand\u00A0no-break spaces",
        "",
        "Copyright <mask> Free Software <mask>.",
        "<mask>at the start and<mask>glued   <mask>",
    ];

    /// <summary>What XLMRobertaTokenizer gives: SentencePiece ids + 1, unknown 0 to 3, specials split out.</summary>
    private static List<int[]> Reference(string spmModel)
    {
        var input = JsonSerializer.Serialize(s_texts);
        var output = Python.Run($$"""
            import sentencepiece as spm, json
            sp = spm.SentencePieceProcessor(model_file=r"{{spmModel}}")
            mask = sp.get_piece_size() + 1
            conv = lambda i: 3 if i == 0 else i + 1
            def encode(text):
                ids = [0]
                parts = text.split("<mask>")
                for k, part in enumerate(parts):
                    if k < len(parts) - 1: part = part.rstrip()   # <mask> is AddedToken(lstrip=True)
                    ids += [conv(x) for x in sp.encode(part)]
                    if k < len(parts) - 1: ids.append(mask)
                return ids + [2]
            print(json.dumps([encode(t) for t in json.loads({{JsonSerializer.Serialize(input)}})]))
            """);
        return JsonSerializer.Deserialize<List<int[]>>(output)!;
    }

    private string TrainXlmRLayout()
    {
        var prefix = Path.Combine(_dir, "xlmr");
        SentencePieceTrainer.Train([Text], prefix, new SentencePieceOptions { VocabSize = 800, FairseqSpecialIds = false, Threads = 1 });
        return prefix + ".model";
    }

    /// <summary>tokenizer.json as XLMRobertaConverter writes it, from a SentencePiece model.</summary>
    private static JsonObject TokenizerJson(byte[] spm)
    {
        var proto = SentencePieceProto.Parse(spm);
        var vocab = new JsonArray();
        foreach (var special in new[] { "<s>", "<pad>", "</s>", "<unk>" })
        {
            vocab.Add(new JsonArray(special, 0.0));
        }
        foreach (var p in proto.Pieces.Skip(3))
        {
            vocab.Add(new JsonArray(p.Piece, (double)p.Score));
        }
        vocab.Add(new JsonArray("<mask>", 0.0));
        JsonObject Added(int id, string content, bool lstrip = false) => new()
        {
            ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = lstrip, ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
        };
        var n = vocab.Count;
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(Added(0, "<s>"), Added(1, "<pad>"), Added(2, "</s>"), Added(3, "<unk>"), Added(n - 1, "<mask>", lstrip: true)),
            ["normalizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["normalizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Precompiled", ["precompiled_charsmap"] = Convert.ToBase64String(proto.NormalizerBytes(SentencePieceProto.CharsMapField)!) },
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["Regex"] = " {2,}" }, ["content"] = " " }),
            },
            ["pre_tokenizer"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "\u2581", ["add_prefix_space"] = true },
            ["post_processor"] = new JsonObject { ["type"] = "TemplateProcessing" },
            ["decoder"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "\u2581", ["add_prefix_space"] = true },
            ["model"] = new JsonObject { ["type"] = "Unigram", ["unk_id"] = 3, ["vocab"] = vocab },
        };
    }

    private static XModTokenizer ReadTokenizer(string dir, int vocab)
    {
        var config = ModelTests.Nano() with { VocabSize = vocab };
        return HuggingFaceFormat.ReadTokenizer(dir, ref config)!;
    }

    [SentencePieceFact]
    public void TokenizerJsonGivesXlmRobertaTokenizerIds()
    {
        var model = TrainXlmRLayout();
        var spm = File.ReadAllBytes(model);
        Assert.NotNull(SentencePieceProto.Parse(spm).NormalizerBytes(SentencePieceProto.CharsMapField)); // a real NFKC charsmap
        var hf = Path.Combine(_dir, "hf");
        Directory.CreateDirectory(hf);
        File.WriteAllText(Path.Combine(hf, HfTokenizerFiles.TokenizerJson), TokenizerJson(spm).ToJsonString());
        var expected = Reference(model);
        using var fromModel = SentencePieceModel.Load(model);
        using var tokenizer = ReadTokenizer(hf, fromModel.VocabSize + 2);
        Assert.Equal(fromModel.VocabSize + 1, tokenizer.MaskId);
        for (var i = 0; i < s_texts.Length; i++)
        {
            Assert.Equal(expected[i], tokenizer.EncodeWithSpecialTokens(s_texts[i]));
        }
        Assert.Contains(XModTokenizer.Unk, expected[3]); // the unknown characters really are unknown
    }

    [SentencePieceFact]
    public void ExportedTokenizerLoadsBackAndMatchesXlmRobertaTokenizer()
    {
        var prefix = Path.Combine(_dir, "native");
        SentencePieceTrainer.Train([Text], prefix, new SentencePieceOptions { VocabSize = 800, Threads = 1 });
        using var native = XModTokenizer.FromModel(SentencePieceModel.Load(prefix + ".model"), TokenIdScheme.Native);
        using var model = XModModel.Initialize(ModelTests.Nano() with { VocabSize = native.VocabSize }, 5);
        var hf = Path.Combine(_dir, "hf");
        HuggingFaceFormat.Export(model, native, hf);
        foreach (var f in new[] { "config.json", "model.safetensors", "sentencepiece.bpe.model", "tokenizer_config.json", "special_tokens_map.json" })
        {
            Assert.True(File.Exists(Path.Combine(hf, f)), $"export lacks {f}");
        }
        Assert.False(File.Exists(Path.Combine(hf, XModTokenizer.MetadataFile)));
        using (var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(hf, "tokenizer_config.json"))))
        {
            Assert.Equal("XLMRobertaTokenizer", config.RootElement.GetProperty("tokenizer_class").GetString());
        }

        // XLMRobertaTokenizer on the exported file gives our ids.
        var expected = Reference(Path.Combine(hf, "sentencepiece.bpe.model"));
        for (var i = 0; i < s_texts.Length; i++)
        {
            Assert.Equal(expected[i], native.EncodeWithSpecialTokens(s_texts[i]));
        }

        // import-hf of the export: the same weights, the same ids (8001 = 8001, not 8002).
        var outDir = Path.Combine(_dir, "imported");
        HuggingFaceFormat.Import(hf, outDir);
        using var imported = ModelStore.Load(outDir);
        ModelTests.AssertSameParameters(model, imported);
        using var back = XModTokenizer.Load(Path.Combine(outDir, ModelStore.TokenizerDir));
        Assert.Equal(native.VocabSize, back.VocabSize);
        Assert.Equal(native.MaskId, back.MaskId);
        foreach (var t in s_texts)
        {
            Assert.Equal(native.EncodeWithSpecialTokens(t), back.EncodeWithSpecialTokens(t));
        }
    }

    [Fact]
    public void HostileTokenizerJsonIsRefusedWithAReason()
    {
        var spm = File.ReadAllBytes(TrainXlmRLayout());
        var hf = Path.Combine(_dir, "hf");
        Directory.CreateDirectory(hf);
        var vocab = SentencePieceProto.Parse(spm).Pieces.Count + 2;
        void Check(Action<JsonObject> edit, string message)
        {
            var json = TokenizerJson(spm);
            edit(json);
            File.WriteAllText(Path.Combine(hf, HfTokenizerFiles.TokenizerJson), json.ToJsonString());
            var e = Assert.ThrowsAny<XModException>(() => ReadTokenizer(hf, vocab).Dispose());
            Assert.Contains(message, e.Message);
        }
        Check(j => j["model"]!["type"] = "BPE", "model type 'BPE' is not supported");
        Check(j => ((JsonArray)j["model"]!["vocab"]!)[0] = new JsonArray("<pad>", 0.0), "vocab id 0 is '<pad>'");
        Check(j => ((JsonArray)j["model"]!["vocab"]!)[10] = new JsonArray("x", double.NaN.ToString(CultureInfo.InvariantCulture)), "not a [piece, finite score] pair");
        Check(j => ((JsonArray)j["model"]!["vocab"]!).RemoveAt(((JsonArray)j["model"]!["vocab"]!).Count - 1), "ends with <mask>");

        // A charsmap whose trie points outside itself would send SentencePiece's native normalizer out of bounds.
        var blob = SentencePieceProto.Parse(spm).NormalizerBytes(SentencePieceProto.CharsMapField)!;
        var broken = (byte[])blob.Clone();
        for (var i = 4; i < 4 + 1024; i += 4)
        {
            broken[i + 3] = 0x7f; // huge offsets in the first units
        }
        Check(j => j["normalizer"]!["normalizers"]![0]!["precompiled_charsmap"] = Convert.ToBase64String(broken), "precompiled charsmap has a trie");
        var truncated = blob[..^1];
        Check(j => j["normalizer"]!["normalizers"]![0]!["precompiled_charsmap"] = Convert.ToBase64String(truncated), "precompiled charsmap does not end its replacement strings with NUL");
        Check(j => j["normalizer"]!["normalizers"]![0]!["precompiled_charsmap"] = "!!", "precompiled_charsmap is not base64");
        Check(j => j["pre_tokenizer"]!["add_prefix_space"] = "yes", "Metaspace add_prefix_space is not a boolean");
        Check(j => j["added_tokens"] = new JsonArray(5, "<x>"), "added token '' is not one of XLM-R's specials");
        Check(j => j["model"]!["unk_id"] = 3.5, "unk_id is 3.5");
        File.WriteAllText(Path.Combine(hf, HfTokenizerFiles.TokenizerJson), "[1, 2]");
        Assert.Contains("no \"model\" object", Assert.ThrowsAny<XModException>(() => ReadTokenizer(hf, vocab).Dispose()).Message);
        File.WriteAllText(Path.Combine(hf, HfTokenizerFiles.TokenizerJson), "{");
        Assert.Contains("not valid JSON", Assert.ThrowsAny<XModException>(() => ReadTokenizer(hf, vocab).Dispose()).Message);
    }
}

/// <summary>A fact that needs Debian's python3-sentencepiece: skipped, saying so, where it is missing.</summary>
public sealed class SentencePieceFactAttribute : FactAttribute
{
    public SentencePieceFactAttribute()
    {
        if (!Python.HasSentencePiece.Value)
        {
            Skip = "python3-sentencepiece is not installed (scripts/install-deps installs it)";
        }
    }
}
