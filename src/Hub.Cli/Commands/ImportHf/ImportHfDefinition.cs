using System.CommandLine;

namespace XModHub.Cli.Commands.ImportHf;

/// <summary>`xmod-hub import-hf DIR --out OUT`.</summary>
public static class ImportHfDefinition
{
    public static readonly Argument<string> Source = new("dir") { Description = "A Hugging Face X-MOD folder (config.json; model.safetensors or pytorch_model.bin, sharded or not; sentencepiece.bpe.model or tokenizer.json) or fairseq's release (model.pt, dict.txt, sentencepiece.bpe.model)" };
    public static readonly Option<string> Out = new("--out") { Description = "Output directory", Required = true };

    public static Command Create(IServiceProvider services)
    {
        var command = new Command("import-hf", "Import a Hugging Face X-MOD checkpoint (e.g. facebook/xmod-base) as a trunk plus one module per language") { Source, Out };
        command.Action = CliAction.For<ImportHfCommand>(services, (c, p, _) => c.Run(p.GetValue(Source)!, p.GetValue(Out)!));
        return command;
    }
}
