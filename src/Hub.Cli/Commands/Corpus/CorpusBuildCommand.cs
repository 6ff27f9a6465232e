using XMod;
using XMod.Packaging.Languages;
using XMod.Training.Corpora;
using XModHub.Client;

namespace XModHub.Cli.Commands.Corpus;

public sealed class CorpusBuildCommand(IReporter reporter, CliPaths paths)
{
    public int Run(string outDir, string? langs, double maxMb, int heldOutPercent, bool manPages, bool udhr, bool includeEvalSet = false)
    {
        if (heldOutPercent is < 1 or > 50)
        {
            throw new XModException($"--heldout-percent {heldOutPercent} must lie between 1 and 50");
        }
        if (File.Exists(outDir))
        {
            throw new XModException($"--out {outDir} is a file; give a directory for the corpora (it is created when missing)");
        }
        var maxBytes = CorpusOptions.MegabytesToBytes(maxMb); // checked before anything is printed or fetched
        var languages = ParseLanguages(langs);
        reporter.Info($"building corpora for {languages.Count} languages into {outDir}");
        var manifest = CorpusBuilder.Build(languages, outDir, new CorpusOptions
        {
            MaxTrainBytes = maxBytes,
            HeldOutPercent = heldOutPercent,
            UseManPages = manPages,
            UseUdhr = udhr,
            IncludeEvalSet = includeEvalSet,
            SourceCache = paths.SourceCache,
        }, reporter.Info);
        var built = manifest.Languages.Where(l => languages.Any(x => x.Code == l.Code)).ToList();
        reporter.Success($"done: {built.Sum(l => l.TrainBytes) / 1e6:F1} MB of training text and {built.Sum(l => l.HeldOutBytes) / 1e6:F1} MB held out in {built.Count} languages ({outDir}/corpus.json)");
        return 0;
    }

    internal static IReadOnlyList<LanguageInfo> ParseLanguages(string? langs) =>
        string.IsNullOrWhiteSpace(langs)
            ? [.. LanguageCatalog.WithManPages, LanguageCatalog.Get("yo")]
            : langs.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(LanguageCatalog.Get).Distinct().ToList();
}
