using XMod.Packaging.Checkpoints;
using XMod.Tensors;

namespace XMod.Runtime.Model;

// The X-MOD encoder with its masked-language-model head (Hugging Face XmodForMaskedLM), top to
// bottom as the paper draws it: the language module (a bottleneck adapter), the embeddings, self-
// attention, one transformer layer, the encoder, the LM head. Shapes: B batch, T tokens, H hidden,
// nh heads, hs = H / nh, Bn bottleneck, V vocabulary. Parameters are created and loaded in
// XModModel.Construction.cs; languages are swapped in XModModel.HotSwap.cs and ModuleSet.cs.

/// <summary>One language's modules: at every layer a bottleneck H -> Bn -> H (dense1, gelu, dense2).</summary>
public sealed class LanguageModule : IDisposable
{
    internal LanguageModule(string key, IReadOnlyDictionary<string, Tensor> tensors, int layers)
    {
        Key = key;
        Tensors = tensors;
        _layers = Enumerable.Range(0, layers).Select(l => new XModLayout.ModuleNames(l, key))
            .Select(n => (tensors[n.Dense1Weight], tensors[n.Dense1Bias], tensors[n.Dense2Weight], tensors[n.Dense2Bias]))
            .ToArray();
    }

    private readonly (Tensor Dense1W, Tensor Dense1B, Tensor Dense2W, Tensor Dense2B)[] _layers;

    /// <summary>The language (or "shared" for the SHARED baseline's single module).</summary>
    public string Key { get; }

    /// <summary>Its parameters by Hugging Face name.</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors { get; }

    /// <summary>(B, T, H) -> (B, T, H). No dropout inside (as the references); the layer applies it to the output.</summary>
    internal Tensor Forward(int layer, Tensor x)
    {
        var w = _layers[layer];
        return F.Linear(F.Linear(x, w.Dense1W, w.Dense1B).Gelu(), w.Dense2W, w.Dense2B);
    }

    public void Dispose()
    {
        foreach (var t in Tensors.Values)
        {
            t.Dispose();
        }
    }
}

/// <summary>
/// LayerNorm over H in the weights' precision: under bfloat16 autocast a product's output arrives
/// in bfloat16, and libtorch 1.13's CPU kernel takes no mixed dtypes (normalising in float32 is the
/// numerically right choice anyway).
/// </summary>
internal sealed class LayerNorm(Tensor weight, Tensor bias, XModConfig c)
{
    public Tensor Forward(Tensor x)
    {
        var input = x.DType == weight.DType ? x : x.To(weight.DType);
        return F.LayerNorm(input, [c.HiddenSize], weight, bias, c.LayerNormEps);
    }
}

/// <summary>
/// A language's own embeddings, for a language added after pre-training with its own vocabulary:
/// word and position embeddings and the MLM head's output bias (the decoder is tied to the word
/// embeddings as in the trunk). Token-type embeddings and the embedding LayerNorm stay shared.
/// </summary>
public sealed class LanguageEmbeddings : IDisposable
{
    public LanguageEmbeddings(string language, Tensor word, Tensor position, Tensor lmBias)
    {
        Language = language;
        Word = word.AsParameter(word.RequiresGrad);
        Position = position.AsParameter(position.RequiresGrad);
        LmBias = lmBias.AsParameter(lmBias.RequiresGrad);
    }

    public string Language { get; }

    public Tensor Word { get; }

    public Tensor Position { get; }

    public Tensor LmBias { get; }

    public long VocabSize => Word.Size(0);

    public IReadOnlyDictionary<string, Tensor> Tensors => new Dictionary<string, Tensor>(StringComparer.Ordinal)
    {
        [XModLayout.WordEmbeddings] = Word,
        [XModLayout.PositionEmbeddings] = Position,
        [XModLayout.LmBias] = LmBias,
    };

    public void Dispose()
    {
        Word.Dispose();
        Position.Dispose();
        LmBias.Dispose();
    }
}

/// <summary>
/// Token + token-type + position embeddings, LayerNorm, dropout: (B, T) -> (B, T, H); the word
/// and position tables are the language's own when it has them.
/// </summary>
internal sealed class Embeddings(IReadOnlyDictionary<string, Tensor> trunk, XModConfig c)
{
    private readonly Tensor _word = trunk[XModLayout.WordEmbeddings];
    private readonly Tensor _position = trunk[XModLayout.PositionEmbeddings];
    private readonly Tensor _tokenType = trunk[XModLayout.TokenTypeEmbeddings];
    private readonly LayerNorm _norm = new(trunk[XModLayout.EmbeddingsLayerNormWeight], trunk[XModLayout.EmbeddingsLayerNormBias], c);

    public Tensor Forward(Tensor ids, LanguageEmbeddings? own, bool training)
    {
        var pad = c.PadTokenId;
        // Positions count real tokens from padding_idx + 1; padding keeps padding_idx.
        var isToken = ids.Ne(pad).To(DType.Int64);
        var positions = isToken.CumSum(1).Mul(isToken).Add(pad);
        var x = F.Embedding(own?.Word ?? _word, ids, pad)
            + F.Embedding(own?.Position ?? _position, positions, pad)
            + _tokenType.Select(0, 0); // every token has type 0: (H)
        return F.Dropout(_norm.Forward(x), c.HiddenDropout, training);
    }
}

