using System.CommandLine;

namespace XModHub.Cli.Commands.ExportHf;

/// <summary>`xmod-hub export-hf --model M --out DIR`.</summary>
public static class ExportHfDefinition
{
    public static readonly Option<string> Model = new("--model") { Description = "A model: an installed id, a model directory or a training run", Required = true };
    public static readonly Option<string> Out = new("--out") { Description = "Output directory", Required = true };

    public static Command Create(IServiceProvider services)
    {
        var command = new Command("export-hf", "Export a model as a Hugging Face X-MOD folder that transformers loads (XmodForMaskedLM, XLMRobertaTokenizer)") { Model, Out };
        command.Action = CliAction.For<ExportHfCommand>(services, (c, p, _) => c.Run(p.GetValue(Model)!, p.GetValue(Out)!));
        return command;
    }
}
