using System.CommandLine;

namespace XModHub.Cli.Commands.Predict;

/// <summary>`xmod-hub predict --model TASK --trunk T --lang L (--text X | --file F)`.</summary>
public static class PredictDefinition
{
    public static readonly Option<string> Model = new("--model") { Description = "Task model: a directory or an installed task package (task-x)", Required = true };
    public static readonly Option<string?> Trunk = new("--trunk") { Description = "The trunk: an installed id, a model directory or a pre-training run (default: the installed trunk the task was fine-tuned on)" };
    public static readonly Option<string> Lang = new("--lang") { Description = "Language of the inputs", Required = true };
    public static readonly Option<string[]> Modules = new("--module") { Description = "Language modules to load (languages added after pre-training): directories or installed ids; installed languages of the trunk are found without it", AllowMultipleArgumentsPerToken = true };
    public static readonly Option<string?> Text = new("--text") { Description = "One input (token classification: words; QA: 'question ||| context')" };
    public static readonly Option<string?> File = new("--file") { Description = "Inputs, one per line" };

    public static Command Create(IServiceProvider services)
    {
        var command = new Command("predict", "Predict with a task model in any language of its trunk (zero-shot transfer)") { Model, Trunk, Lang, Modules, Text, File };
        command.Action = CliAction.For<PredictCommand>(services, (c, p, _) =>
            c.Run(p.GetValue(Model)!, p.GetValue(Trunk), p.GetValue(Modules) ?? [], p.GetValue(Lang)!, p.GetValue(Text), p.GetValue(File)));
        return command;
    }
}
