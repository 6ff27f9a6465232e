using XMod.Runtime.Model;
using XModHub.Client;

namespace XModHub.Cli.Commands.ImportHf;

public sealed class ImportHfCommand(IReporter reporter)
{
    public int Run(string source, string outDir)
    {
        var (config, hasTokenizer) = HuggingFaceFormat.Import(source, outDir);
        reporter.Success($"imported {config.NumLayers} x {config.HiddenSize} with {config.ModuleKeys.Count} language modules into {outDir}{(hasTokenizer ? "" : " (no tokenizer: encode with --ids)")}");
        return 0;
    }
}
