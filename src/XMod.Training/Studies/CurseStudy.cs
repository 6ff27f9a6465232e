using System.Globalization;
using System.Text;

namespace XMod.Training.Studies;

/// <summary>
/// The curse of multilinguality and its lifting (paper Figures 2a and 4): X-MOD and SHARED
/// pre-trained on 2, 4, 8, 16 languages; held-out perplexity of the first languages against the
/// number of languages. Two protocols: every model sees the same examples of each language (steps
/// grow with the languages, the paper's Figure 2), and the same total steps for every model.
/// </summary>
public static class CurseStudy
{
    public sealed record Point(string Model, string Protocol, int Languages, double Mean, double Min, double Max, int Seeds);

    public static IReadOnlyList<Point> Run(StudyWorkspace ws, Action<string> log, CancellationToken cancel)
    {
        var s = ws.Settings;
        var corpus = ws.Prepare();
        var evaluated = s.Languages.Take(s.Evaluated).ToList();
        var points = new List<Point>();
        // Fixed total: the steps the second-smallest configuration gets, for every language count (one
        // seed); its run is shared with the first protocol, and the largest counts see few examples each.
        var fixedTotal = s.StepsPerLanguage * s.LanguageCounts[Math.Min(1, s.LanguageCounts.Count - 1)];
        foreach (var (protocol, seeds) in new[] { ("same examples per language", s.Seeds), ("same total steps", s.Seeds.Take(1).ToList()) })
        {
            // Language count, then seed, then model: an interrupted study leaves X-MOD and SHARED
            // measured on the same configurations, so what is finished can already be compared.
            var values = new Dictionary<(string Model, int Languages), List<double>>();
            foreach (var n in s.LanguageCounts)
            {
                var steps = protocol.StartsWith("same examples", StringComparison.Ordinal) ? s.StepsPerLanguage * n : fixedTotal;
                foreach (var seed in seeds)
                {
                    foreach (var shared in new[] { false, true })
                    {
                        var model = shared ? "SHARED" : "X-MOD";
                        var key = $"curse/{model}/n{n}/steps{steps}/seed{seed}";
                        if (!ws.TryResult(key, out var ppl))
                        {
                            var dir = ws.Pretrain(corpus, $"{(shared ? "shared" : "xmod")}-n{n}-steps{steps}-s{seed}", s.Languages.Take(n).ToList(), shared, steps, seed, cancel);
                            var perLanguage = ws.Perplexity(corpus, dir, evaluated);
                            foreach (var (lang, p) in perLanguage)
                            {
                                ws.Record($"{key}/{lang}", p);
                            }
                            ppl = perLanguage.Values.Average();
                            ws.Record(key, ppl);
                        }
                        log(string.Create(CultureInfo.InvariantCulture, $"{model,-6} {n,2} languages, {steps} steps, seed {seed}: perplexity of {string.Join("+", evaluated)} {ppl:F2}"));
                        (values.TryGetValue((model, n), out var list) ? list : values[(model, n)] = []).Add(ppl);
                    }
                }
            }
            foreach (var ((model, n), v) in values.OrderBy(kv => kv.Key.Model == "SHARED").ThenBy(kv => kv.Key.Languages))
            {
                points.Add(new Point(model, protocol, n, v.Average(), v.Min(), v.Max(), v.Count));
            }
        }
        return points;
    }

    public static string Table(IReadOnlyList<Point> points, StudySettings s)
    {
        var inv = CultureInfo.InvariantCulture;
        var b = new StringBuilder();
        foreach (var protocol in points.Select(p => p.Protocol).Distinct())
        {
            b.AppendLine(inv, $"**{protocol}** — held-out perplexity of {string.Join(" and ", s.Languages.Take(s.Evaluated))} (mean over seeds, [min, max]); lower is better");
            b.AppendLine();
            b.AppendLine("| languages | X-MOD | SHARED | SHARED − X-MOD |");
            b.AppendLine("|---|---|---|---|");
            foreach (var n in s.LanguageCounts)
            {
                var x = points.Single(p => p.Protocol == protocol && p.Model == "X-MOD" && p.Languages == n);
                var sh = points.Single(p => p.Protocol == protocol && p.Model == "SHARED" && p.Languages == n);
                b.AppendLine(inv, $"| {n} | {x.Mean:F2} [{x.Min:F2}, {x.Max:F2}] | {sh.Mean:F2} [{sh.Min:F2}, {sh.Max:F2}] | {sh.Mean - x.Mean:+0.00;-0.00} |");
            }
            b.AppendLine();
        }
        return b.ToString();
    }

    public static string Plot(IReadOnlyList<Point> points, StudySettings s, string protocol) =>
        SvgChart.Lines(
            $"Held-out perplexity of {string.Join(" + ", s.Languages.Take(s.Evaluated))} ({protocol})",
            "languages pre-trained on", "perplexity (lower is better)",
            points.Where(p => p.Protocol == protocol).GroupBy(p => p.Model)
                .Select(g => new SvgChart.Series(g.Key, g.Select(p => new SvgChart.Point(p.Languages, p.Mean, p.Min, p.Max)).ToList()))
                .ToList(),
            logX: true);
}
