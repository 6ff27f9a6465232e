using XMod.Runtime.Model;
using XMod.Runtime.Tasks;
using XMod.Training.Checks;
using XMod.Training.FineTuning;
using XModHub.Client;

namespace XModHub.Cli.Commands.FineTune;

public sealed class FineTuneCommand(IReporter reporter)
{
    public int Run(string trunk, string task, string trainFile, string? labelList, string outDir, FineTuneOptions options, CancellationToken cancel = default, bool force = false)
    {
        var kind = TaskDataFile.ParseKind(task);
        var (examples, labels) = TaskDataFile.Read(trainFile, kind, labelList);
        options = (options with { Kind = kind, Labels = labels }).Validate(); // every input checked before the model loads
        InputChecks.Output(outDir, force);
        using var loaded = LoadedModel.Open(trunk);
        TaskModel model;
        try
        {
            model = FineTuner.Train(loaded, examples, options, reporter.Info, pr => reporter.Info($"step {pr.Step,5}/{pr.TotalSteps}  loss {pr.Loss:F4}  ETA {Durations.Format(pr.Remaining)}"), cancel);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            throw new CommandCancelledException("nothing was written", cancel);
        }
        using var _ = model;
        var metrics = new Dictionary<string, double> { ["train_examples"] = examples.Count };
        if (kind == TaskKind.SequenceClassification)
        {
            metrics["train_accuracy"] = model.Accuracy(examples, options.Language);
        }
        FineTuner.Save(model, options, outDir, metrics);
        reporter.Success($"task model written to {outDir}" + (metrics.TryGetValue("train_accuracy", out var a) ? $" (training accuracy {a:P1})" : ""));
        reporter.Info($"next: xmod-hub predict --model {outDir} --trunk {trunk} --lang <any language> --text \"...\"");
        return 0;
    }
}
