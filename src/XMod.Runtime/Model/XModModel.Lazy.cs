using XMod.Packaging.Checkpoints;
using XMod.Tensors;

namespace XMod.Runtime.Model;

// Languages loaded on demand: a model opened for serving (ModelLoadOptions.Inference) knows every
// language of its config but holds only the modules that have been used; the first forward in a
// language loads its module (a new ModuleSet, as any hot swap), and the least recently used ones
// are evicted past a limit. Eviction is a swap too, so forwards holding the old set finish with it.
public sealed partial class XModModel
{
    private readonly object _demandLock = new();
    private readonly Dictionary<string, long> _lastUse = new(StringComparer.Ordinal);
    private Func<string, LanguageModule>? _moduleLoader;
    private long _useClock;
    private int? _maxLoadedModules;

    /// <summary>True when modules are loaded on the first use of their language.</summary>
    public bool LoadsOnDemand => _moduleLoader is not null;

    /// <summary>Modules held in memory now (the current set): what a lazily opened model has actually loaded.</summary>
    public int LoadedModuleCount => _sets.Current.Modules.Count;

    /// <summary>The module keys held in memory now.</summary>
    public IReadOnlyList<string> LoadedModuleKeys => [.. _sets.Current.Modules.Keys.Order(StringComparer.Ordinal)];

    /// <summary>On-demand models: at most this many modules stay loaded (least recently used evicted first); null for no limit.</summary>
    public int? MaxLoadedModules
    {
        get => _maxLoadedModules;
        set
        {
            if (value is < 1)
            {
                throw new XModException($"at least one module must stay loaded (got {value})");
            }
            _maxLoadedModules = value;
            lock (_demandLock)
            {
                EvictBeyondLimit([]);
            }
        }
    }

    /// <summary>A model of the trunk alone whose config lists languages that are loaded later, on demand.</summary>
    internal static XModModel FromTrunk(XModConfig config, IReadOnlyDictionary<string, Tensor> trunk, string source)
    {
        config.Validate(requireLanguages: false);
        CheckExactly(XModLayout.Trunk(config), trunk, $"{source} (trunk)");
        return new XModModel(config, trunk.ToDictionary(kv => kv.Key, kv => kv.Value.AsParameter(), StringComparer.Ordinal), []);
    }

    /// <summary>From now on, a language's module is loaded by <paramref name="loader"/> (module key -> module) on first use.</summary>
    internal void LoadModulesOnDemand(Func<string, LanguageModule> loader, int? maxLoaded)
    {
        _moduleLoader = loader;
        MaxLoadedModules = maxLoaded;
    }

    /// <summary>
    /// Loads the modules of <paramref name="languages"/> that are not loaded yet (on-demand models;
    /// nothing otherwise) and marks them used. Unknown languages are left for the forward to refuse.
    /// </summary>
    public void EnsureLoaded(IEnumerable<string?> languages)
    {
        var loader = _moduleLoader;
        if (loader is null)
        {
            return;
        }
        var config = _sets.Current.Config;
        var keys = languages.Select(l => l ?? config.DefaultLanguage)
            .Where(l => l is not null && config.Languages.Contains(l))
            .Select(l => config.ModuleKeyFor(l!)).Distinct(StringComparer.Ordinal).ToList();
        if (keys.Count == 0)
        {
            return;
        }
        lock (_demandLock)
        {
            foreach (var key in keys)
            {
                _lastUse[key] = ++_useClock;
                if (_sets.Current.Modules.ContainsKey(key))
                {
                    continue;
                }
                var module = loader(key);
                try
                {
                    CheckExactly(XModLayout.Module(_dims, key), module.Tensors, $"module {key}");
                    _sets.Swap(set => set.With(modules: set.Modules.SetItem(key, module)));
                }
                catch
                {
                    module.Dispose();
                    throw;
                }
            }
            EvictBeyondLimit(keys);
        }
    }

    /// <summary>
    /// Frees a language's module while keeping the language (its next use loads it again); forwards
    /// already running finish with it. Only on-demand models can evict: others could not reload it.
    /// </summary>
    public void EvictModule(string language)
    {
        if (_moduleLoader is null)
        {
            throw new XModException("this model was not opened to load languages on demand: remove the language instead (RemoveLanguage)");
        }
        lock (_demandLock)
        {
            var key = _sets.Current.Config.ModuleKeyFor(language);
            _lastUse.Remove(key);
            _sets.Swap(set => set.Modules.ContainsKey(key) ? set.With(modules: set.Modules.Remove(key)) : set);
        }
    }

    private void EvictBeyondLimit(IReadOnlyCollection<string> keep)
    {
        if (_moduleLoader is null || _maxLoadedModules is not { } max)
        {
            return;
        }
        var loaded = _sets.Current.Modules.Keys.ToList();
        var victims = loaded.Where(k => !keep.Contains(k))
            .OrderBy(k => _lastUse.GetValueOrDefault(k)).Take(Math.Max(0, loaded.Count - max)).ToList();
        if (victims.Count == 0)
        {
            return;
        }
        foreach (var k in victims)
        {
            _lastUse.Remove(k);
        }
        _sets.Swap(set => set.With(modules: set.Modules.RemoveRange(victims)));
    }

    /// <summary>Holds a set with the modules of <paramref name="languages"/> loaded (retrying if an eviction raced the load).</summary>
    private ModuleSet HoldLoaded(IReadOnlyList<string?> languages)
    {
        for (var attempt = 0; ; attempt++)
        {
            EnsureLoaded(languages);
            var set = _sets.Hold();
            if (_moduleLoader is null || attempt >= 3 || languages.All(l => Present(set, l)))
            {
                return set;
            }
            set.Release();
        }
    }

    private static bool Present(ModuleSet set, string? language)
    {
        var l = language ?? set.Config.DefaultLanguage;
        return l is null || !set.Config.Languages.Contains(l) || set.Modules.ContainsKey(set.Config.ModuleKeyFor(l));
    }

    /// <summary>
    /// Loads the modules of <paramref name="languages"/> (on-demand models), then pins the current
    /// set for this thread, as <see cref="PinModules()"/>: a tokenizer and several forwards in those
    /// languages then run on one set that has them.
    /// </summary>
    public ModuleLease PinModules(params string[] languages)
    {
        for (var attempt = 0; ; attempt++)
        {
            EnsureLoaded(languages);
            var lease = new ModuleLease(_sets);
            if (_moduleLoader is null || attempt >= 3 || languages.All(l => Present(lease.Set, l)))
            {
                return lease;
            }
            lease.Dispose();
        }
    }
}
