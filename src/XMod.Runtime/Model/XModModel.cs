using System.Collections.Immutable;
using XMod.Packaging.Checkpoints;
using XMod.Tensors;

namespace XMod.Runtime.Model;

/// <summary>One language's modules: at every layer a bottleneck H -> B -> H (dense1, gelu, dense2).</summary>
public sealed class LanguageModule : IDisposable
{
    internal LanguageModule(string key, IReadOnlyDictionary<string, Tensor> tensors, int layers)
    {
        Key = key;
        Tensors = tensors;
        Dense1W = new Tensor[layers];
        Dense1B = new Tensor[layers];
        Dense2W = new Tensor[layers];
        Dense2B = new Tensor[layers];
        for (var l = 0; l < layers; l++)
        {
            var p = XModLayout.ModulePrefix(l, key);
            Dense1W[l] = tensors[p + "dense1.weight"];
            Dense1B[l] = tensors[p + "dense1.bias"];
            Dense2W[l] = tensors[p + "dense2.weight"];
            Dense2B[l] = tensors[p + "dense2.bias"];
        }
    }

    /// <summary>The language (or "shared" for the SHARED baseline's single module).</summary>
    public string Key { get; }

    /// <summary>Its parameters by Hugging Face name.</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors { get; }

    private Tensor[] Dense1W { get; }
    private Tensor[] Dense1B { get; }
    private Tensor[] Dense2W { get; }
    private Tensor[] Dense2B { get; }

    // No dropout inside the module (as the references); the caller applies it to the output.
    internal Tensor Forward(int layer, Tensor x) =>
        F.Linear(F.Linear(x, Dense1W[layer], Dense1B[layer]).Gelu(), Dense2W[layer], Dense2B[layer]);

