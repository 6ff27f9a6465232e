using XMod.Packaging.Checkpoints;
using XMod.Tensors;

namespace XMod.Runtime.Model;

// Creating, initialising and assembling an XModModel; the forward is in XModModel.cs.
public sealed partial class XModModel : IDisposable
{
    private readonly Dictionary<string, Tensor> _trunk;
    private readonly XModConfig _dims; // the trunk's config: only its language list changes later, in the module set
    private readonly Embeddings _embeddings;
    private readonly Layer[] _layers;
    private readonly LayerNorm? _finalNorm;
    private readonly LayerNorm _lmHeadNorm;
    private readonly ModuleSetOwner _sets;

    private XModModel(XModConfig config, Dictionary<string, Tensor> trunk, IEnumerable<LanguageModule> modules)
    {
        _dims = config;
        _trunk = trunk;
        _embeddings = new Embeddings(trunk, config);
        _layers = Enumerable.Range(0, config.NumLayers).Select(l => new Layer(trunk, l, config)).ToArray();
        _finalNorm = config.PreNorm ? new LayerNorm(trunk[XModLayout.EncoderLayerNormWeight], trunk[XModLayout.EncoderLayerNormBias], config) : null;
        _lmHeadNorm = new LayerNorm(trunk[XModLayout.LmHeadLayerNormWeight], trunk[XModLayout.LmHeadLayerNormBias], config);
        _sets = new ModuleSetOwner(config, modules);
    }

    /// <summary>Dropout on (training) or off (evaluation and inference).</summary>
    public bool Training { get; set; }

    /// <summary>Trunk parameters by Hugging Face name, in layout order.</summary>
    public IReadOnlyDictionary<string, Tensor> Trunk => _trunk;

    public IEnumerable<Tensor> TrunkParameters => XModLayout.Trunk(_dims).Select(s => _trunk[s.Name]);

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
        if (name.EndsWith(".bias", StringComparison.Ordinal) || name == XModLayout.LmBias)
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

    /// <summary>
    /// Frees the trunk now, and the modules, embeddings and tokenizers of the current set once no
    /// forward holds them (a model is normally disposed when nothing encodes any more).
    /// </summary>
    public void Dispose()
    {
        _sets.Dispose();
        foreach (var t in _trunk.Values)
        {
            t.Dispose();
        }
    }
}
