using XMod;
using XMod.Packaging.Manifests;
using XMod.Runtime.Model;
using XMod.Training.AddLanguage;
using XMod.Training.Checks;
using XModHub.Client;

namespace XModHub.Cli.Commands.AddLanguage;

public sealed class AddLanguageCommand(IReporter reporter, CliPaths paths)
{
    /// <summary>Trains the language's vocabulary, embeddings and modules on the frozen trunk; cancelled, it writes nothing.</summary>
    public int Run(string id, string corpusPath, string trunk, string? outDir, AddLanguageOptions options, CancellationToken cancel)
    {
        options = options.Validate(); // every input checked before any work
        var language = options.Describe().Code;
        outDir ??= Path.Combine("modules", AddLanguageOptions.PackageId(options.Describe()));
        InputChecks.Output(outDir, options.Force); // a trained module is replaced only with --force
        var text = LanguageText.Read(corpusPath, language, options.HeldOutPercent);
        // The trunk: an installed id (xmod-base), a model directory or a run; the module names the id publish needs.
        var located = ModelLocator.Locate(trunk, paths.Home, "trunk", PackageKind.Trunk);
        if (!File.Exists(Path.Combine(located.Directory, ModelStore.ConfigFile)))
        {
            throw new XModException($"--trunk {trunk} is a {PackageManifest.Load(located.Directory).Kind.ToString().ToLowerInvariant()} package, not a trunk");
        }
        options = options with { TrunkId = TrunkIds.Choose(options.TrunkId, located, paths.Home, AddLanguageOptions.PackageId(options.Describe()), reporter.Warn) };
        AddLanguageResult result;
        try
        {
            result = LanguageExtender.Run(located.Directory, text, outDir, options, reporter.Info, pr => reporter.Info(
                $"step {pr.Step,6}/{pr.TotalSteps}  loss {pr.Loss,7:F4}  {pr.TokensPerSecond / 1000,6:F1}k tok/s  elapsed {Durations.Format(pr.Elapsed)}  ETA {Durations.Format(pr.Remaining)}"), cancel);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            throw new CommandCancelledException("nothing was written", cancel);
        }
        reporter.Success($"added {result.Language}: {result.TrainableParameters:N0} parameters trained ({100.0 * result.TrainableParameters / result.TotalParameters:F1}% of the model), " +
            $"{(result.HeldOutPerplexity is { } ppl ? $"held-out perplexity {ppl:F2}" : "no held-out perplexity (nothing could be held out)")}, written to {result.Directory}");
        return 0;
    }
}