    public void Dispose()
    {
        foreach (var t in Tensors.Values)
        {
            t.Dispose();
        }
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
/// The X-MOD encoder with its masked-language-model head (Hugging Face XmodForMaskedLM), as the
/// reference implementations compute it:
/// <code>
/// post-norm (xmod-base):  x1  = LN_attn(x + Drop(AttnOut(SelfAttn(x))))
///                         s   = x1 + Drop(OutDense(gelu(Intermediate(x1))))
///                         t   = LN_out(s)
///                         out = LN_out(t + Drop(Module_lang(t)))      // the same LN_out twice
/// pre-norm (large):       x1  = x + Drop(AttnOut(SelfAttn(LN_attn(x))))
///                         s   = x1 + Drop(OutDense(gelu(Intermediate(LN_out(x1)))))
///                         out = s + Drop(Module_lang(LN_adapter(s)))  // final encoder LN after the last layer
/// </code>
/// Every example carries a language; the batch is reordered once so that each language's examples
/// are contiguous, every language's module runs once per layer on its slice, and the original
/// order is restored at the end. The LM head is tied to the word embeddings.
/// </summary>
public sealed class XModModel : IDisposable
{
    private readonly Dictionary<string, Tensor> _trunk;
    private ImmutableDictionary<string, LanguageModule> _modules;
    private ImmutableDictionary<string, LanguageEmbeddings> _embeddings = ImmutableDictionary.Create<string, LanguageEmbeddings>(StringComparer.Ordinal);
    private readonly LayerWeights[] _layers;
    private readonly object _moduleLock = new();

    private XModModel(XModConfig config, Dictionary<string, Tensor> trunk, IEnumerable<LanguageModule> modules)
    {
        Config = config;
        _trunk = trunk;
        _modules = modules.ToImmutableDictionary(m => m.Key, StringComparer.Ordinal);
        _layers = Enumerable.Range(0, config.NumLayers).Select(l => new LayerWeights(trunk, l, config)).ToArray();
    }

    public XModConfig Config { get; private set; }

    /// <summary>Dropout on (training) or off (evaluation and inference).</summary>
    public bool Training { get; set; }

    /// <summary>The languages the model accepts (from its config).</summary>
    public IReadOnlyList<string> Languages => Config.Languages;

    /// <summary>Trunk parameters by Hugging Face name, in layout order.</summary>
    public IReadOnlyDictionary<string, Tensor> Trunk => _trunk;

    public IReadOnlyDictionary<string, LanguageModule> Modules => _modules;

    /// <summary>Own embeddings of languages added with their own vocabulary.</summary>
    public IReadOnlyDictionary<string, LanguageEmbeddings> LanguageEmbeddings => _embeddings;

    /// <summary>The vocabulary size of a language's ids: its own, or the trunk's.</summary>
    public long VocabSizeOf(string language) => _embeddings.TryGetValue(language, out var e) ? e.VocabSize : Config.VocabSize;

    public IEnumerable<Tensor> TrunkParameters => XModLayout.Trunk(Config).Select(s => _trunk[s.Name]);

    public IEnumerable<Tensor> AllParameters => TrunkParameters.Concat(_modules.Values.SelectMany(m => m.Tensors.Values))
        .Concat(_embeddings.Values.SelectMany(e => e.Tensors.Values));

    /// <summary>All parameters by name: trunk first, then modules in key order.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> NamedParameters =>
        XModLayout.Trunk(Config).Select(s => KeyValuePair.Create(s.Name, _trunk[s.Name]))
            .Concat(_modules.Values.OrderBy(m => m.Key, StringComparer.Ordinal)
                .SelectMany(m => XModLayout.Module(Config, m.Key).Select(s => KeyValuePair.Create(s.Name, m.Tensors[s.Name]))));

    // ---- construction -------------------------------------------------------------------------

    /// <summary>
    /// A freshly initialised model (Hugging Face's scheme: linear and embedding weights from
    /// N(0, initializer_range), biases 0, LayerNorms 1 and 0, padding row 0), deterministic for a seed.
    /// </summary>
    public static XModModel Initialize(XModConfig config, ulong seed)
    {
        config.Validate();
        Torch.ManualSeed(seed);
        using var scope = DisposeScope.Begin();
        var trunk = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var spec in XModLayout.Trunk(config))
        {
            trunk[spec.Name] = InitialValue(spec, config).AsParameter();
        }
        using (Torch.NoGrad())
        {
            trunk[XModLayout.WordEmbeddings].Select(0, config.PadTokenId).ZeroInPlace();
            trunk[XModLayout.PositionEmbeddings].Select(0, config.PadTokenId).ZeroInPlace();
        }
        var modules = config.ModuleKeys.Select(k => NewModule(config, k)).ToList();
        return new XModModel(config, trunk, modules);
    }

    /// <summary>A new randomly initialised module for <paramref name="key"/> (uses the global generator).</summary>
    public static LanguageModule NewModule(XModConfig config, string key)
    {
        using var scope = DisposeScope.Begin();
        var tensors = XModLayout.Module(config, key).ToDictionary(s => s.Name, s => InitialValue(s, config).AsParameter(), StringComparer.Ordinal);
        return new LanguageModule(key, tensors, config.NumLayers);
    }

    private static Tensor InitialValue(ParameterSpec spec, XModConfig config)
    {
        var name = spec.Name;
        if (name.EndsWith(".bias", StringComparison.Ordinal) || name == "lm_head.bias")
        {
            return Torch.Zeros(spec.Shape);
        }
        if (name.Contains("LayerNorm", StringComparison.Ordinal) || name.Contains("layer_norm", StringComparison.Ordinal))
        {
            return Torch.Ones(spec.Shape);
        }
        return Torch.Randn(spec.Shape) * config.InitializerRange;
    }

    /// <summary>
    /// Assembles a model from named tensors, strictly: every expected name present with its
    /// shape, nothing unexpected; the first problem is named. Takes ownership of the tensors.
    /// </summary>
    public static XModModel FromTensors(XModConfig config, IReadOnlyDictionary<string, Tensor> trunk,
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, Tensor>> modules, string source)
    {
        config.Validate(requireLanguages: modules.Count > 0);
        CheckExactly(XModLayout.Trunk(config), trunk, $"{source} (trunk)");
        foreach (var key in config.ModuleKeys)
        {
            if (!modules.ContainsKey(key))
            {
                throw new XModException($"{source}: no module for language '{key}' (the config lists it)");
            }
        }
        var built = new List<LanguageModule>();
        foreach (var (key, tensors) in modules)
        {
            if (!config.ModuleKeys.Contains(key))
            {
                throw new XModException($"{source}: module '{key}' is not among the config's languages ({string.Join(", ", config.ModuleKeys)})");
            }
            CheckExactly(XModLayout.Module(config, key), tensors, $"{source} (module {key})");
            built.Add(new LanguageModule(key, tensors.ToDictionary(kv => kv.Key, kv => kv.Value.AsParameter(), StringComparer.Ordinal), config.NumLayers));
        }
        return new XModModel(config, trunk.ToDictionary(kv => kv.Key, kv => kv.Value.AsParameter(), StringComparer.Ordinal), built);
    }

    internal static void CheckExactly(IEnumerable<ParameterSpec> expected, IReadOnlyDictionary<string, Tensor> actual, string source)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var spec in expected)
        {
            names.Add(spec.Name);
            if (!actual.TryGetValue(spec.Name, out var t))
            {
                throw new XModException($"{source}: missing tensor {spec.Name} {spec.ShapeString}");
            }
            var shape = t.Shape;
            if (!shape.SequenceEqual(spec.Shape))
            {
                throw new XModException($"{source}: tensor {spec.Name} has shape [{string.Join(", ", shape)}], the config needs {spec.ShapeString}");
            }
        }
        foreach (var name in actual.Keys.Order(StringComparer.Ordinal))
        {
            if (!names.Contains(name))
            {
                throw new XModException($"{source}: unexpected tensor {name}");
            }
        }
    }

    // ---- modules while running ----------------------------------------------------------------

    /// <summary>
    /// Adds or replaces a language's module (thread-safe: running forwards keep the snapshot they
    /// started with). The replaced module is returned to the caller, who disposes it when no
    /// forward uses it any more.
    /// </summary>
    public LanguageModule? SetModule(LanguageModule module, bool addLanguage = false)
    {
        CheckExactly(XModLayout.Module(Config, module.Key), module.Tensors, $"module {module.Key}");
        lock (_moduleLock)
        {
            if (!Config.ModuleKeys.Contains(module.Key))
            {
                if (!addLanguage || Config.SharedModule)
                {
                    throw new XModException($"the model has no language '{module.Key}' (it has {string.Join(", ", Config.Languages)})");
                }
                Config = Config with { Languages = [.. Config.Languages, module.Key] };
            }
            _modules.TryGetValue(module.Key, out var old);
            _modules = _modules.SetItem(module.Key, module);
            return old;
        }
    }

    /// <summary>
    /// Removes a language (its module unless others share it, its own embeddings) while other
    /// threads may be encoding: forwards already running keep the snapshot they started with.
    /// The removed tensors go to the caller, who disposes them once those forwards are done.
    /// </summary>
    public (LanguageModule? Module, LanguageEmbeddings? Embeddings) RemoveLanguage(string language)
    {
        lock (_moduleLock)
        {
            if (!Config.Languages.Contains(language))
            {
                throw new XModException($"the model has no language '{language}' (it has {string.Join(", ", Config.Languages)})");
            }
            Config = Config with { Languages = Config.Languages.Where(l => l != language).ToList() };
            LanguageModule? module = null;
            if (!Config.SharedModule && _modules.TryGetValue(language, out module))
            {
                _modules = _modules.Remove(language);
            }
            _embeddings.TryGetValue(language, out var embeddings);
            _embeddings = _embeddings.Remove(language);
            return (module, embeddings);
        }
    }

    /// <summary>
    /// Adds a language to the config without a module of its own (SHARED models, whose single
    /// module serves it), or does nothing when it is there.
    /// </summary>
    public void AddLanguage(string language)
    {
        lock (_moduleLock)
        {
            if (!Config.Languages.Contains(language))
            {
                Config = Config with { Languages = [.. Config.Languages, language] };
            }
        }
    }

    /// <summary>Adds or replaces a language's own embeddings; the replaced ones go to the caller.</summary>
    public LanguageEmbeddings? SetLanguageEmbeddings(LanguageEmbeddings embeddings)
    {
        if (!embeddings.Word.Shape.SequenceEqual([embeddings.VocabSize, Config.HiddenSize])
            || !embeddings.Position.Shape.SequenceEqual([Config.MaxPositions, (long)Config.HiddenSize])
            || !embeddings.LmBias.Shape.SequenceEqual([embeddings.VocabSize]))
        {
            throw new XModException($"embeddings of '{embeddings.Language}' do not fit the trunk (hidden {Config.HiddenSize}, {Config.MaxPositions} positions)");
        }
        lock (_moduleLock)
        {
            if (!Config.Languages.Contains(embeddings.Language))
            {
                throw new XModException($"the model has no language '{embeddings.Language}'");
            }
            _embeddings.TryGetValue(embeddings.Language, out var old);
            _embeddings = _embeddings.SetItem(embeddings.Language, embeddings);
            return old;
        }
    }

    // ---- forward ------------------------------------------------------------------------------

    /// <summary>
    /// The last hidden state (B, T, H) for token ids (B, T) and one language per example.
    /// <paramref name="attentionMask"/> (B, T) is 1 for real tokens and 0 for padding; null means
    /// no padding.
    /// </summary>
    public Tensor Encode(Tensor inputIds, Tensor? attentionMask, IReadOnlyList<string> languages)
    {
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
        if (length > Config.MaxSequenceLength)
        {
            throw new XModException($"sequence length {length} exceeds the model's maximum of {Config.MaxSequenceLength}");
        }
        var modules = _modules; // one snapshot for the whole forward
        var embeddings = _embeddings;
        using var scope = DisposeScope.Begin();
        var routing = Routing.Plan(languages, Config, modules);
        var ids = inputIds;
        var mask = attentionMask;
        if (routing.Permutation is { } perm)
        {
            ids = ids.IndexSelect(0, perm);
            mask = mask?.IndexSelect(0, perm);
        }

        var hidden = routing.LanguageRuns.Any(r => embeddings.ContainsKey(r.Language))
            ? Torch.Cat(routing.LanguageRuns.Select(r => Embed(routing.LanguageRuns.Count == 1 ? ids : ids.Narrow(0, r.Start, r.Length), embeddings.GetValueOrDefault(r.Language))).ToList(), 0)
            : Embed(ids, null);
        // Additive attention mask (B, 1, 1, T): 0 for tokens, the dtype's minimum for padding.
        Tensor? additive = null;
        if (mask is not null)
        {
            additive = Torch.Zeros([batch, 1, 1, length], hidden.DType).MaskedFill(mask.Eq(0).View(batch, 1, 1, length), float.MinValue);
        }
        for (var l = 0; l < _layers.Length; l++)
        {
            // A layer's temporaries are freed as soon as it is done (autograd keeps what backward
            // needs), so the allocator reuses warm memory as eager PyTorch's refcounting would.
            using var layerScope = DisposeScope.Begin();
            hidden = layerScope.MoveToOuter(Layer(_layers[l], l, hidden, additive, routing.Runs));
        }
        if (Config.PreNorm)
        {
            hidden = LayerNorm(hidden, _trunk["roberta.encoder.LayerNorm.weight"], _trunk["roberta.encoder.LayerNorm.bias"]);
        }
        if (routing.Inverse is { } inverse)
        {
            hidden = hidden.IndexSelect(0, inverse);
        }
        return scope.MoveToOuter(hidden);
    }

    /// <summary>
    /// Token + token-type + position embeddings, LayerNorm, dropout: (B, T) -> (B, T, H); the
    /// word and position tables are the language's own when it has them.
    /// </summary>
    private Tensor Embed(Tensor ids, LanguageEmbeddings? own)
    {
        var pad = Config.PadTokenId;
        // Positions count real tokens from padding_idx + 1; padding keeps padding_idx.
        var isToken = ids.Ne(pad).To(DType.Int64);
        var positions = isToken.CumSum(1).Mul(isToken).Add(pad);
        var x = F.Embedding(own?.Word ?? _trunk[XModLayout.WordEmbeddings], ids, pad)
            + F.Embedding(own?.Position ?? _trunk[XModLayout.PositionEmbeddings], positions, pad)
            + _trunk["roberta.embeddings.token_type_embeddings.weight"].Select(0, 0);
        x = LayerNorm(x, _trunk["roberta.embeddings.LayerNorm.weight"], _trunk["roberta.embeddings.LayerNorm.bias"]);
        return F.Dropout(x, Config.HiddenDropout, Training);
    }

    /// <summary>
    /// LayerNorm in the weights' precision: under bfloat16 autocast a product's output arrives
    /// in bfloat16, and libtorch 1.13's CPU kernel takes no mixed dtypes (normalising in float32
    /// is the numerically right choice anyway).
    /// </summary>
    private Tensor LayerNorm(Tensor x, Tensor weight, Tensor bias)
    {
        var input = x.DType == weight.DType ? x : x.To(weight.DType);
        return F.LayerNorm(input, [Config.HiddenSize], weight, bias, Config.LayerNormEps);
    }

    private Tensor Layer(LayerWeights w, int index, Tensor x, Tensor? additiveMask, IReadOnlyList<Routing.Run> runs)
    {
        var c = Config;
        Tensor Ln(Tensor t, Tensor weight, Tensor bias) => LayerNorm(t, weight, bias);

        // Attention block.
        var attnIn = c.PreNorm ? Ln(x, w.AttnLnW, w.AttnLnB) : x;
        var attn = F.Dropout(F.Linear(SelfAttention(w, attnIn, additiveMask), w.AttnOutW, w.AttnOutB), c.HiddenDropout, Training) + x;
        if (!c.PreNorm)
        {
            attn = Ln(attn, w.AttnLnW, w.AttnLnB);
        }

        // Feed-forward block; the residual is added before the language module.
        var ffnIn = c.PreNorm ? Ln(attn, w.OutLnW, w.OutLnB) : attn;
        var s = F.Dropout(F.Linear(F.Linear(ffnIn, w.InterW, w.InterB).Gelu(), w.OutW, w.OutB), c.HiddenDropout, Training) + attn;

        // Language module: norm (adapter LN, or the FFN's LN reused), residual before or after it.
        var residual = s;
        var t = w.AdapterLnW is not null ? Ln(s, w.AdapterLnW, w.AdapterLnB!)
            : c.AdapterReuseLayerNorm ? Ln(s, w.OutLnW, w.OutLnB)
            : s;
        if (c.LnBeforeAdapter)
        {
            residual = t;
        }
        var moduleOut = runs.Count == 1
            ? runs[0].Module.Forward(index, t)
            : Torch.Cat(runs.Select(r => r.Module.Forward(index, t.Narrow(0, r.Start, r.Length))).ToList(), 0);
        var output = F.Dropout(moduleOut, c.HiddenDropout, Training) + residual;
        return c.PreNorm ? output : Ln(output, w.OutLnW, w.OutLnB);
    }

    private Tensor SelfAttention(LayerWeights w, Tensor x, Tensor? additiveMask)
    {
        var c = Config;
        long b = x.Size(0), t = x.Size(1);
        // (B, T, H) -> (B, nh, T, hs)
        Tensor Heads(Tensor y) => y.View(b, t, c.NumHeads, c.HeadSize).Transpose(1, 2);
        var q = Heads(F.Linear(x, w.QW, w.QB));
        var k = Heads(F.Linear(x, w.KW, w.KB));
        var v = Heads(F.Linear(x, w.VW, w.VB));
        var scores = q.Matmul(k.Transpose(-1, -2)) / Math.Sqrt(c.HeadSize); // (B, nh, T, T)
        if (additiveMask is not null)
        {
            scores = scores + additiveMask;
        }
        var probs = F.Dropout(F.Softmax(scores, -1), c.AttentionDropout, Training);
        // (B, nh, T, hs) -> (B, T, H)
        return probs.Matmul(v).Transpose(1, 2).Reshape(b, t, c.HiddenSize);
    }

    /// <summary>
    /// The MLM head: dense, gelu, LayerNorm, then the decoder tied to the word embeddings (the
    /// language's own, with its own bias, when it has them): (..., H) -> (..., V).
    /// </summary>
    public Tensor LmHead(Tensor hidden, string? language = null)
    {
        var own = language is null ? null : _embeddings.GetValueOrDefault(language);
        using var scope = DisposeScope.Begin();
        var x = F.Linear(hidden, _trunk["lm_head.dense.weight"], _trunk["lm_head.dense.bias"]).Gelu();
        x = LayerNorm(x, _trunk["lm_head.layer_norm.weight"], _trunk["lm_head.layer_norm.bias"]);
        return scope.MoveToOuter(F.Linear(x, own?.Word ?? _trunk[XModLayout.WordEmbeddings], own?.LmBias ?? _trunk[XModLayout.LmBias]));
    }

    public void Dispose()
    {
        foreach (var t in _trunk.Values)
        {
            t.Dispose();
        }
        foreach (var m in _modules.Values)
        {
            m.Dispose();
        }
        foreach (var e in _embeddings.Values)
        {
            e.Dispose();
        }
    }

    /// <summary>A layer's trunk tensors, looked up once by name.</summary>
    private sealed class LayerWeights
    {
        public LayerWeights(IReadOnlyDictionary<string, Tensor> t, int l, XModConfig c)
        {
            var p = XModLayout.Layer(l);
            QW = t[$"{p}attention.self.query.weight"];
            QB = t[$"{p}attention.self.query.bias"];
            KW = t[$"{p}attention.self.key.weight"];
            KB = t[$"{p}attention.self.key.bias"];
            VW = t[$"{p}attention.self.value.weight"];
            VB = t[$"{p}attention.self.value.bias"];
            AttnOutW = t[$"{p}attention.output.dense.weight"];
            AttnOutB = t[$"{p}attention.output.dense.bias"];
            AttnLnW = t[$"{p}attention.output.LayerNorm.weight"];
            AttnLnB = t[$"{p}attention.output.LayerNorm.bias"];
            InterW = t[$"{p}intermediate.dense.weight"];
            InterB = t[$"{p}intermediate.dense.bias"];
            OutW = t[$"{p}output.dense.weight"];
            OutB = t[$"{p}output.dense.bias"];
            OutLnW = t[$"{p}output.LayerNorm.weight"];
            OutLnB = t[$"{p}output.LayerNorm.bias"];
            if (c.AdapterLayerNorm)
            {
                AdapterLnW = t[$"{p}output.adapter_layer_norm.weight"];
                AdapterLnB = t[$"{p}output.adapter_layer_norm.bias"];
            }
        }

        public Tensor QW { get; }
        public Tensor QB { get; }
        public Tensor KW { get; }
        public Tensor KB { get; }
        public Tensor VW { get; }
        public Tensor VB { get; }
        public Tensor AttnOutW { get; }
        public Tensor AttnOutB { get; }
        public Tensor AttnLnW { get; }
        public Tensor AttnLnB { get; }
        public Tensor InterW { get; }
        public Tensor InterB { get; }
        public Tensor OutW { get; }
        public Tensor OutB { get; }
        public Tensor OutLnW { get; }
        public Tensor OutLnB { get; }
        public Tensor? AdapterLnW { get; }
        public Tensor? AdapterLnB { get; }
    }
}
