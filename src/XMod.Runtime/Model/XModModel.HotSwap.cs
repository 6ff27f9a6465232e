using System.Collections.Immutable;
using XMod.Packaging.Checkpoints;
using XMod.Runtime.Tokenization;
using XMod.Tensors;

namespace XMod.Runtime.Model;

// Languages while the model serves: each change publishes a new ModuleSet (ModuleSet.cs); forwards
// keep the set they started with, and what a change replaced or removed is freed when the last
// forward holding it ends. The model owns every module, embedding table and tokenizer handed to
// these methods from the moment a call succeeds (a call that throws takes nothing).
public sealed partial class XModModel
{
    /// <summary>The config of the set pinned on this thread, else of the current set.</summary>
    public XModConfig Config => Visible.Config;

    /// <summary>The languages the model accepts (from its config).</summary>
    public IReadOnlyList<string> Languages => Config.Languages;

    /// <summary>Modules by key, of the set pinned on this thread, else of the current set.</summary>
    public IReadOnlyDictionary<string, LanguageModule> Modules => Visible.Modules;

    /// <summary>Own embeddings of languages added with their own vocabulary (pinned, else current set).</summary>
    public IReadOnlyDictionary<string, LanguageEmbeddings> LanguageEmbeddings => Visible.Embeddings;

    /// <summary>The vocabulary size of a language's ids: its own, or the trunk's.</summary>
    public long VocabSizeOf(string language) => Visible.Embeddings.TryGetValue(language, out var e) ? e.VocabSize : _dims.VocabSize;

    /// <summary>A language's own tokenizer (pinned, else current set), or null when it uses the trunk's.</summary>
    public XModTokenizer? TokenizerOf(string language) => Visible.Tokenizers.GetValueOrDefault(language);

    public IEnumerable<Tensor> AllParameters
    {
        get
        {
            var set = Visible;
            return TrunkParameters.Concat(set.Modules.Values.SelectMany(m => m.Tensors.Values))
                .Concat(set.Embeddings.Values.SelectMany(e => e.Tensors.Values));
        }
    }

    /// <summary>All parameters by name: trunk first, then modules in key order.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> NamedParameters
    {
        get
        {
            var set = Visible;
            return XModLayout.Trunk(_dims).Select(s => KeyValuePair.Create(s.Name, _trunk[s.Name]))
                .Concat(set.Modules.Values.OrderBy(m => m.Key, StringComparer.Ordinal)
                    .SelectMany(m => XModLayout.Module(_dims, m.Key).Select(s => KeyValuePair.Create(s.Name, m.Tensors[s.Name]))));
        }
    }

    /// <summary>
    /// Holds the current module set and pins it for this thread until disposed: this model's
    /// Encode, LmHead, Config, Modules and TokenizerOf on this thread then all see that set, and
    /// nothing in it is freed before the lease ends, whatever other threads load or unload.
    /// </summary>
    public ModuleLease PinModules() => new(_sets);

    private ModuleSet Visible => ModuleLease.Pinned(_sets) ?? _sets.Current;

    /// <summary>The pinned set, or a hold on the current one (with <paramref name="languages"/> loaded, on-demand models) for one call.</summary>
    private Hold HoldModules(IReadOnlyList<string?>? languages = null) =>
        ModuleLease.Pinned(_sets) is { } pinned ? new Hold(pinned, owned: false)
        : new Hold(languages is null ? _sets.Hold() : HoldLoaded(languages), owned: true);

    private readonly struct Hold(ModuleSet set, bool owned) : IDisposable
    {
        public ModuleSet Set => set;

        public void Dispose()
        {
            if (owned)
            {
                set.Release();
            }
        }
    }

    /// <summary>Adds or replaces a language's module; the replaced one is freed when no forward uses it.</summary>
    public void SetModule(LanguageModule module, bool addLanguage = false)
    {
        CheckExactly(XModLayout.Module(_dims, module.Key), module.Tensors, $"module {module.Key}");
        _sets.Swap(set =>
        {
            var config = set.Config;
            if (!config.ModuleKeys.Contains(module.Key))
            {
                if (!addLanguage || config.SharedModule)
                {
                    throw new XModException($"the model has no language '{module.Key}' (it has {string.Join(", ", config.Languages)})");
                }
                config = config with { Languages = [.. config.Languages, module.Key] };
            }
            return set.With(config: config, modules: set.Modules.SetItem(module.Key, module));
        });
    }

