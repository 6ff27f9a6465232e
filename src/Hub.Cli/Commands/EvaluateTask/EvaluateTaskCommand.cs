using System.Globalization;
using XMod.Runtime.Model;
using XMod.Runtime.Tasks;
using XMod.Training.FineTuning;
using XModHub.Client;

namespace XModHub.Cli.Commands.EvaluateTask;

/// <summary>
/// Scores a task model on labelled data in any language of its trunk: accuracy and per-label
/// precision, recall and F1 (per word when tagging, with the F1 over every tag but O); exact match
/// and word F1 of the answers for question answering.
/// </summary>
public sealed class EvaluateTaskCommand(IReporter reporter, CliPaths paths)
{
    public int Run(string taskDir, string? trunk, IReadOnlyList<string> modules, string lang, string dataFile)
    {
        // Task, trunk and modules by directory or installed id; the trunk defaults to the installed one the task was tuned on.
        using var model = ModelLocator.OpenTask(taskDir, trunk, modules, paths.Home);
        lang = ModelLocator.EnsureLanguages(model.Loaded, [lang], paths.Home, trunk ?? "the task's trunk")[0];
        var (examples, _) = TaskDataFile.Read(dataFile, model.Info.Kind, model.Info.Kind == TaskKind.QuestionAnswering ? null : string.Join(',', model.Labels));
        switch (model.Info.Kind)
        {
            case TaskKind.SequenceClassification:
            {
                var predicted = model.Classify(examples.Select(e => e.Text).ToList(), lang);
                var scores = TaskMetrics.Score(examples.Zip(predicted).Select(x => (x.First.Label, x.Second.Index)).ToList(), model.Labels);
                reporter.Info($"accuracy in {lang}: {scores.Accuracy:P2} on {examples.Count} examples");
                PrintClasses(scores, "examples");
                break;
            }
            case TaskKind.TokenClassification:
            {
                var predicted = model.Tag(examples.Select(e => e.Words!).ToList(), lang);
                var pairs = examples.Zip(predicted).SelectMany(x => x.First.WordLabels!.Zip(x.Second)).ToList();
                var outside = model.Labels.FirstOrDefault(l => l is "O" or "o");
                var scores = TaskMetrics.Score(pairs, model.Labels, outside);
                reporter.Info($"token accuracy in {lang}: {scores.Accuracy:P2} on {pairs.Count} words in {examples.Count} sentences");
                if (scores.EntityF1 is { } f1)
                {
                    reporter.Info($"token-level F1 over every tag but {outside}: {f1.ToString("F4", CultureInfo.InvariantCulture)}");
                }
                PrintClasses(scores, "words");
                break;
            }
            default:
            {
                var answers = model.AnswerText(examples.Select(e => (e.Question!, e.Text)).ToList(), lang);
                var gold = examples.Select(e => e.Text.Substring(e.AnswerStart, e.AnswerLength)).ToList();
                var scores = TaskMetrics.ScoreAnswers(gold.Zip(answers).ToList());
                reporter.Info($"question answering in {lang} on {scores.Count} questions: exact match {scores.ExactMatch:P2}, F1 {scores.F1.ToString("F4", CultureInfo.InvariantCulture)}");
                break;
            }
        }
        return 0;
    }

    private void PrintClasses(TaskScores scores, string unit)
    {
        var width = Math.Max(5, scores.Classes.Max(c => c.Label.Length));
        reporter.Info($"  {"label".PadRight(width)}  precision  recall      F1  {unit}");
        foreach (var c in scores.Classes)
        {
            reporter.Info(string.Create(CultureInfo.InvariantCulture, $"  {c.Label.PadRight(width)}  {c.Precision,9:F4}  {c.Recall,6:F4}  {c.F1,6:F4}  {c.Support,5}"));
        }
        reporter.Info(string.Create(CultureInfo.InvariantCulture, $"  macro F1 {scores.MacroF1:F4}"));
    }
}
