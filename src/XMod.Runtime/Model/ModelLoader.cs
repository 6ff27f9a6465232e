using XMod.Runtime.Tasks;
using XMod.Runtime.Tokenization;
using XMod.Runtime.Scoring;

namespace XMod.Runtime.Model;

/// <summary>A model with its tokenizer (when it has one), opened from a model directory or a training run.</summary>
public sealed class LoadedModel(XModModel model, XModTokenizer? tokenizer, string directory) : IDisposable
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, XModTokenizer> _languageTokenizers = new(StringComparer.Ordinal);
    private string? _trunkSha256;

    public XModModel Model { get; } = model;

    /// <summary>The trunk's tokenizer (languages added with their own vocabulary have theirs).</summary>
    public XModTokenizer? Tokenizer { get; } = tokenizer;

    public string Directory { get; } = directory;

    /// <summary>sha256 of the trunk's weights: language modules are bound to it.</summary>
    public string TrunkSha256 => _trunkSha256 ??= ModelDirectory.TrunkSha256(Directory);

    public XModTokenizer RequireTokenizer() =>
        Tokenizer ?? throw new XModException($"{Directory} has no tokenizer: pass token ids instead of text");

    /// <summary>The tokenizer of <paramref name="language"/>: its own, or the trunk's.</summary>
    public XModTokenizer TokenizerFor(string language) =>
        _languageTokenizers.TryGetValue(language, out var own) ? own : RequireTokenizer();

    /// <summary>Adds a language module directory built for this trunk.</summary>
    public string AddLanguage(string moduleDir)
    {
        var (code, tokenizer) = LanguagePackages.LoadInto(Model, TrunkSha256, moduleDir);
        if (tokenizer is not null)
        {
            // A replaced tokenizer is left to the finalizer: a forward on another thread may still use it.
            _languageTokenizers[code] = tokenizer;
        }
        return code;
    }

    /// <summary>
    /// Opens only the trunk of a model or trunk package directory; languages are added with
    /// <see cref="AddLanguage"/>.
    /// </summary>
    public static LoadedModel OpenTrunk(string dir)
    {
        var model = ModelStore.LoadTrunk(dir);
        var tokDir = Path.Combine(dir, ModelStore.TokenizerDir);
        return new LoadedModel(model, System.IO.Directory.Exists(tokDir) ? XModTokenizer.Load(tokDir) : null, dir);
    }

    public static LoadedModel Open(string path, IReadOnlyCollection<string>? languages = null)
    {
        var dir = ModelDirectory.Resolve(path);
        if (!System.IO.Directory.Exists(Path.Combine(dir, ModelStore.ModulesDir)) && languages is null)
        {
            return OpenTrunk(dir); // a trunk package: its languages are packages of their own
        }
        var model = ModelStore.Load(dir, languages);
        var tokDir = Path.Combine(dir, ModelStore.TokenizerDir);
        return new LoadedModel(model, System.IO.Directory.Exists(tokDir) ? XModTokenizer.Load(tokDir) : null, dir);
    }

    public void Dispose()
    {
        Model.Dispose();
        Tokenizer?.Dispose();
        foreach (var t in _languageTokenizers.Values)
        {
            t.Dispose();
        }
    }
}
