using System.Text.Json;
using System.Text.Json.Serialization;
using XMod.Packaging;
using XMod.Tensors.SentencePiece;

namespace XMod.Runtime.Tokenization;

/// <summary>How SentencePiece ids become model ids.</summary>
public enum TokenIdScheme
{
    /// <summary>SentencePiece trained with &lt;s&gt;=0 &lt;pad&gt;=1 &lt;/s&gt;=2 &lt;unk&gt;=3: ids are used as they are.</summary>
    Native,

    /// <summary>
    /// XLM-R's sentencepiece.bpe.model through fairseq's dictionary (as xmod-base uses it):
    /// model id = SentencePiece id + 1, SentencePiece's &lt;unk&gt; (0) becomes 3.
    /// </summary>
    XlmR,
}

/// <summary>
/// The X-MOD tokenizer: SentencePiece pieces plus fairseq's special ids (&lt;s&gt;=0, &lt;pad&gt;=1,
/// &lt;/s&gt;=2, &lt;unk&gt;=3) and a &lt;mask&gt; after the last piece.
/// </summary>
public sealed class XModTokenizer : IDisposable
{
    public const int Bos = 0, Pad = 1, Eos = 2, Unk = 3;
    public const string MetadataFile = "xmod_tokenizer.json";

    private XModTokenizer(SentencePieceModel spm, TokenIdScheme scheme, string modelFileName)
    {
        Spm = spm;
        Scheme = scheme;
        ModelFileName = modelFileName;
        var pieces = spm.VocabSize;
        MaskId = scheme == TokenIdScheme.XlmR ? pieces + 1 : pieces;
        VocabSize = MaskId + 1;
        if (scheme == TokenIdScheme.Native && spm.SpecialIds != (Unk, Bos, Eos, Pad))
        {
            throw new XModException($"SentencePiece model has special ids {spm.SpecialIds} (unk, bos, eos, pad); the native scheme needs (3, 0, 2, 1)");
        }
    }

    public SentencePieceModel Spm { get; }

    public TokenIdScheme Scheme { get; }

    public string ModelFileName { get; }

    public int MaskId { get; }

    /// <summary>Model vocabulary size: every piece, the specials and &lt;mask&gt;.</summary>
    public int VocabSize { get; }

    public static XModTokenizer FromModel(SentencePieceModel spm, TokenIdScheme scheme, string modelFileName = "sentencepiece.model") =>
        new(spm, scheme, modelFileName);

    /// <summary>Token ids of a text: &lt;s&gt; pieces &lt;/s&gt;, cut to at most <paramref name="maxLength"/> ids.</summary>
    public int[] Encode(string text, int maxLength = int.MaxValue)
    {
        var pieces = Spm.Encode(text);
        var n = Math.Min(pieces.Length, Math.Max(0, maxLength - 2));
        var ids = new int[n + 2];
        ids[0] = Bos;
        for (var i = 0; i < n; i++)
        {
            ids[i + 1] = FromPiece(pieces[i]);
        }
        ids[^1] = Eos;
        return ids;
    }

    /// <summary>
    /// Token ids of a text that may spell special tokens, as XLMRobertaTokenizer reads it: "&lt;mask&gt;",
    /// "&lt;s&gt;", "&lt;/s&gt;", "&lt;pad&gt;" and "&lt;unk&gt;" written in the text are those tokens
    /// (&lt;mask&gt; also takes the spaces before it, HF's lstrip); each run of text between them goes
    /// through SentencePiece on its own. Wrapped in &lt;s&gt; ... &lt;/s&gt;.
    /// </summary>
    public int[] EncodeWithSpecialTokens(string text)
    {
        (string Text, int Id)[] specials = [("<mask>", MaskId), ("<s>", Bos), ("</s>", Eos), ("<pad>", Pad), ("<unk>", Unk)];
        var ids = new List<int> { Bos };
        var at = 0;
        while (at <= text.Length)
        {
            var next = specials.Select(s => (s.Text, s.Id, Index: text.IndexOf(s.Text, at, StringComparison.Ordinal)))
                .Where(s => s.Index >= 0).OrderBy(s => s.Index).ThenByDescending(s => s.Text.Length).FirstOrDefault();
            var end = next.Text is null ? text.Length : next.Index;
            var chunk = text[at..end];
            if (next.Id == MaskId && next.Text is not null)
            {
                chunk = chunk.TrimEnd();
            }
            ids.AddRange(EncodePieces(chunk));
            if (next.Text is null)
            {
                break;
            }
            ids.Add(next.Id);
            at = end + next.Text.Length;
        }
        ids.Add(Eos);
        return [.. ids];
    }

