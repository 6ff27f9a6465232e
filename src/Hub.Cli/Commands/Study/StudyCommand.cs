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
        if (string.IsNullOrWhiteSpace(dir))
        {
            throw new XModException("--dir is empty: give the study's directory (created if missing), e.g. --dir study");
        }
        if (File.Exists(dir))
        {
            throw new XModException($"--dir {dir} is a file; give a directory for the study (created if missing)");
        }
        try
        {
            // Writable before hours of work: created if missing, a probe file written and removed.
            Directory.CreateDirectory(dir);
            var probe = Path.Combine(dir, $".write-probe-{Guid.NewGuid():N}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new XModException($"--dir {dir}: the study cannot write there ({e.Message.TrimEnd('.')}); give a writable directory (finished results in it are reused)");
        }
        try
        {
            var workspace = new StudyWorkspace(dir, settings, reporter.Info);
            reporter.Info($"study {name} ({(quick ? "quick" : "full")}) in {workspace.Directory}: results so far are reused, an interrupted run resumes");
            var report = StudyReport.Run(workspace, studies, reporter.Info, cancel);
            reporter.Success($"report: {report}");
            return 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && !cancel.IsCancellationRequested)
        {
            // A file the study needs could not be read or written (a disk that filled up, a file removed under it).
            throw new XModException($"the study stopped on a file error: {e.Message.TrimEnd('.')}; the finished configurations in {dir} are kept, run the same command again once it is fixed");
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            throw new CommandCancelledException($"stopped; the finished configurations are in {Path.Combine(Path.GetFullPath(dir), "results.json")}. " +
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
