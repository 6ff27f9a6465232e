using XMod;
using XMod.Packaging.Manifests;
using XMod.Runtime.Model;
using XModHub.Cli.Workflows;
using XModHub.Client;

namespace XModHub.Cli.Commands.Publish;

public sealed class PublishCommand(PackageManagers packages, IReporter reporter, CliPaths paths)
{
    public async Task<int> RunAsync(string? target, string? model, string? trunkId, string version, string? source, CancellationToken cancel, string? dtype = null)
    {
        var manager = packages.Create();
        if (model is not null)
        {
            var id = trunkId ?? throw new XModException("--model needs --trunk-id (the trunk's package id)");
            await manager.PublishModelAsync(ModelDirectory.Resolve(model), id, version, source, cancel,
                dtype is null ? null : XMod.Packaging.SafeTensors.WeightPrecision.Parse(dtype));
            return 0;
        }
        if (dtype is not null)
        {
            throw new XModException("--dtype applies to --model (a package directory is published as it is)");
        }
        var t = target ?? throw new XModException("give a package (lang-yo or a directory), or --model");
        var dir = Directory.Exists(t) ? t : Path.Combine("modules", t);
        if (Recipe.TryLoad(dir) is { } recipe)
        {
            await recipe.PublishAsync(dir, manager, reporter, paths.SourceCache, source, cancel);
            return 0;
        }
        if (!File.Exists(Path.Combine(dir, PackageManifest.FileName)))
        {
            throw new XModException($"{dir} is neither a package directory ({PackageManifest.FileName}) nor a recipe (recipe.json); build one with 'xmod-hub add-language {t} ...'");
        }
        await manager.PublishDirectoryAsync(dir, source, null, cancel);
        return 0;
    }
}
