using XMod;
using XMod.Packaging.Manifests;
using XMod.Runtime.Model;
using XMod.Training.AddLanguage;
using XMod.Training.Checks;
using XMod.Training.Distributed;
using XModHub.Client;

namespace XModHub.Cli.Commands.AddLanguage;

public sealed class AddLanguageCommand(IReporter reporter, CliPaths paths)
{
    /// <summary>Trains the language's vocabulary, embeddings and modules on the frozen trunk; cancelled, it writes nothing.</summary>
    public int Run(string id, string corpusPath, string trunk, string? outDir, AddLanguageOptions options, CancellationToken cancel, bool includeEvalSet = false)
    {
        options = options.Validate(); // every input checked before any work
        var language = options.Describe().Code;
        outDir ??= Path.Combine("modules", AddLanguageOptions.PackageId(options.Describe()));
        // One rank of a data-parallel run when torchrun's variables are set (--nproc sets them); rank 0 writes.
        using var parallel = DataParallel.FromEnvironment();
        if (parallel is not { IsLeader: false })
        {
            InputChecks.Output(outDir, options.Force); // a trained module is replaced only with --force
        }
        var text = LanguageText.Read(corpusPath, language, options.HeldOutPercent)
            .WithoutEvalSet(corpusPath, XMod.Packaging.Languages.LanguageCatalog.Find(language), paths.SourceCache, includeEvalSet, parallel is { IsLeader: false } ? _ => { } : reporter.Info);
        // The trunk: an installed id (xmod-base), a model directory or a run; the module names the id publish needs.
        var located = ModelLocator.Locate(trunk, paths.Home, "trunk", PackageKind.Trunk);
        if (!File.Exists(Path.Combine(located.Directory, ModelStore.ConfigFile)))
        {
            throw new XModException($"--trunk {trunk} is a {PackageManifest.Load(located.Directory).Kind.ToString().ToLowerInvariant()} package, not a trunk");
        }
        options = options with { TrunkId = TrunkIds.Choose(options.TrunkId, located, paths.Home, AddLanguageOptions.PackageId(options.Describe()), parallel is { IsLeader: false } ? _ => { } : reporter.Warn) };
        AddLanguageResult result;
        try
        {
            result = LanguageExtender.Run(located.Directory, text, outDir, options, reporter.Info, pr => reporter.Info(
                $"step {pr.Step,6}/{pr.TotalSteps}  loss {pr.Loss,7:F4}  {pr.TokensPerSecond / 1000,6:F1}k tok/s  elapsed {Durations.Format(pr.Elapsed)}  ETA {Durations.Format(pr.Remaining)}"), cancel, parallel: parallel);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested || parallel is not null)
        {
            throw new CommandCancelledException("nothing was written", cancel);
        }
        if (parallel is { IsLeader: false })
        {
            return 0;
        }
        reporter.Success($"added {result.Language}: {result.TrainableParameters:N0} parameters trained ({100.0 * result.TrainableParameters / result.TotalParameters:F1}% of the model), " +
            $"{(result.HeldOutPerplexity is { } ppl ? $"held-out perplexity {ppl:F2}" : "no held-out perplexity (nothing could be held out)")}, written to {result.Directory}");
        return 0;
    }

    /// <summary>--nproc N: this same command as N local ranks; the first rank to fail ends the others.</summary>
    public int Launch(int ranks, CancellationToken cancel) => LocalLauncher.RunSelf(ranks, reporter.Error, cancel);
}
