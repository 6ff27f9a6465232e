using System.Globalization;
using System.Text;
using XMod.Training.AddLanguage;

namespace XMod.Training.Studies;

/// <summary>
/// Added vs pre-trained (paper Figure 5, measured here as perplexity): for each held-out language,
/// an X-MOD trunk pre-trained without it with the language added afterwards (trunk frozen, new
/// embeddings and modules, the same per-language steps), against a trunk pre-trained with it. Both
/// use the study's one vocabulary, so the perplexities are comparable.
/// </summary>
public static class AddedStudy
{
    public sealed record Row(string Language, double PreTrained, double Added);

    public static IReadOnlyList<Row> Run(StudyWorkspace ws, Action<string> log, CancellationToken cancel)
    {
        var s = ws.Settings;
        var corpus = ws.Prepare();
        var seed = s.Seeds[0];
        var baseLanguages = s.Languages.Take(s.AddedBase).ToList();
        var withLanguages = baseLanguages.Concat(s.Added).ToList();
        string? without = null, with = null;
        var rows = new List<Row>();
        foreach (var lang in s.Added)
        {
            var preKey = $"added/{lang}/pretrained";
            var addKey = $"added/{lang}/added";
            if (!ws.TryResult(preKey, out var pre))
            {
                with ??= ws.Pretrain(corpus, $"xmod-with-added-s{seed}", withLanguages, shared: false, s.StepsPerLanguage * withLanguages.Count, seed, cancel);
                pre = ws.Perplexity(corpus, with, [lang])[lang];
                ws.Record(preKey, pre);
            }
            if (!ws.TryResult(addKey, out var added))
            {
                without ??= ws.Pretrain(corpus, $"xmod-without-added-s{seed}", baseLanguages, shared: false, s.StepsPerLanguage * baseLanguages.Count, seed, cancel);
                var moduleDir = Path.Combine(ws.Directory, "added", lang);
                if (!File.Exists(Path.Combine(moduleDir, "xmod.json")))
                {
                    LanguageExtender.Run(without, LanguageText.Split(corpus.Train(lang), corpus.HeldOut(lang), "study corpus", "the study corpus's held-out split"), moduleDir, new AddLanguageOptions
                    {
                        Force = true, // a module left by an interrupted study is trained again
                        Language = lang, VocabularyFrom = ws.TokenizerDir, Steps = s.StepsPerLanguage, BatchSize = s.BatchSize,
                        SequenceLength = s.SequenceLength, LearningRate = s.PeakLearningRate, Seed = seed, LogEvery = Math.Max(1, s.StepsPerLanguage / 5),
                    }, log, cancel: cancel);
                }
                added = ws.Perplexity(corpus, without, [lang], [moduleDir])[lang];
                ws.Record(addKey, added);
            }
            log(string.Create(CultureInfo.InvariantCulture, $"{lang}: pre-trained {pre:F2}, added later {added:F2}"));
            rows.Add(new Row(lang, pre, added));
        }
        return rows;
    }

    public static string Table(IReadOnlyList<Row> rows, StudySettings s)
    {
        var inv = CultureInfo.InvariantCulture;
        var b = new StringBuilder();
        b.AppendLine(inv, $"Held-out perplexity; pre-trained with it: X-MOD on {s.AddedBase + s.Added.Count} languages; added: X-MOD on the first {s.AddedBase}, the language added with the trunk frozen");
        b.AppendLine();
        b.AppendLine("| language | pre-trained with it | added afterwards | added / pre-trained |");
        b.AppendLine("|---|---|---|---|");
        foreach (var r in rows)
        {
            b.AppendLine(inv, $"| {r.Language} | {r.PreTrained:F2} | {r.Added:F2} | {r.Added / r.PreTrained:F3} |");
        }
        b.AppendLine();
        return b.ToString();
    }

    public static string Plot(IReadOnlyList<Row> rows) =>
        SvgChart.Bars("Held-out perplexity: pre-trained with the language vs added afterwards", "perplexity (lower is better)",
            rows.Select(r => r.Language).ToList(),
            [new SvgChart.BarSeries("pre-trained", rows.Select(r => r.PreTrained).ToList()), new SvgChart.BarSeries("added", rows.Select(r => r.Added).ToList())]);
}
