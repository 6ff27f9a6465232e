using XMod.Runtime.Model;
using XMod.Runtime.Tasks;
using XMod.Training.FineTuning;
using XModHub.Client;

namespace XModHub.Cli.Commands.EvaluateTask;

public sealed class EvaluateTaskCommand(IReporter reporter, CliPaths paths)
{
    public int Run(string taskDir, string? trunk, IReadOnlyList<string> modules, string lang, string dataFile)
    {
        // Task, trunk and modules by directory or installed id; the trunk defaults to the installed one the task was tuned on.
        using var model = ModelLocator.OpenTask(taskDir, trunk, modules, paths.Home);
        lang = ModelLocator.EnsureLanguages(model.Loaded, [lang], paths.Home, trunk ?? "the task's trunk")[0];
        var (examples, _) = TaskDataFile.Read(dataFile, TaskKind.SequenceClassification, string.Join(',', model.Labels));
        reporter.Info($"accuracy in {lang}: {model.Accuracy(examples, lang):P2} on {examples.Count} examples");
        return 0;
    }
}
