using System.Collections.Immutable;
using XMod.Packaging.Checkpoints;
using XMod.Tensors;

namespace XMod.Runtime.Model;

/// <summary>
/// How a batch is routed: examples grouped by language (stable; languages that share a module,
/// as under SHARED, are adjacent), so each language's embeddings and each module run once on a
/// contiguous slice; and the permutations into and out of that order (null when already grouped).
/// </summary>
internal sealed class Routing
{
    public sealed record Run(LanguageModule Module, long Start, long Length);

    public sealed record LanguageRun(string Language, long Start, long Length);

    public required IReadOnlyList<Run> Runs { get; init; }

    public required IReadOnlyList<LanguageRun> LanguageRuns { get; init; }

    public Tensor? Permutation { get; init; }

    public Tensor? Inverse { get; init; }

    public static Routing Plan(IReadOnlyList<string> languages, XModConfig config, ImmutableDictionary<string, LanguageModule> modules)
    {
        var keys = new List<string>();
        var byLanguage = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var languagesOfKey = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        for (var i = 0; i < languages.Count; i++)
        {
            var lang = languages[i] ?? config.DefaultLanguage
                ?? throw new XModException($"example {i} has no language and the model has no default_language; pass one of {string.Join(", ", config.Languages)}");
            if (!config.Languages.Contains(lang))
            {
                throw new XModException($"unknown language '{lang}': the model has {string.Join(", ", config.Languages)}");
            }
            if (!byLanguage.TryGetValue(lang, out var rows))
            {
                byLanguage[lang] = rows = new List<int>();
                var key = config.ModuleKeyFor(lang);
                if (!languagesOfKey.TryGetValue(key, out var langs))
                {
                    languagesOfKey[key] = langs = new List<string>();
                    keys.Add(key);
                }
                langs.Add(lang);
            }
            rows.Add(i);
        }
        var runs = new List<Run>();
        var languageRuns = new List<LanguageRun>();
        var order = new long[languages.Count];
        long at = 0;
        foreach (var key in keys)
        {
            if (!modules.TryGetValue(key, out var module))
            {
                throw new XModException($"language '{key}' is configured but its module is not loaded");
            }
            var start = at;
            foreach (var lang in languagesOfKey[key])
            {
                var rows = byLanguage[lang];
                languageRuns.Add(new LanguageRun(lang, at, rows.Count));
                foreach (var r in rows)
                {
                    order[at++] = r;
                }
            }
            runs.Add(new Run(module, start, at - start));
        }
        var identity = true;
        for (var i = 0; i < order.Length && identity; i++)
        {
            identity = order[i] == i;
        }
        if (identity)
        {
            return new Routing { Runs = runs, LanguageRuns = languageRuns };
        }
        var inverse = new long[order.Length];
        for (var i = 0; i < order.Length; i++)
        {
            inverse[order[i]] = i;
        }
        return new Routing { Runs = runs, LanguageRuns = languageRuns, Permutation = Tensor.From(order), Inverse = Tensor.From(inverse) };
    }
}
