using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Nodes;
using XMod.Packaging;

namespace XMod.Runtime.Formats;

/// <summary>
/// Hugging Face's tokenizer files for XLM-R-style models: tokenizer.json (the tokenizers library's
/// Unigram model, as transformers' XLMRobertaConverter writes it) turned into the SentencePiece
/// model it came from, and the files transformers needs next to sentencepiece.bpe.model.
/// </summary>
/// <remarks>
/// XLM-R's layout: SentencePiece ids &lt;unk&gt;=0 &lt;s&gt;=1 &lt;/s&gt;=2, then the pieces; model id =
/// SentencePiece id + 1 (fairseq's offset), with &lt;s&gt;=0 &lt;pad&gt;=1 &lt;/s&gt;=2 &lt;unk&gt;=3 and
/// &lt;mask&gt; last. tokenizer.json lists the model ids directly: [&lt;s&gt;, &lt;pad&gt;, &lt;/s&gt;,
/// &lt;unk&gt;, pieces[3:]..., &lt;mask&gt;], so SentencePiece id i (i &gt;= 3) is entry i + 1.
/// </remarks>
public static class HfTokenizerFiles
{
    public const string TokenizerJson = "tokenizer.json";
    public const string TokenizerConfig = "tokenizer_config.json";
    public const string SpecialTokensMap = "special_tokens_map.json";

    private static readonly string[] s_head = ["<s>", "<pad>", "</s>", "<unk>"];