/// <summary>Multi-head self-attention: (B, T, H) -> (B, T, H), before the output projection.</summary>
internal sealed class SelfAttention(IReadOnlyDictionary<string, Tensor> trunk, XModLayout.LayerNames n, XModConfig c)
{
    private readonly Tensor _qW = trunk[n.QueryWeight], _qB = trunk[n.QueryBias];
    private readonly Tensor _kW = trunk[n.KeyWeight], _kB = trunk[n.KeyBias];
    private readonly Tensor _vW = trunk[n.ValueWeight], _vB = trunk[n.ValueBias];

    /// <param name="additiveMask">(B, 1, 1, T): 0 for tokens, the dtype's minimum for padding; null for none.</param>
    public Tensor Forward(Tensor x, Tensor? additiveMask, bool training)
    {
        long b = x.Size(0), t = x.Size(1);
        Tensor Heads(Tensor y) => y.View(b, t, c.NumHeads, c.HeadSize).Transpose(1, 2); // (B, T, H) -> (B, T, nh, hs) -> (B, nh, T, hs)
        var q = Heads(F.Linear(x, _qW, _qB));
        var k = Heads(F.Linear(x, _kW, _kB));
        var v = Heads(F.Linear(x, _vW, _vB));
        var scores = q.Matmul(k.Transpose(-1, -2)) / Math.Sqrt(c.HeadSize); // k: (B, nh, hs, T); scores: (B, nh, T, T)
        if (additiveMask is not null)
        {
            scores = scores + additiveMask;
        }
        var probs = F.Dropout(F.Softmax(scores, -1), c.AttentionDropout, training);
        return probs.Matmul(v).Transpose(1, 2).Reshape(b, t, c.HiddenSize); // (B, nh, T, hs) -> (B, T, nh, hs) -> (B, T, H)
    }
}

/// <summary>
/// One X-MOD transformer layer, as the reference implementations compute it:
/// <code>
/// post-norm (xmod-base):  x1  = LN_attn(x + Drop(AttnOut(SelfAttn(x))))
///                         s   = x1 + Drop(OutDense(gelu(Intermediate(x1))))
///                         t   = LN_out(s)
///                         out = LN_out(t + Drop(Module_lang(t)))      // the same LN_out twice
/// pre-norm (large):       x1  = x + Drop(AttnOut(SelfAttn(LN_attn(x))))
///                         s   = x1 + Drop(OutDense(gelu(Intermediate(LN_out(x1)))))
///                         out = s + Drop(Module_lang(LN_adapter(s)))  // final encoder LN after the last layer
/// </code>
/// </summary>
internal sealed class Layer
{
    private readonly int _index;
    private readonly XModConfig _c;
    private readonly SelfAttention _attention;
    private readonly Tensor _attnOutW, _attnOutB, _interW, _interB, _outW, _outB;
    private readonly LayerNorm _attnNorm, _outNorm;
    private readonly LayerNorm? _adapterNorm;

    public Layer(IReadOnlyDictionary<string, Tensor> trunk, int index, XModConfig c)
    {
        var n = new XModLayout.LayerNames(index);
        _index = index;
        _c = c;
        _attention = new SelfAttention(trunk, n, c);
        (_attnOutW, _attnOutB) = (trunk[n.AttentionOutputWeight], trunk[n.AttentionOutputBias]);
        _attnNorm = new LayerNorm(trunk[n.AttentionLayerNormWeight], trunk[n.AttentionLayerNormBias], c);
        (_interW, _interB) = (trunk[n.IntermediateWeight], trunk[n.IntermediateBias]);
        (_outW, _outB) = (trunk[n.OutputWeight], trunk[n.OutputBias]);
        _outNorm = new LayerNorm(trunk[n.OutputLayerNormWeight], trunk[n.OutputLayerNormBias], c);
        _adapterNorm = c.AdapterLayerNorm ? new LayerNorm(trunk[n.AdapterLayerNormWeight], trunk[n.AdapterLayerNormBias], c) : null;
    }

