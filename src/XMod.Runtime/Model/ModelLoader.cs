using XMod.Packaging.Manifests;
using XMod.Runtime.Tokenization;

namespace XMod.Runtime.Model;

/// <summary>A model with its tokenizer (when it has one), opened from a model directory or a training run.</summary>
/// <remarks>
/// The tokenizers of languages with their own vocabulary belong to the model's module set (they
/// are swapped together with the language's embeddings); pin the model's modules
/// (<see cref="XModModel.PinModules"/>) to keep one while other threads load or unload languages.
/// </remarks>
public sealed class LoadedModel(XModModel model, XModTokenizer? tokenizer, string directory) : IDisposable
{
    private string? _trunkSha256;

    public XModModel Model { get; } = model;

    /// <summary>The trunk's tokenizer (languages added with their own vocabulary have theirs).</summary>
    public XModTokenizer? Tokenizer { get; } = tokenizer;

    public string Directory { get; } = directory;

    /// <summary>sha256 of the trunk's weights: language modules are bound to it.</summary>
    /// <remarks>
    /// A trunk package takes it from its manifest (the cache checked every file's sha256 at install,
    /// and cache files are never rewritten), so loading a language does not re-hash a 1 GB trunk.
    /// </remarks>
    public string TrunkSha256 => _trunkSha256 ??= ManifestTrunkSha256(Directory) ?? ModelDirectory.TrunkSha256(Directory);

    private static string? ManifestTrunkSha256(string dir)
    {
        if (!File.Exists(Path.Combine(dir, PackageManifest.FileName)))
        {
            return null;
        }
        var manifest = PackageManifest.Load(dir);
        var entry = manifest.Kind == PackageKind.Trunk ? manifest.Files.FirstOrDefault(f => f.Path == ModelStore.TrunkFile) : null;
        return entry is not null && new FileInfo(Path.Combine(dir, ModelStore.TrunkFile)).Length == entry.Size ? entry.Sha256 : null;
    }

    public XModTokenizer RequireTokenizer() =>
        Tokenizer ?? throw new XModException($"{Directory} has no tokenizer: pass token ids instead of text");

    /// <summary>The tokenizer of <paramref name="language"/>: its own (from the pinned, else current, module set), or the trunk's.</summary>
    public XModTokenizer TokenizerFor(string language) => Model.TokenizerOf(language) ?? RequireTokenizer();

    /// <summary>Adds (or replaces) a language from a module directory built for this trunk; returns its code.</summary>
    public string AddLanguage(string moduleDir, bool map = false) => LanguagePackages.LoadInto(Model, TrunkSha256, moduleDir, map);

    /// <summary>Removes a language; its parts are freed once no forward holds them.</summary>
    public void RemoveLanguage(string language) => Model.RemoveLanguage(language);

    /// <summary>
    /// Opens only the trunk of a model or trunk package directory; languages are added with
    /// <see cref="AddLanguage"/>.
    /// </summary>
    public static LoadedModel OpenTrunk(string dir, ModelLoadOptions? options = null)
    {
        var model = ModelStore.LoadTrunk(dir, options);
        var tokDir = Path.Combine(dir, ModelStore.TokenizerDir);
        return new LoadedModel(model, System.IO.Directory.Exists(tokDir) ? XModTokenizer.Load(tokDir) : null, dir);
    }

    /// <param name="options">
    /// How weights load: <see cref="ModelLoadOptions.Default"/> (read everything now: training,
    /// export) or <see cref="ModelLoadOptions.Inference"/> (memory-mapped, modules on first use).
    /// </param>
    public static LoadedModel Open(string path, IReadOnlyCollection<string>? languages = null, ModelLoadOptions? options = null)
    {
        var dir = ModelDirectory.Resolve(path);
        if (!System.IO.Directory.Exists(Path.Combine(dir, ModelStore.ModulesDir)) && languages is null)
        {
            return OpenTrunk(dir, options); // a trunk package: its languages are packages of their own
        }
        var model = ModelStore.Load(dir, languages, options);
        var tokDir = Path.Combine(dir, ModelStore.TokenizerDir);
        return new LoadedModel(model, System.IO.Directory.Exists(tokDir) ? XModTokenizer.Load(tokDir) : null, dir);
    }

    public void Dispose()
    {
        Model.Dispose();
        Tokenizer?.Dispose();
    }
}
