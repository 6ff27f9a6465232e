using System.Collections.Immutable;
using XMod.Packaging.Checkpoints;
using XMod.Runtime.Tensors;

namespace XMod.Runtime.Model;

/// <summary>
/// How a batch is routed through language modules: examples grouped by module (stable, in order of
/// first appearance), one contiguous run per module, and the permutations into and out of that
/// order (null when the batch is already grouped).
/// </summary>
internal sealed class Routing
{
    public sealed record Run(LanguageModule Module, long Start, long Length);

    public required IReadOnlyList<Run> Runs { get; init; }

    public Tensor? Permutation { get; init; }

    public Tensor? Inverse { get; init; }

    public static Routing Plan(IReadOnlyList<string> languages, XModConfig config, ImmutableDictionary<string, LanguageModule> modules)
    {
        var groups = new List<(string Key, List<int> Rows)>();
        var byKey = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var i = 0; i < languages.Count; i++)
        {
            var lang = languages[i] ?? config.DefaultLanguage
                ?? throw new XModException($"example {i} has no language and the model has no default_language; pass one of {string.Join(", ", config.Languages)}");
            if (!config.Languages.Contains(lang))
            {
                throw new XModException($"unknown language '{lang}': the model has {string.Join(", ", config.Languages)}");
            }
            var key = config.ModuleKeyFor(lang);
            if (!byKey.TryGetValue(key, out var rows))
            {
                rows = new List<int>();
                byKey[key] = rows;
                groups.Add((key, rows));
            }
            rows.Add(i);
        }
        var runs = new List<Run>();
        var order = new long[languages.Count];
        long start = 0;
        foreach (var (key, rows) in groups)
        {
            if (!modules.TryGetValue(key, out var module))
            {
                throw new XModException($"language '{key}' is configured but its module is not loaded");
            }
            runs.Add(new Run(module, start, rows.Count));
            foreach (var r in rows)
            {
                order[start++] = r;
            }
        }
        var identity = true;
        for (var i = 0; i < order.Length && identity; i++)
        {
            identity = order[i] == i;
        }
        if (identity)
        {
            return new Routing { Runs = runs };
        }
        var inverse = new long[order.Length];
        for (var i = 0; i < order.Length; i++)
        {
            inverse[order[i]] = i;
        }
        return new Routing { Runs = runs, Permutation = Tensor.From(order), Inverse = Tensor.From(inverse) };
    }
}
