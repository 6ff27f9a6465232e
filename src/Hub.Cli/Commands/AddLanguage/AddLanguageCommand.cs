using XMod.Runtime.Model;
using XMod.Training.AddLanguage;
using XModHub.Client;

namespace XModHub.Cli.Commands.AddLanguage;

public sealed class AddLanguageCommand(IReporter reporter)
{
    /// <summary>Trains the language's vocabulary, embeddings and modules on the frozen trunk; cancelled, it writes nothing.</summary>
    public int Run(string id, string corpusPath, string trunk, string? outDir, AddLanguageOptions options, CancellationToken cancel)
    {
        var language = LanguageText.LanguageCode(id);
        var (lines, source) = LanguageText.Read(corpusPath, language);
        AddLanguageResult result;
        try
        {
            result = LanguageExtender.Run(ModelDirectory.Resolve(trunk), lines, source, outDir ?? LanguageText.DefaultModuleDir(id), options with { Language = language },
                reporter.Info, pr => reporter.Info(
                    $"step {pr.Step,6}/{pr.TotalSteps}  loss {pr.Loss,7:F4}  {pr.TokensPerSecond / 1000,6:F1}k tok/s  elapsed {Durations.Format(pr.Elapsed)}  ETA {Durations.Format(pr.Remaining)}"), cancel);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            throw new CommandCancelledException("nothing was written", cancel);
        }
        reporter.Success($"added {result.Language}: {result.TrainableParameters:N0} parameters trained ({100.0 * result.TrainableParameters / result.TotalParameters:F1}% of the model), held-out perplexity {result.HeldOutPerplexity:F2}, written to {result.Directory}");
        return 0;
    }
}