    /// <summary>(B, T, H) -> (B, T, H); each run of examples goes through its language's module.</summary>
    public Tensor Forward(Tensor x, Tensor? additiveMask, IReadOnlyList<Routing.Run> runs, bool training)
    {
        var c = _c;

        // Attention block.
        var attnIn = c.PreNorm ? _attnNorm.Forward(x) : x;
        var attn = F.Dropout(F.Linear(_attention.Forward(attnIn, additiveMask, training), _attnOutW, _attnOutB), c.HiddenDropout, training) + x;
        if (!c.PreNorm)
        {
            attn = _attnNorm.Forward(attn);
        }

        // Feed-forward block; the residual is added before the language module.
        var ffnIn = c.PreNorm ? _outNorm.Forward(attn) : attn;
        var s = F.Dropout(F.Linear(F.Linear(ffnIn, _interW, _interB).Gelu(), _outW, _outB), c.HiddenDropout, training) + attn;

        // Language module: norm (adapter LN, or the FFN's LN reused), residual before or after it.
        var residual = s;
        var t = _adapterNorm is not null ? _adapterNorm.Forward(s)
            : c.AdapterReuseLayerNorm ? _outNorm.Forward(s)
            : s;
        if (c.LnBeforeAdapter)
        {
            residual = t;
        }
        var moduleOut = runs.Count == 1
            ? runs[0].Module.Forward(_index, t)
            : Torch.Cat(runs.Select(r => r.Module.Forward(_index, t.Narrow(0, r.Start, r.Length))).ToList(), 0);
        var output = F.Dropout(moduleOut, c.HiddenDropout, training) + residual;
        return c.PreNorm ? output : _outNorm.Forward(output);
    }
}

/// <summary>
/// The X-MOD encoder and its MLM head. Every example carries a language; the batch is reordered
/// once so that each language's examples are contiguous, every language's module runs once per
/// layer on its slice, and the original order is restored at the end. The LM head is tied to the
/// word embeddings.
/// </summary>
public sealed partial class XModModel
{
    /// <summary>
    /// The last hidden state (B, T, H) for token ids (B, T) and one language per example.
    /// <paramref name="attentionMask"/> (B, T) is 1 for real tokens and 0 for padding; null means
    /// no padding. Runs on one module set throughout: the one pinned on this thread
    /// (<see cref="PinModules"/>), else the current one, held until the forward ends.
    /// </summary>
    public Tensor Encode(Tensor inputIds, Tensor? attentionMask, IReadOnlyList<string> languages)
    {
        using var hold = HoldModules(languages);
        var set = hold.Set;
        var shape = inputIds.Shape;
        if (shape.Length != 2)
        {
            throw new XModException($"input ids must be (batch, length), got [{string.Join(", ", shape)}]");
        }
        long batch = shape[0], length = shape[1];
        if (languages.Count != batch)
        {
            throw new XModException($"{languages.Count} languages given for a batch of {batch}");
        }
        if (length > _dims.MaxSequenceLength)
        {
            throw new XModException($"sequence length {length} exceeds the model's maximum of {_dims.MaxSequenceLength}");
        }
        using var scope = DisposeScope.Begin();
        var routing = Routing.Plan(languages, set.Config, set.Modules);
        var ids = inputIds;
        var mask = attentionMask;
        if (routing.Permutation is { } perm)
        {
            ids = ids.IndexSelect(0, perm);
            mask = mask?.IndexSelect(0, perm);
        }

        var hidden = routing.LanguageRuns.Any(r => set.Embeddings.ContainsKey(r.Language))
            ? Torch.Cat(routing.LanguageRuns.Select(r => _embeddings.Forward(routing.LanguageRuns.Count == 1 ? ids : ids.Narrow(0, r.Start, r.Length), set.Embeddings.GetValueOrDefault(r.Language), Training)).ToList(), 0)
            : _embeddings.Forward(ids, null, Training);
        // Additive attention mask: 0 for tokens, the dtype's minimum for padding.
        Tensor? additive = null;
        if (mask is not null)
        {
            var padding = mask.Eq(0).View(batch, 1, 1, length); // (B, T) -> (B, 1, 1, T)
            additive = Torch.Zeros([batch, 1, 1, length], hidden.DType).MaskedFill(padding, float.MinValue);
        }
        foreach (var layer in _layers)
        {
            // A layer's temporaries are freed as soon as it is done (autograd keeps what backward
            // needs), so the allocator reuses warm memory as eager PyTorch's refcounting would.
            using var layerScope = DisposeScope.Begin();
            hidden = layerScope.MoveToOuter(layer.Forward(hidden, additive, routing.Runs, Training));
        }
        if (_finalNorm is not null)
        {
            hidden = _finalNorm.Forward(hidden);
        }
        if (routing.Inverse is { } inverse)
        {
            hidden = hidden.IndexSelect(0, inverse);
        }
        return scope.MoveToOuter(hidden);
    }

    /// <summary>
    /// The MLM head: dense, gelu, LayerNorm, then the decoder tied to the word embeddings (the
    /// language's own, with its own bias, when it has them): (..., H) -> (..., V).
    /// </summary>
    public Tensor LmHead(Tensor hidden, string? language = null)
    {
        using var hold = HoldModules();
        var own = language is null ? null : hold.Set.Embeddings.GetValueOrDefault(language);
        using var scope = DisposeScope.Begin();
        var x = F.Linear(hidden, _trunk[XModLayout.LmHeadDenseWeight], _trunk[XModLayout.LmHeadDenseBias]).Gelu();
        x = _lmHeadNorm.Forward(x);
        return scope.MoveToOuter(F.Linear(x, own?.Word ?? _trunk[XModLayout.WordEmbeddings], own?.LmBias ?? _trunk[XModLayout.LmBias]));
    }
}