    /// <summary>The SentencePiece model (protobuf bytes, XLM-R layout) that a tokenizer.json encodes.</summary>
    public static byte[] SentencePieceFromTokenizerJson(string path)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllBytes(path), documentOptions: new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new XModException($"{path}: not valid JSON ({e.Message})");
        }
        XModException Bad(string what) => new($"{path}: {what}");
        var model = Get(root, "model") as JsonObject ?? throw Bad("no \"model\" object");
        var type = Str(model["type"]);
        if (type != "Unigram")
        {
            throw Bad($"model type '{type}' is not supported; XLM-R and X-MOD use a Unigram (SentencePiece) model");
        }
        if (model["byte_fallback"] is JsonValue bf && bf.TryGetValue<bool>(out var byteFallback) && byteFallback)
        {
            throw Bad("byte_fallback is not supported (XLM-R's tokenizer has none)");
        }
        var vocab = model["vocab"] as JsonArray ?? throw Bad("model.vocab is not an array");
        if (vocab.Count < s_head.Length + 2)
        {
            throw Bad($"model.vocab has {vocab.Count} entries, too few for XLM-R's layout");
        }
        var entries = new List<(string Piece, float Score)>(vocab.Count);
        foreach (var e in vocab)
        {
            if (e is not JsonArray { Count: 2 } pair || Str(pair[0]) is not { Length: > 0 } piece
                || pair[1] is not JsonValue sv || !sv.TryGetValue<double>(out var score) || !double.IsFinite(score))
            {
                throw Bad($"model.vocab entry {entries.Count} is not a [piece, finite score] pair");
            }
            entries.Add((piece, (float)score));
        }
        for (var i = 0; i < s_head.Length; i++)
        {
            if (entries[i].Piece != s_head[i])
            {
                throw Bad($"vocab id {i} is '{entries[i].Piece}', XLM-R's layout has '{s_head[i]}' (<s> <pad> </s> <unk> first)");
            }
        }
        if (entries[^1].Piece != "<mask>")
        {
            throw Bad($"the last vocab entry is '{entries[^1].Piece}', XLM-R's layout ends with <mask>");
        }
        if (model["unk_id"] is JsonNode unk && !(unk is JsonValue u && u.TryGetValue<int>(out var unkId) && unkId == 3))
        {
            throw Bad($"unk_id is {unk.ToJsonString()}, XLM-R's layout has 3");
        }
        foreach (var added in Get(root, "added_tokens") as JsonArray ?? [])
        {
            var content = Str(Get(added, "content"));
            if (content is not ("<s>" or "<pad>" or "</s>" or "<unk>" or "<mask>"))
            {
                throw Bad($"added token '{content}' is not one of XLM-R's specials; such tokenizers are not supported");
            }
        }

        var proto = new SentencePieceProto();
        proto.Pieces.Add(new ModelPiece("<unk>", 0, PieceType.Unknown));
        proto.Pieces.Add(new ModelPiece("<s>", 0, PieceType.Control));
        proto.Pieces.Add(new ModelPiece("</s>", 0, PieceType.Control));
        var seen = new HashSet<string>(StringComparer.Ordinal) { "<unk>", "<s>", "</s>" };
        foreach (var (piece, score) in entries.Skip(s_head.Length).SkipLast(1))
        {
            if (!seen.Add(piece))
            {
                throw Bad($"piece '{piece}' appears twice in model.vocab");
            }
            proto.Pieces.Add(new ModelPiece(piece, score, PieceType.Normal));
        }
        proto.SetTrainer(SentencePieceProto.ModelTypeField, 1); // UNIGRAM
        proto.SetTrainer(SentencePieceProto.VocabSizeField, proto.Pieces.Count);
        proto.SetTrainer(SentencePieceProto.UnkIdField, 0);
        proto.SetTrainer(SentencePieceProto.BosIdField, 1);
        proto.SetTrainer(SentencePieceProto.EosIdField, 2);
        proto.SetTrainer(SentencePieceProto.PadIdField, -1);

        // Normalizer: the precompiled charsmap (NFKC as SentencePiece compiled it) and whether runs of
        // spaces collapse (the converter's Replace(" {2,}") stands for remove_extra_whitespaces).
        var normalizers = Flatten(Get(root, "normalizer")).ToList();
        var charsMap = normalizers.Where(n => Str(n["type"]) == "Precompiled").Select(n => Str(n["precompiled_charsmap"])).FirstOrDefault();
        var collapse = normalizers.Any(n => Str(n["type"]) == "Replace" && Str(Get(n["pattern"], "Regex")) == " {2,}");
        byte[] blob = [];
        if (!string.IsNullOrEmpty(charsMap))
        {
            try
            {
                blob = Convert.FromBase64String(charsMap);
            }
            catch (FormatException)
            {
                throw Bad("precompiled_charsmap is not base64");
            }
            ValidateCharsMap(blob, path);
        }
        var addPrefix = true;
        foreach (var pre in Flatten(Get(root, "pre_tokenizer")).Where(p => Str(p["type"]) == "Metaspace"))
        {
            if (Str(pre["replacement"]) is { } r && r != "\u2581")
            {
                throw Bad($"Metaspace replacement '{r}' is not SentencePiece's \u2581");
            }
            addPrefix = pre["add_prefix_space"] is JsonValue aps
                ? (aps.TryGetValue<bool>(out var b) ? b : throw Bad("Metaspace add_prefix_space is not a boolean"))
                : Str(pre["prepend_scheme"]) is null or "always" or "first";
        }
        proto.SetNormalizer(SentencePieceProto.NameField, System.Text.Encoding.UTF8.GetBytes(blob.Length > 0 ? "nmt_nfkc" : "identity"));
        if (blob.Length > 0)
        {
            proto.SetNormalizer(SentencePieceProto.CharsMapField, blob);
        }
        proto.SetNormalizer(SentencePieceProto.AddDummyPrefixField, addPrefix ? 1 : 0);
        proto.SetNormalizer(SentencePieceProto.RemoveExtraWhitespacesField, collapse ? 1 : 0);
        proto.SetNormalizer(SentencePieceProto.EscapeWhitespacesField, 1);
        return proto.ToBytes();
    }

    /// <summary>
    /// A model trained with fairseq's special ids (&lt;s&gt;=0 &lt;pad&gt;=1 &lt;/s&gt;=2 &lt;unk&gt;=3, pieces
    /// from 4, used as model ids directly) rewritten in XLM-R's layout (&lt;unk&gt;=0 &lt;s&gt;=1
    /// &lt;/s&gt;=2, pieces from 3, model id = id + 1): the same pieces, scores and normalizer, so
    /// XLMRobertaTokenizer gives the same model ids.
    /// </summary>
    public static byte[] ToXlmRLayout(byte[] fairseqLayoutModel)
    {
        var proto = SentencePieceProto.Parse(fairseqLayoutModel);
        string[] expected = ["<s>", "<pad>", "</s>", "<unk>"];
        if (proto.Pieces.Count < 5 || !proto.Pieces.Take(4).Select(p => p.Piece).SequenceEqual(expected))
        {
            throw new XModException($"the SentencePiece model does not start with {string.Join(" ", expected)}; it is not in fairseq's layout");
        }
        var (bos, _, eos, unk) = (proto.Pieces[0], proto.Pieces[1], proto.Pieces[2], proto.Pieces[3]);
        var rest = proto.Pieces.Skip(4).ToList();
        proto.Pieces.Clear();
        proto.Pieces.AddRange([unk, bos, eos, .. rest]);
        proto.SetTrainer(SentencePieceProto.UnkIdField, 0);
        proto.SetTrainer(SentencePieceProto.BosIdField, 1);
        proto.SetTrainer(SentencePieceProto.EosIdField, 2);
        proto.SetTrainer(SentencePieceProto.PadIdField, -1);
        proto.SetTrainer(SentencePieceProto.VocabSizeField, proto.Pieces.Count);
        return proto.ToBytes();
    }

    /// <summary>tokenizer_config.json and special_tokens_map.json for XLMRobertaTokenizer.</summary>
    public static void WriteConfigs(string dir, int maxLength)
    {
        var specials = new JsonObject
        {
            ["bos_token"] = "<s>", ["eos_token"] = "</s>", ["unk_token"] = "<unk>", ["sep_token"] = "</s>",
            ["pad_token"] = "<pad>", ["cls_token"] = "<s>",
            ["mask_token"] = new JsonObject { ["content"] = "<mask>", ["lstrip"] = true, ["rstrip"] = false, ["normalized"] = false, ["single_word"] = false },
        };
        var options = new JsonSerializerOptions { WriteIndented = true };
        AtomicFile.WriteAllText(Path.Combine(dir, SpecialTokensMap), specials.ToJsonString(options) + "\n");
        var config = (JsonObject)specials.DeepClone();
        config["tokenizer_class"] = "XLMRobertaTokenizer";
        config["model_max_length"] = maxLength;
        config["clean_up_tokenization_spaces"] = true;
        AtomicFile.WriteAllText(Path.Combine(dir, TokenizerConfig), config.ToJsonString(options) + "\n");
    }

    /// <summary>
    /// Checks a precompiled charsmap the way SentencePiece will read it, so a hostile one is refused
    /// here instead of sending the native normalizer out of bounds: a trie (darts-clone double
    /// array) whose every reachable transition and value stays inside the blob, then NUL-terminated
    /// replacement strings.
    /// </summary>
    public static void ValidateCharsMap(ReadOnlySpan<byte> blob, string source)
    {
        XModException Bad(string what) => new($"{source}: precompiled charsmap {what}");
        if (blob.Length <= 4)
        {
            throw Bad("is too short");
        }
        var trieBytes = BinaryPrimitives.ReadUInt32LittleEndian(blob);
        if (trieBytes >= blob.Length - 4 || trieBytes % 4 != 0 || trieBytes == 0)
        {
            throw Bad($"declares a trie of {trieBytes} bytes in a blob of {blob.Length}");
        }
        var units = new uint[trieBytes / 4];
        for (var i = 0; i < units.Length; i++)
        {
            units[i] = BinaryPrimitives.ReadUInt32LittleEndian(blob[(4 + (i * 4))..]);
        }
        var normalized = blob[(4 + (int)trieBytes)..];
        if (normalized[^1] != 0)
        {
            throw Bad("does not end its replacement strings with NUL");
        }
        static uint Offset(uint u) => (u >> 10) << (int)((u & (1u << 9)) >> 6);
        var n = (uint)units.Length;
        var visited = new HashSet<uint>();
        var pending = new Stack<uint>();
        pending.Push(Offset(units[0]));
        while (pending.Count > 0)
        {
            var node = pending.Pop();
            if (!visited.Add(node))
            {
                continue;
            }
            if ((node | 0xFF) >= n)
            {
                throw Bad($"has a trie transition past its {n} units");
            }
            for (uint c = 0; c < 256; c++)
            {
                var child = units[node ^ c];
                if ((child & 0x800000FFu) != c)
                {
                    continue;
                }
                var next = node ^ c ^ Offset(child);
                if (((child >> 8) & 1) == 1 && (next >= n || (units[next] & 0x7FFFFFFFu) >= normalized.Length))
                {
                    throw Bad("has a trie value outside its replacement strings");
                }
                pending.Push(next);
            }
        }
    }

    private static IEnumerable<JsonNode> Flatten(JsonNode? node)
    {
        if (node is not JsonObject o)
        {
            yield break;
        }
        if (Str(o["type"]) == "Sequence")
        {
            foreach (var child in (o["normalizers"] ?? o["pretokenizers"]) as JsonArray ?? [])
            {
                foreach (var x in Flatten(child))
                {
                    yield return x;
                }
            }
        }
        else
        {
            yield return o;
        }
    }

    /// <summary>A member of an object; null for anything else (a hostile file may put an array where an object belongs).</summary>
    private static JsonNode? Get(JsonNode? n, string key) => n is JsonObject o ? o[key] : null;

    private static string? Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
