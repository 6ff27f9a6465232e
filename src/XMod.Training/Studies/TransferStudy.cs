using System.Globalization;
using System.Text;
using XMod.Runtime.Model;
using XMod.Runtime.Tasks;
using XMod.Training.Corpora;
using XMod.Training.FineTuning;

namespace XMod.Training.Studies;

/// <summary>
/// Zero-shot transfer (paper Table 2): a task whose labels mean the same in every language — is a
/// manual-page paragraph from a page about a file format (section 5) or an overview of a topic
/// (section 7)? These two sections are the ones English and every translation have in Debian's
/// packages — balanced, so the majority class is 50%. Fine-tuned in English on X-MOD and SHARED trunks
/// pre-trained identically; evaluated in English on paragraphs it was not trained on and in every
/// other pre-trained language by swapping in that language's module.
/// </summary>
public static class TransferStudy
{
    public sealed record Row(string Language, int Examples, double XMod, double Shared);

    private static readonly string[] s_labels = ["file format", "overview"];

    public static IReadOnlyList<Row> Run(StudyWorkspace ws, Action<string> log, CancellationToken cancel)
    {
        var s = ws.Settings;
        var corpus = ws.Prepare();
        // The second-largest configuration of the curse study: its runs are reused when they exist.
        var n = s.LanguageCounts.Count > 1 ? s.LanguageCounts[^2] : s.LanguageCounts[0];
        var languages = s.Languages.Take(n).ToList();
        var seed = s.Seeds[0];
        var source = languages[0];
        var (train, sourceTest) = Split(Sections(corpus, source), s.TransferExamples);
        var accuracy = new Dictionary<(string Model, string Lang), double>();
        var counts = new Dictionary<string, int>();
        foreach (var shared in new[] { false, true })
        {
            var model = shared ? "SHARED" : "X-MOD";
            var steps = s.StepsPerLanguage * n;
            var pending = languages.Where(l => !ws.TryResult($"transfer/{model}/{l}", out _)).ToList();
            if (pending.Count > 0)
            {
                var dir = ws.Pretrain(corpus, $"{(shared ? "shared" : "xmod")}-n{n}-steps{steps}-s{seed}", languages, shared, steps, seed, cancel);
                using var loaded = LoadedModel.Open(dir);
                var options = new FineTuneOptions
                {
                    Kind = TaskKind.SequenceClassification, Labels = s_labels, Language = source, Epochs = s.TransferEpochs,
                    BatchSize = 16, MaxLength = s.SequenceLength, LearningRate = 3e-4, Seed = seed,
                };
                log($"{model}: fine-tuning on {train.Count} {source} paragraphs (section 5 vs 7, balanced)");
                using var task = FineTuner.Train(loaded, train.Select(x => new TaskExample { Text = x.Text, Label = x.Label }).ToList(), options, log, cancel: cancel);
                foreach (var lang in pending)
                {
                    var test = lang == source ? sourceTest : Balanced(Sections(corpus, lang), 400);
                    var predicted = task.Classify(test.Select(t => t.Text).ToList(), lang);
                    var acc = test.Zip(predicted).Count(x => x.First.Label == x.Second.Index) / (double)Math.Max(1, test.Count);
                    ws.Record($"transfer/{model}/{lang}", acc);
                    ws.Record($"transfer/examples/{lang}", test.Count);
                }
            }
            foreach (var lang in languages)
            {
                ws.TryResult($"transfer/{model}/{lang}", out var acc);
                ws.TryResult($"transfer/examples/{lang}", out var count);
                accuracy[(model, lang)] = acc;
                counts[lang] = (int)count;
                log(string.Create(CultureInfo.InvariantCulture, $"{model,-6} {lang}: {acc:P1} of {count}"));
            }
        }
        return languages.Select(l => new Row(l, counts[l], accuracy[("X-MOD", l)], accuracy[("SHARED", l)])).ToList();
    }

    /// <summary>Section-5 and section-7 paragraphs of a language, in a fixed (hash) order.</summary>
    private static List<(string Text, int Label)> Sections(Corpus corpus, string code) =>
        corpus.WithSources(code, heldOut: false).Concat(corpus.WithSources(code, heldOut: true))
            .Where(p => p.Source.StartsWith("man5:", StringComparison.Ordinal) || p.Source.StartsWith("man7:", StringComparison.Ordinal))
            .Select(p => (p.Text, Label: p.Source[3] == '5' ? 0 : 1))
            .OrderBy(p => CorpusBuilder.Hash(p.Text))
            .ToList();

    /// <summary>Up to <paramref name="perClass"/> of each label, so the majority class is 50%.</summary>
    private static List<(string Text, int Label)> Balanced(List<(string Text, int Label)> all, int perClass)
    {
        var take = Math.Min(perClass, Math.Min(all.Count(x => x.Label == 0), all.Count(x => x.Label == 1)));
        return all.Where(x => x.Label == 0).Take(take).Concat(all.Where(x => x.Label == 1).Take(take)).ToList();
    }

    /// <summary>A balanced training set and a balanced test set of the source language that do not overlap.</summary>
    private static (List<(string Text, int Label)> Train, List<(string Text, int Label)> Test) Split(List<(string Text, int Label)> all, int trainExamples)
    {
        var balanced = Balanced(all, int.MaxValue);
        var perClassTest = Math.Max(1, balanced.Count / 2 / 5); // a fifth of each class is the source-language test
        var test = balanced.Where(x => x.Label == 0).Take(perClassTest).Concat(balanced.Where(x => x.Label == 1).Take(perClassTest)).ToList();
        var train = balanced.Except(test).Take(trainExamples).ToList();
        return (train, test);
    }

    public static string Table(IReadOnlyList<Row> rows)
    {
        var inv = CultureInfo.InvariantCulture;
        var b = new StringBuilder();
        b.AppendLine("Accuracy, section 5 (file formats) vs section 7 (overviews), balanced: the majority class is 50%. Fine-tuned in " +
            $"{rows[0].Language} only; every other language zero-shot.");
        b.AppendLine();
        b.AppendLine("| language | test paragraphs | X-MOD | SHARED | X-MOD − SHARED |");
        b.AppendLine("|---|---|---|---|---|");
        foreach (var r in rows)
        {
            b.AppendLine(inv, $"| {r.Language}{(r == rows[0] ? " (source)" : "")} | {r.Examples} | {r.XMod:P1} | {r.Shared:P1} | {100 * (r.XMod - r.Shared):+0.0;-0.0} pt |");
        }
        // A language with no test paragraphs has no accuracy, not an accuracy of 0%.
        var others = rows.Skip(1).Where(r => r.Examples > 0).ToList();
        if (others.Count > 0)
        {
            b.AppendLine(inv, $"| **mean of the {others.Count} transfer languages with test paragraphs** | | **{others.Average(r => r.XMod):P1}** | **{others.Average(r => r.Shared):P1}** | **{100 * (others.Average(r => r.XMod) - others.Average(r => r.Shared)):+0.0;-0.0} pt** |");
        }
        b.AppendLine();
        return b.ToString();
    }

    public static string Plot(IReadOnlyList<Row> rows) =>
        SvgChart.Bars("Zero-shot transfer accuracy (section 5 vs 7; majority 50%)", "accuracy",
            rows.Select(r => r.Language).ToList(),
            [new SvgChart.BarSeries("X-MOD", rows.Select(r => r.XMod).ToList()), new SvgChart.BarSeries("SHARED", rows.Select(r => r.Shared).ToList())],
            baseline: 0.5);
}
