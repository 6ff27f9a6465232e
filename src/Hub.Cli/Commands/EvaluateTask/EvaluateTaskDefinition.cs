using System.CommandLine;

namespace XModHub.Cli.Commands.EvaluateTask;

/// <summary>`xmod-hub evaluate-task --model TASK --trunk T --lang L --data FILE`.</summary>
public static class EvaluateTaskDefinition
{
    public static readonly Option<string> Model = new("--model") { Description = "Task model: a directory or an installed task package (task-x)", Required = true };
    public static readonly Option<string?> Trunk = new("--trunk") { Description = "The trunk: an installed id, a model directory or a pre-training run (default: the installed trunk the task was fine-tuned on)" };
    public static readonly Option<string> Lang = new("--lang") { Description = "Language of the data", Required = true };
    public static readonly Option<string[]> Modules = new("--module") { Description = "Language modules to load (languages added after pre-training): directories or installed ids; installed languages of the trunk are found without it", AllowMultipleArgumentsPerToken = true };
    public static readonly Option<string> Data = new("--data") { Description = "Labelled data as finetune takes it: 'label TAB text', 'tags TAB words', or QA JSON lines", Required = true };

    public static Command Create(IServiceProvider services)
    {
        var command = new Command("evaluate-task", "Score a task model on labelled data in any language: accuracy and per-label precision, recall and F1") { Model, Trunk, Lang, Modules, Data };
        command.Action = CliAction.For<EvaluateTaskCommand>(services, (c, p, _) =>
            c.Run(p.GetValue(Model)!, p.GetValue(Trunk), p.GetValue(Modules) ?? [], p.GetValue(Lang)!, p.GetValue(Data)!));
        return command;
    }
}
