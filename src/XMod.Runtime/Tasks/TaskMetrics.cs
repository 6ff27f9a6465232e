namespace XMod.Runtime.Tasks;

/// <summary>A predicted class: its label's name, its index among the model's labels, and its probability.</summary>
public sealed record ClassPrediction(string Label, int Index, double Probability);

/// <summary>Precision, recall and F1 of one label, over <see cref="Support"/> gold items.</summary>
public sealed record ClassScore(string Label, int Support, int Predicted, double Precision, double Recall, double F1);

/// <param name="Accuracy">Share of items (texts, or words when tagging) labelled right.</param>
/// <param name="MacroF1">Mean F1 over the labels that occur in the gold data or the predictions.</param>
/// <param name="EntityF1">Tagging only: micro F1 over every word whose gold or predicted tag is not the outside tag (O).</param>
public sealed record TaskScores(int Count, double Accuracy, IReadOnlyList<ClassScore> Classes, double MacroF1, double? EntityF1 = null);

/// <summary>QA scores as SQuAD reports them: exact match and word-overlap F1 of the answer text.</summary>
public sealed record AnswerScores(int Count, double ExactMatch, double F1);

public static class TaskMetrics
{
    /// <summary>Per-label scores from (gold, predicted) label indices; <paramref name="outside"/> names the tagging's outside label.</summary>
    public static TaskScores Score(IReadOnlyList<(int Gold, int Predicted)> pairs, IReadOnlyList<string> labels, string? outside = null)
    {
        if (pairs.Count == 0)
        {
            throw new XModException("no examples to score");
        }
        var classes = new List<ClassScore>();
        for (var k = 0; k < labels.Count; k++)
        {
            var support = pairs.Count(p => p.Gold == k);
            var predicted = pairs.Count(p => p.Predicted == k);
            var right = pairs.Count(p => p.Gold == k && p.Predicted == k);
            var precision = predicted == 0 ? 0 : right / (double)predicted;
            var recall = support == 0 ? 0 : right / (double)support;
            classes.Add(new ClassScore(labels[k], support, predicted, precision, recall, F1(precision, recall)));
        }
        var seen = classes.Where(c => c.Support > 0 || c.Predicted > 0).ToList();
        double? entity = null;
        if (outside is not null && labels.ToList().IndexOf(outside) is var o and >= 0)
        {
            var goldIn = pairs.Count(p => p.Gold != o);
            var predIn = pairs.Count(p => p.Predicted != o);
            var right = pairs.Count(p => p.Gold != o && p.Gold == p.Predicted);
            entity = F1(predIn == 0 ? 0 : right / (double)predIn, goldIn == 0 ? 0 : right / (double)goldIn);
        }
        return new TaskScores(pairs.Count, pairs.Count(p => p.Gold == p.Predicted) / (double)pairs.Count, classes,
            seen.Count == 0 ? 0 : seen.Average(c => c.F1), entity);
    }

    /// <summary>Exact match and word-overlap F1 of predicted against gold answers (case and punctuation ignored).</summary>
    public static AnswerScores ScoreAnswers(IReadOnlyList<(string Gold, string Predicted)> answers)
    {
        if (answers.Count == 0)
        {
            throw new XModException("no examples to score");
        }
        double exact = 0, f1 = 0;
        foreach (var (gold, predicted) in answers)
        {
            var g = Words(gold);
            var p = Words(predicted);
            exact += g.SequenceEqual(p) ? 1 : 0;
            var common = g.GroupBy(w => w).Sum(x => Math.Min(x.Count(), p.Count(w => w == x.Key)));
            f1 += common == 0 ? 0 : F1(common / (double)p.Count, common / (double)g.Count);
        }
        return new AnswerScores(answers.Count, exact / answers.Count, f1 / answers.Count);
    }

    private static double F1(double precision, double recall) => precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);

    private static List<string> Words(string text) =>
        new string(text.ToLowerInvariant().Select(c => char.IsPunctuation(c) ? ' ' : c).ToArray()).Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
}
