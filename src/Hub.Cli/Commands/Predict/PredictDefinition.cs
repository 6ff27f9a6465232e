using System.CommandLine;

namespace XModHub.Cli.Commands.Predict;

/// <summary>`xmod-hub predict --model TASK --trunk T --lang L (--text X | --file F)`.</summary>
public static class PredictDefinition
{
    public static readonly Option<string> Model = new("--model") { Description = "Task model directory", Required = true };
    public static readonly Option<string> Trunk = new("--trunk") { Description = "The trunk (model directory or pre-training run)", Required = true };
    public static readonly Option<string> Lang = new("--lang") { Description = "Language of the inputs", Required = true };
    public static readonly Option<string[]> Modules = new("--module") { Description = "Language module directories to load (languages added after pre-training)", AllowMultipleArgumentsPerToken = true };
    public static readonly Option<string?> Text = new("--text") { Description = "One input (token classification: words; QA: 'question ||| context')" };
    public static readonly Option<string?> File = new("--file") { Description = "Inputs, one per line" };

    public static Command Create(IServiceProvider services)
    {
        var command = new Command("predict", "Predict with a task model in any language of its trunk (zero-shot transfer)") { Model, Trunk, Lang, Modules, Text, File };
        command.Action = CliAction.For<PredictCommand>(services, (c, p, _) =>
            c.Run(p.GetValue(Model)!, p.GetValue(Trunk)!, p.GetValue(Modules) ?? [], p.GetValue(Lang)!, p.GetValue(Text), p.GetValue(File)));
        return command;
    }
}
