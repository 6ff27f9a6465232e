using XMod;
using XMod.Packaging.Manifests;
using XMod.Runtime.Model;
using XMod.Runtime.Tasks;
using XMod.Training.Checks;
using XMod.Training.Distributed;
using XMod.Training.FineTuning;
using XModHub.Client;

namespace XModHub.Cli.Commands.FineTune;

public sealed class FineTuneCommand(IReporter reporter, CliPaths paths)
{
    public int Run(string trunk, string task, string trainFile, string? labelList, string outDir, FineTuneOptions options, CancellationToken cancel = default, bool force = false,
        string? trunkId = null)
    {
        var kind = TaskDataFile.ParseKind(task);
        var (examples, labels) = TaskDataFile.Read(trainFile, kind, labelList);
        options = (options with { Kind = kind, Labels = labels }).Validate(); // every input checked before the model loads
        // One rank of a data-parallel run when torchrun's variables are set (--nproc sets them); rank 0 writes.
        using var parallel = DataParallel.FromEnvironment();
        if (parallel is not { IsLeader: false })
        {
            InputChecks.Output(outDir, force);
        }
        // The trunk: an installed id (xmod-base), a model directory or a run; the task names the id publish needs.
        var located = ModelLocator.Locate(trunk, paths.Home, "trunk", PackageKind.Trunk);
        if (!File.Exists(Path.Combine(located.Directory, ModelStore.ConfigFile)))
        {
            throw new XModException($"--trunk {trunk} is a {PackageManifest.Load(located.Directory).Kind.ToString().ToLowerInvariant()} package, not a trunk");
        }
        trunkId = TrunkIds.Choose(trunkId, located, paths.Home, "task-" + options.Name, parallel is { IsLeader: false } ? _ => { } : reporter.Warn);
        using var loaded = LoadedModel.Open(located.Directory);
        // An installed trunk has no languages of its own: the data's language comes from its installed packages.
        ModelLocator.EnsureLanguages(loaded, [options.Language], paths.Home, trunk);
        TaskModel model;
        try
        {
            model = FineTuner.Train(loaded, examples, options, reporter.Info, pr => reporter.Info($"step {pr.Step,5}/{pr.TotalSteps}  loss {pr.Loss:F4}  ETA {Durations.Format(pr.Remaining)}"), cancel, parallel: parallel);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested || parallel is not null)
        {
            throw new CommandCancelledException("nothing was written", cancel);
        }
        using var _ = model;
        if (parallel is { IsLeader: false })
        {
            return 0;
        }
        var metrics = new Dictionary<string, double> { ["train_examples"] = examples.Count };
        if (kind == TaskKind.SequenceClassification)
        {
            metrics["train_accuracy"] = model.Accuracy(examples, options.Language);
        }
        FineTuner.Save(model, options, outDir, metrics, trunkId);
        reporter.Success($"task model written to {outDir}" + (metrics.TryGetValue("train_accuracy", out var a) ? $" (training accuracy {a:P1})" : ""));
        reporter.Info($"next: xmod-hub predict --model {outDir} --trunk {trunk} --lang <any language> --text \"...\"");
        return 0;
    }

    /// <summary>--nproc N: this same command as N local ranks; the first rank to fail ends the others.</summary>
    public int Launch(int ranks, CancellationToken cancel) => LocalLauncher.RunSelf(ranks, reporter.Error, cancel);
}