    /// <summary>Adds or replaces a language's own embeddings; the replaced ones are freed when no forward uses them.</summary>
    public void SetLanguageEmbeddings(LanguageEmbeddings embeddings)
    {
        CheckEmbeddings(embeddings);
        _sets.Swap(set =>
        {
            if (!set.Config.Languages.Contains(embeddings.Language))
            {
                throw new XModException($"the model has no language '{embeddings.Language}'");
            }
            return set.With(embeddings: set.Embeddings.SetItem(embeddings.Language, embeddings));
        });
    }

    /// <summary>
    /// Adds a language to the config without a module of its own (SHARED models, whose single
    /// module serves it), or does nothing when it is there.
    /// </summary>
    public void AddLanguage(string language) =>
        _sets.Swap(set => set.Config.Languages.Contains(language)
            ? set
            : set.With(config: set.Config with { Languages = [.. set.Config.Languages, language] }));

    /// <summary>
    /// Adds or replaces everything of one language in one step, so that no forward sees a mix of
    /// old and new parts (new embeddings with the old tokenizer, say): its module (X-MOD; null
    /// under SHARED, whose single module serves it) and, for a language with its own vocabulary,
    /// its embeddings and tokenizer (both or neither). What it replaces is freed when no forward
    /// uses it.
    /// </summary>
    public void SetLanguage(string language, LanguageModule? module, LanguageEmbeddings? embeddings, XModTokenizer? tokenizer)
    {
        if (_dims.SharedModule != (module is null))
        {
            throw new XModException(_dims.SharedModule
                ? $"language '{language}' brings X-MOD modules, but this trunk is a SHARED baseline"
                : $"language '{language}' has no modules; an X-MOD trunk needs them");
        }
        if (module is not null)
        {
            if (module.Key != language)
            {
                throw new XModException($"the module for '{language}' is keyed '{module.Key}'");
            }
            CheckExactly(XModLayout.Module(_dims, language), module.Tensors, $"module {language}");
        }
        if ((embeddings is null) != (tokenizer is null) || (tokenizer is not null && tokenizer.VocabSize != embeddings!.VocabSize))
        {
            throw new XModException($"the tokenizer and the embeddings of '{language}' do not match");
        }
        if (embeddings is not null)
        {
            if (embeddings.Language != language)
            {
                throw new XModException($"the embeddings for '{language}' are those of '{embeddings.Language}'");
            }
            CheckEmbeddings(embeddings);
        }
        _sets.Swap(set =>
        {
            var config = set.Config.Languages.Contains(language) ? set.Config : set.Config with { Languages = [.. set.Config.Languages, language] };
            return set.With(
                config: config,
                modules: module is null ? set.Modules : set.Modules.SetItem(language, module),
                embeddings: embeddings is null ? set.Embeddings.Remove(language) : set.Embeddings.SetItem(language, embeddings),
                tokenizers: tokenizer is null ? set.Tokenizers.Remove(language) : set.Tokenizers.SetItem(language, tokenizer));
        });
    }

    /// <summary>
    /// Removes a language (its module unless others share it, its own embeddings and tokenizer)
    /// while other threads may be encoding: forwards already running finish with it, later ones
    /// refuse it. Its parts are freed as soon as no forward holds them (at once when idle).
    /// </summary>
    public void RemoveLanguage(string language) =>
        _sets.Swap(set =>
        {
            var config = set.Config;
            if (!config.Languages.Contains(language))
            {
                throw new XModException($"the model has no language '{language}' (it has {string.Join(", ", config.Languages)})");
            }
            return set.With(
                config: config with { Languages = config.Languages.Where(l => l != language).ToList() },
                modules: config.SharedModule ? set.Modules : set.Modules.Remove(language),
                embeddings: set.Embeddings.Remove(language),
                tokenizers: set.Tokenizers.Remove(language));
        });

    private void CheckEmbeddings(LanguageEmbeddings embeddings)
    {
        if (!embeddings.Word.Shape.SequenceEqual([embeddings.VocabSize, _dims.HiddenSize])
            || !embeddings.Position.Shape.SequenceEqual([_dims.MaxPositions, (long)_dims.HiddenSize])
            || !embeddings.LmBias.Shape.SequenceEqual([embeddings.VocabSize]))
        {
            throw new XModException($"embeddings of '{embeddings.Language}' do not fit the trunk (hidden {_dims.HiddenSize}, {_dims.MaxPositions} positions)");
        }
    }
}
