using System.CommandLine;
using XMod.Training.Studies;

namespace XModHub.Cli.Commands.Study;

/// <summary>`xmod-hub study curse|added|transfer|all`: the paper's findings reproduced small, one command per figure.</summary>
public static class StudyDefinition
{
    public static readonly Argument<string> Name = new("study")
    {
        Description = $"Which study: {string.Join(", ", StudyReport.Names)} or all",
        DefaultValueFactory = _ => "all",
    };

    public static readonly Option<string> Dir = new("--dir") { Description = "Working directory: corpus, runs, results.json, REPORT.md and plots (resumed when it exists)", DefaultValueFactory = _ => "study" };
    public static readonly Option<bool> Quick = new("--quick") { Description = "A smoke run of a few minutes (3 languages, nano trunk) instead of the full study (about 90 minutes on 2 cores)" };
    public static readonly Option<string?> Seeds = new("--seeds") { Description = "Comma-separated seeds (default: 1,2; --quick: 1)" };

    public static Command Create(IServiceProvider services)
    {
        var command = new Command("study", "Reproduce the paper's findings at small scale: the curse of multilinguality, languages added later, zero-shot transfer")
        {
            Name, Dir, Quick, Seeds,
        };
        command.Action = CliAction.For<StudyCommand>(services,
            (c, p, cancel) => c.Run(p.GetValue(Name)!, p.GetValue(Dir)!, p.GetValue(Quick), p.GetValue(Seeds), cancel),
            CliAction.SavingStopGrace);
        return command;
    }
}
