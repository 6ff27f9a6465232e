using XModHub.Cli.Workflows;
using XMod.Training.Corpora;
using XMod.Runtime.Tasks;
using XModHub.Client.Packages;
using XModHub.Client;
using System.CommandLine;
using XMod.Runtime.Model;
using XModHub.Cli;

namespace XModHub.Cli.Commands.HuggingFace;

/// <summary>`xmod-hub import-hf DIR --out OUT` and `xmod-hub export-hf --model M --out DIR`.</summary>
public static class HuggingFaceDefinition
{
    public static readonly Argument<string> Source = new("dir") { Description = "A Hugging Face X-MOD folder (config.json; model.safetensors or pytorch_model.bin, sharded or not; sentencepiece.bpe.model or tokenizer.json) or fairseq's release (model.pt, dict.txt, sentencepiece.bpe.model)" };
    public static readonly Option<string> Out = new("--out") { Description = "Output directory", Required = true };
    public static readonly Option<string> Model = new("--model") { Description = "Model directory or training run", Required = true };

    public static Command CreateImport(IReporter reporter)
    {
        var command = new Command("import-hf", "Import a Hugging Face X-MOD checkpoint (e.g. facebook/xmod-base) as a trunk plus one module per language");
        command.Arguments.Add(Source);
        command.Options.Add(Out);
        command.SetAction(p =>
        {
            var (config, hasTokenizer) = HuggingFaceFormat.Import(p.GetValue(Source)!, p.GetValue(Out)!);
            reporter.Success($"imported {config.NumLayers} x {config.HiddenSize} with {config.ModuleKeys.Count} language modules into {p.GetValue(Out)}{(hasTokenizer ? "" : " (no tokenizer: encode with --ids)")}");
            return 0;
        });
        return command;
    }

    public static Command CreateExport(IReporter reporter)
    {
        var command = new Command("export-hf", "Export a model as a Hugging Face X-MOD folder that transformers loads (XmodForMaskedLM, XLMRobertaTokenizer)");
        command.Options.Add(Model);
        command.Options.Add(Out);
        command.SetAction(p =>
        {
            using var loaded = LoadedModel.Open(p.GetValue(Model)!);
            HuggingFaceFormat.Export(loaded.Model, loaded.Tokenizer, p.GetValue(Out)!);
            reporter.Success($"exported {loaded.Directory} to {p.GetValue(Out)}");
            return 0;
        });
        return command;
    }
}