    /// <summary>Piece ids without &lt;s&gt; and &lt;/s&gt; (for building training streams).</summary>
    public int[] EncodePieces(string text)
    {
        var pieces = Spm.Encode(text);
        for (var i = 0; i < pieces.Length; i++)
        {
            pieces[i] = FromPiece(pieces[i]);
        }
        return pieces;
    }

    /// <summary>Text of model ids; special tokens are skipped.</summary>
    public string Decode(IEnumerable<int> ids) =>
        Spm.Decode(ids.Where(i => !IsSpecial(i)).Select(ToPiece).ToArray());

    /// <summary>The surface form of one id (specials as &lt;s&gt;, &lt;mask&gt;, ...).</summary>
    public string Token(int id) => id switch
    {
        Bos => "<s>",
        Pad => "<pad>",
        Eos => "</s>",
        Unk => "<unk>",
        _ when id == MaskId => "<mask>",
        _ => Spm.IdToPiece(ToPiece(id)),
    };

    /// <summary>The model id of a piece, or null when the vocabulary does not have it.</summary>
    public int? ModelIdOfPiece(string piece)
    {
        var id = Spm.PieceToId(piece);
        return id == Spm.SpecialIds.Unk ? null : FromPiece(id);
    }

    /// <summary>The SentencePiece piece of a (non-special) model id.</summary>
    public string PieceOf(int id) => Spm.IdToPiece(ToPiece(id));

    public bool IsSpecial(int id) => id is Bos or Pad or Eos or Unk || id == MaskId;

    private int FromPiece(int piece) => Scheme switch
    {
        TokenIdScheme.XlmR => piece == 0 ? Unk : piece + 1,
        _ => piece,
    };

    private int ToPiece(int id)
    {
        if (id < 0 || id >= VocabSize)
        {
            throw new XModException($"token id {id} is outside the vocabulary of {VocabSize}");
        }
        return Scheme == TokenIdScheme.XlmR ? (id == Unk ? 0 : id - 1) : id;
    }

    // ---- on disk -------------------------------------------------------------------------------

    private sealed record Metadata(
        [property: JsonPropertyName("scheme")] string Scheme,
        [property: JsonPropertyName("model_file")] string ModelFile,
        [property: JsonPropertyName("mask_token_id")] int MaskTokenId,
        [property: JsonPropertyName("vocab_size")] int VocabSize);

    public void Save(string dir)
    {
        Directory.CreateDirectory(dir);
        AtomicFile.WriteAllBytes(Path.Combine(dir, ModelFileName), Spm.ToBytes());
        var meta = new Metadata(Scheme == TokenIdScheme.XlmR ? "xlmr" : "native", ModelFileName, MaskId, VocabSize);
        AtomicFile.WriteAllText(Path.Combine(dir, MetadataFile), JsonSerializer.Serialize(meta, new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    public static XModTokenizer Load(string dir)
    {
        var metaPath = Path.Combine(dir, MetadataFile);
        if (!File.Exists(metaPath))
        {
            throw new XModException($"{dir} holds no tokenizer ({MetadataFile} is missing)");
        }
        var meta = JsonSerializer.Deserialize<Metadata>(File.ReadAllText(metaPath))
            ?? throw new XModException($"{metaPath} is empty");
        var scheme = meta.Scheme switch
        {
            "xlmr" => TokenIdScheme.XlmR,
            "native" => TokenIdScheme.Native,
            _ => throw new XModException($"{metaPath}: unknown scheme '{meta.Scheme}' (xlmr or native)"),
        };
        var tokenizer = new XModTokenizer(SentencePieceModel.Load(Path.Combine(dir, meta.ModelFile)), scheme, meta.ModelFile);
        if (tokenizer.MaskId != meta.MaskTokenId)
        {
            tokenizer.Dispose();
            throw new XModException($"{metaPath}: mask id {meta.MaskTokenId} does not match the SentencePiece model (expected {tokenizer.MaskId})");
        }
        return tokenizer;
    }

    public void Dispose() => Spm.Dispose();
}
