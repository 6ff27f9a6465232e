using XMod.Runtime.Model;
using XModHub.Client;

namespace XModHub.Cli.Commands.ExportHf;

public sealed class ExportHfCommand(IReporter reporter, CliPaths paths)
{
    public int Run(string model, string outDir)
    {
        using var loaded = ModelLocator.Open(model, paths.Home, []);
        HuggingFaceFormat.Export(loaded.Model, loaded.Tokenizer, outDir);
        reporter.Success($"exported {loaded.Directory} to {outDir}");
        return 0;
    }
}
