using Microsoft.Extensions.DependencyInjection;
using XMod.Packaging;
using XMod.Packaging.Caching;
using XMod.Packaging.Manifests;
using XMod.Runtime.Model;
using XMod.Runtime.Scoring;
using XMod.Runtime.Tasks;
using XMod.Runtime.Tokenization;
using XMod.Tensors;

namespace XMod.Runtime.Serving;

public sealed class XModRuntimeOptions
{
    /// <summary>XMOD_HOME: where installed packages are (default: XMOD_HOME or ~/.xmod).</summary>
    public string Home { get; set; } = XModPaths.Home;

    /// <summary>The installed trunk to open (its package id).</summary>
    public string Trunk { get; set; } = "";

    /// <summary>A trunk version (default: the newest installed).</summary>
    public string? TrunkVersion { get; set; }

    /// <summary>Languages to load when the runtime opens (more can be loaded later).</summary>
    public IList<string> Languages { get; set; } = [];

    /// <summary>
    /// Load an installed language of this trunk on its first use (Encode, FillMask, Perplexity)
    /// instead of refusing it until LoadLanguage is called (default: on).
    /// </summary>
    public bool LoadOnFirstUse { get; set; } = true;

    /// <summary>At most this many languages stay loaded; the least recently used is unloaded (null: no limit).</summary>
    public int? MaxLoadedLanguages { get; set; }

    /// <summary>Memory-map the trunk's and the languages' weights from the cache instead of reading them (default: on).</summary>
    public bool MapWeights { get; set; } = true;
}

/// <summary>
/// The runtime an application holds: the trunk opened once from the local cache, languages loaded
/// and unloaded while other threads keep encoding (each forward runs on the snapshot of modules it
/// started with), and memory that grows only by each language's own tensors. A module built for
/// another trunk, or with the wrong shapes, is refused with the reason.
/// </summary>
public sealed class XModRuntime : IDisposable
{
    private readonly LocalCache _cache;
    private readonly string _home;
    private readonly LoadedModel _loaded;
    private readonly object _loadLock = new();
    private readonly Dictionary<string, string> _languageDirs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _lastUse = new(StringComparer.Ordinal);
    private readonly XModRuntimeOptions _options;
    private long _useClock;

    private XModRuntime(LocalCache cache, LoadedModel loaded, InstalledPackage trunk, XModRuntimeOptions options)
    {
        _cache = cache;
        _home = options.Home;
        _loaded = loaded;
        _options = options;
        Trunk = trunk;
        _loaded.Model.Training = false;
    }

    /// <summary>Language modules held in memory now (the trunk's SHARED module counts as one).</summary>
    public int LoadedModuleCount => _loaded.Model.LoadedModuleCount;

    public InstalledPackage Trunk { get; }

    public XModModel Model => _loaded.Model;

    public IReadOnlyList<string> Languages => _loaded.Model.Languages;

    public static XModRuntime Open(XModRuntimeOptions options)
    {
        var cache = new LocalCache(options.Home);
        // xmod-base, xmod-base@1.0.0 (or TrunkVersion): the one resolver the CLI uses too.
        var spec = options.TrunkVersion is null ? options.Trunk : $"{options.Trunk}@{options.TrunkVersion}";
        var located = ModelLocator.Locate(spec, options.Home, "trunk", PackageKind.Trunk);
        var trunk = located.Package
            ?? throw new XModException($"the runtime opens installed trunks: '{options.Trunk}' is a directory; publish and install it, or open it with LoadedModel.Open");
        if (options.MaxLoadedLanguages is < 1)
        {
            throw new XModException($"MaxLoadedLanguages must be at least 1 (got {options.MaxLoadedLanguages})");
        }
        var runtime = new XModRuntime(cache, LoadedModel.OpenTrunk(located.Directory, new ModelLoadOptions { MapWeights = options.MapWeights }), trunk, options);
        try
        {
            foreach (var l in options.Languages)
            {
                runtime.LoadLanguage(l);
            }
            return runtime;
        }
        catch
        {
            runtime.Dispose();
            throw;
        }
    }

    /// <summary>Loads an installed language package of this trunk (de, lang-de, de_DE or a package directory); returns its code.</summary>
    public string LoadLanguage(string language)
    {
        // A package directory, or the installed package of this trunk: lang-de, de, deu, de_DE, xmod-base.lang-de@1.0.0.
        var dir = ModelLocator.LocateLanguage(language, _home, Trunk.TrunkSha256!, Trunk.Id);
        lock (_loadLock)
        {
            var manifest = PackageManifest.Load(dir);
            if (manifest.Language is { } l && _loaded.Model.Languages.Contains(l.Code))
            {
                Touch(l.Code);
                return l.Code; // already loaded
            }
            // Cache snapshots are immutable (installs write a new directory and rename it): safe to map.
            var inCache = Path.GetFullPath(dir).StartsWith(Path.GetFullPath(_cache.Root) + Path.DirectorySeparatorChar, StringComparison.Ordinal);
            var code = _loaded.AddLanguage(dir, map: _options.MapWeights && inCache);
            _languageDirs[code] = dir;
            Touch(code);
            UnloadBeyondLimit(code);
            return code;
        }
    }

    private void Touch(string code)
    {
        lock (_lastUse)
        {
            _lastUse[code] = ++_useClock;
        }
    }

