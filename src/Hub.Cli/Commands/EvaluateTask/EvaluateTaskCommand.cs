using XMod.Runtime.Model;
using XMod.Runtime.Tasks;
using XMod.Training.FineTuning;
using XModHub.Client;

namespace XModHub.Cli.Commands.EvaluateTask;

public sealed class EvaluateTaskCommand(IReporter reporter)
{
    public int Run(string taskDir, string trunk, IReadOnlyList<string> modules, string lang, string dataFile)
    {
        using var model = TaskModel.Open(taskDir, trunk, modules);
        var (examples, _) = TaskDataFile.Read(dataFile, TaskKind.SequenceClassification, string.Join(',', model.Labels));
        reporter.Info($"accuracy in {lang}: {model.Accuracy(examples, lang):P2} on {examples.Count} examples");
        return 0;
    }
}
