using XMod;
using XMod.Runtime.Model;
using XMod.Runtime.Tasks;
using XModHub.Client;

namespace XModHub.Cli.Commands.Predict;

public sealed class PredictCommand(IReporter reporter, CliPaths paths)
{
    public int Run(string taskDir, string? trunk, IReadOnlyList<string> modules, string lang, string? text, string? file)
    {
        IReadOnlyList<string> inputs = text is not null ? [text] : file is not null ? File.ReadAllLines(file) : throw new XModException("give --text or --file");
        // Task, trunk and modules by directory or installed id; the trunk defaults to the installed one the task was tuned on.
        using var model = ModelLocator.OpenTask(taskDir, trunk, modules, paths.Home);
        lang = ModelLocator.EnsureLanguages(model.Loaded, [lang], paths.Home, trunk ?? "the task's trunk")[0];
        switch (model.Info.Kind)
        {
            case TaskKind.SequenceClassification:
                foreach (var (input, p) in inputs.Zip(model.Classify(inputs, lang)))
                {
                    reporter.Info($"{p.Label}\t{p.Probability:F3}\t{input}");
                }
                break;
            case TaskKind.TokenClassification:
                var sentences = inputs.Select(TaskInputs.Words).ToList();
                foreach (var (words, tags) in sentences.Zip(model.Tag(sentences, lang)))
                {
                    reporter.Info(string.Join(' ', words.Zip(tags).Select(x => $"{x.First}/{model.Labels[x.Second]}")));
                }
                break;
            default:
                var items = inputs.Select(TaskInputs.Question).ToList();
                foreach (var ((q, _), answer) in items.Zip(model.AnswerText(items, lang)))
                {
                    reporter.Info($"{q}\t{(answer.Length == 0 ? "(no answer in the context)" : answer)}");
                }
                break;
        }
        return 0;
    }
}
