using System.Diagnostics;
using System.Text;
using XMod.Packaging;

namespace XMod.Training.Studies;

/// <summary>Runs one study (or all) in a workspace and writes its tables (REPORT.md) and plots (SVG + PNG).</summary>
public static class StudyReport
{
    public static readonly IReadOnlyList<string> Names = ["curse", "added", "transfer"];

    /// <summary>The studies <paramref name="name"/> stands for (one of <see cref="Names"/>, or "all"); anything else is one error.</summary>
    public static IReadOnlyList<string> Select(string name) =>
        name.ToLowerInvariant() == "all" ? Names
        : Names.Contains(name.ToLowerInvariant()) ? [name.ToLowerInvariant()]
        : throw new XModException($"unknown study '{name}': use {string.Join(", ", Names)} or all");

    /// <summary>Runs the named studies; returns the report's path. Interrupted studies resume from their results and checkpoints.</summary>
    public static string Run(StudyWorkspace ws, IReadOnlyList<string> studies, Action<string> log, CancellationToken cancel)
    {
        foreach (var s in studies)
        {
            Select(s);
        }
        var clock = Stopwatch.StartNew();
        var report = new StringBuilder();
        report.AppendLine($"# Study results ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC)");
        report.AppendLine();
        report.AppendLine($"Settings: preset `{ws.Settings.Preset}`, {ws.Settings.BatchSize} x {ws.Settings.SequenceLength} tokens per step, " +
            $"{ws.Settings.StepsPerLanguage} steps per language, {ws.Settings.TrainBytesPerLanguage / 1e3:F0} kB of training text per language, " +
            $"one {ws.Settings.VocabSize}-piece vocabulary for every run, seeds {string.Join(", ", ws.Settings.Seeds)}; languages in order: {string.Join(", ", ws.Settings.Languages)}.");
        report.AppendLine();
        if (studies.Contains("curse"))
        {
            var points = CurseStudy.Run(ws, log, cancel);
            report.AppendLine("## The curse of multilinguality and its lifting").AppendLine();
            report.Append(CurseStudy.Table(points, ws.Settings));
            foreach (var protocol in points.Select(p => p.Protocol).Distinct())
            {
                var name = protocol.StartsWith("same examples", StringComparison.Ordinal) ? "curse" : "curse-fixed-steps";
                Plot(report, ws, name, CurseStudy.Plot(points, ws.Settings, protocol));
            }
        }
        if (studies.Contains("added"))
        {
            var rows = AddedStudy.Run(ws, log, cancel);
            report.AppendLine("## Languages added later vs pre-trained").AppendLine();
            report.Append(AddedStudy.Table(rows, ws.Settings));
            Plot(report, ws, "added", AddedStudy.Plot(rows));
        }
        if (studies.Contains("transfer"))
        {
            var rows = TransferStudy.Run(ws, log, cancel);
            report.AppendLine("## Zero-shot cross-lingual transfer").AppendLine();
            report.Append(TransferStudy.Table(rows, ws.Settings));
            Plot(report, ws, "transfer", TransferStudy.Plot(rows));
        }
        report.AppendLine($"Compute: {clock.Elapsed.TotalMinutes:F1} min in this invocation (results found in results.json, if any, were reused, not recomputed).");
        var path = Path.Combine(ws.Directory, "REPORT.md");
        AtomicFile.WriteAllText(path, report.ToString());
        return path;
    }

    private static void Plot(StringBuilder report, StudyWorkspace ws, string name, string svg)
    {
        var png = SvgChart.Save(svg, Path.Combine(ws.Directory, name));
        report.AppendLine($"![{name}]({name}{(png is null ? ".svg" : ".png")})").AppendLine();
    }
}