    /// <summary>Unloads the least recently used languages past MaxLoadedLanguages (never <paramref name="keep"/>); under the load lock.</summary>
    private void UnloadBeyondLimit(string keep)
    {
        if (_options.MaxLoadedLanguages is not { } max)
        {
            return;
        }
        List<string> victims;
        lock (_lastUse)
        {
            var loaded = _languageDirs.Keys.Where(k => k != keep).ToList();
            victims = [.. loaded.OrderBy(k => _lastUse.GetValueOrDefault(k)).Take(Math.Max(0, loaded.Count + 1 - max))];
        }
        foreach (var v in victims)
        {
            _loaded.RemoveLanguage(v);
            _languageDirs.Remove(v);
            lock (_lastUse)
            {
                _lastUse.Remove(v);
            }
        }
    }

    /// <summary>
    /// Unloads a language: forwards already running finish with it (they hold the module set they
    /// started with), later ones refuse it; its module, embeddings and tokenizer are freed when the
    /// last forward using them ends (at once when none runs).
    /// </summary>
    public void UnloadLanguage(string language)
    {
        lock (_loadLock)
        {
            var code = Code(language);
            _loaded.RemoveLanguage(code);
            _languageDirs.Remove(code);
            lock (_lastUse)
            {
                _lastUse.Remove(code);
            }
        }
    }

    /// <summary>
    /// Opens a task model fine-tuned on this trunk, with the languages loaded now: it is a model of
    /// its own (its fine-tuned shared encoder), predicting in any of them by swapping modules.
    /// </summary>
    /// <param name="task">A task model directory, or an installed task package of this trunk (task-sections, or sections).</param>
    public TaskModel OpenTask(string task)
    {
        lock (_loadLock)
        {
            return ModelLocator.OpenTask(task, _cache.SnapshotDir(Trunk.Id, Trunk.Version), [.. _languageDirs.Values], _home, Trunk.TrunkSha256);
        }
    }

    /// <summary>The last hidden state of a text: one row of H values per token.</summary>
    public float[][] Encode(string text, string language)
    {
        using var modules = Pin(language, out var code); // the tokenizer and the forward from one set of languages
        var ids = _loaded.TokenizerFor(code).Encode(text, Model.Config.MaxSequenceLength).Select(i => (long)i).ToArray();
        using var scope = DisposeScope.Begin();
        using var inference = Torch.InferenceMode();
        var values = Model.Encode(Tensor.From(ids, 1, ids.Length), null, [code]).ToArray<float>();
        var h = Model.Config.HiddenSize;
        return Enumerable.Range(0, ids.Length).Select(t => values.AsSpan(t * h, h).ToArray()).ToArray();
    }

    public IReadOnlyList<IReadOnlyList<MaskPrediction>> FillMask(string text, string language, int topK = 5)
    {
        using var modules = Pin(language, out var code);
        return Evaluator.FillMask(Model, _loaded.TokenizerFor(code), text, code, topK);
    }

    /// <summary>Held-out MLM perplexity of texts in a language (fixed masking, comparable between languages' runs).</summary>
    public LanguagePerplexity Perplexity(IEnumerable<string> texts, string language, int length = 128)
    {
        using var modules = Pin(language, out var code);
        var tokenizer = _loaded.TokenizerFor(code);
        var streams = TokenStreams.FromParagraphs(code, texts, tokenizer);
        return Evaluator.Perplexity(Model, tokenizer, streams, [code], Math.Min(length, Model.Config.MaxSequenceLength))[0];
    }

    /// <summary>Perplexity (fixed masking) and fill-mask top-1 / top-5 accuracy on texts in a language: what the hub's evaluator measures.</summary>
    public StandardScores Score(IEnumerable<string> texts, string language, int length = 128)
    {
        using var modules = Pin(language, out var code);
        var tokenizer = _loaded.TokenizerFor(code);
        var stream = TokenStreams.Encode(texts, tokenizer);
        return StandardScoring.Score(Model, tokenizer, stream, code, Math.Min(length, Model.Config.MaxSequenceLength));
    }

    /// <summary>
    /// Pins a module set that has <paramref name="language"/>, loading it first when it is installed
    /// but not loaded (LoadOnFirstUse); retries when an unload raced the pin.
    /// </summary>
    private ModuleLease Pin(string language, out string code)
    {
        for (var attempt = 0; ; attempt++)
        {
            if (_options.LoadOnFirstUse && !IsLoaded(language))
            {
                LoadLanguage(language);
            }
            var lease = Model.PinModules();
            try
            {
                code = Code(language);
                Touch(code);
                return lease;
            }
            catch (XModException) when (_options.LoadOnFirstUse && attempt < 3)
            {
                lease.Dispose(); // unloaded between the load and the pin: load it again
            }
            catch
            {
                lease.Dispose();
                throw;
            }
        }
    }

    private bool IsLoaded(string language) => Model.TryResolveLanguage(language) is not null;

    /// <summary>A loaded language in any form (de, deu, de-DE, lang-de) as the model's code.</summary>
    private string Code(string language) =>
        Model.TryResolveLanguage(language)
            ?? throw new XModException($"language '{language}' is not loaded (loaded: {(Model.Languages.Count == 0 ? "none" : string.Join(", ", Model.Languages))}); call LoadLanguage first");

    public void Dispose() => _loaded.Dispose();
}

public static class XModRuntimeServiceCollectionExtensions
{
    /// <summary>Registers one <see cref="XModRuntime"/> for the application, opened on first use.</summary>
    public static IServiceCollection AddXModRuntime(this IServiceCollection services, Action<XModRuntimeOptions> configure)
    {
        var options = new XModRuntimeOptions();
        configure(options);
        if (string.IsNullOrWhiteSpace(options.Trunk))
        {
            throw new XModException("AddXModRuntime: set options.Trunk to the installed trunk's id");
        }
        services.AddSingleton(options);
        services.AddSingleton(sp => XModRuntime.Open(sp.GetRequiredService<XModRuntimeOptions>()));
        return services;
    }
}
