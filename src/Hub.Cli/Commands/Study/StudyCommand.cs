using System.Globalization;
using XMod;
using XMod.Training.Studies;
using XModHub.Client;

namespace XModHub.Cli.Commands.Study;

public sealed class StudyCommand(IReporter reporter)
{
    public int Run(string name, string dir, bool quick, string? seeds, CancellationToken cancel)
    {
        var studies = StudyReport.Select(name); // before the workspace exists: a typo creates nothing
        var settings = quick ? StudySettings.Quick : StudySettings.Full;
        if (seeds is not null)
        {
            settings = settings with { Seeds = ParseSeeds(seeds) };
        }
        var workspace = new StudyWorkspace(dir, settings, reporter.Info);
        reporter.Info($"study {name} ({(quick ? "quick" : "full")}) in {workspace.Directory}: results so far are reused, an interrupted run resumes");
        try
        {
            var report = StudyReport.Run(workspace, studies, reporter.Info, cancel);
            reporter.Success($"report: {report}");
            return 0;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            throw new CommandCancelledException($"stopped; the finished configurations are in {Path.Combine(workspace.Directory, "results.json")}. " +
                $"Continue with: xmod-hub study {name} --dir {dir}{(quick ? " --quick" : "")}", cancel);
        }
    }

    private static IReadOnlyList<ulong> ParseSeeds(string text)
    {
        var seeds = new List<ulong>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!ulong.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var seed))
            {
                throw new XModException($"--seeds: '{part}' is not a non-negative whole number; give e.g. --seeds 1,2");
            }
            seeds.Add(seed);
        }
        return seeds.Count > 0 ? seeds.Distinct().ToList() : throw new XModException("--seeds: give at least one seed, e.g. --seeds 1,2");
    }
}
