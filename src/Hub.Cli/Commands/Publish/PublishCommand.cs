using XMod;
using XMod.Packaging.Manifests;
using XMod.Runtime.Model;
using XModHub.Cli.Workflows;
using XModHub.Client;

namespace XModHub.Cli.Commands.Publish;

public sealed class PublishCommand(PackageManagers packages, IReporter reporter, CliPaths paths)
{
    /// <param name="license">An SPDX expression written into the package's manifest and card before it is packed.</param>
    public async Task<int> RunAsync(string? target, string? model, string? trunkId, string version, string? source, CancellationToken cancel, string? license = null)
    {
        if (license is not null)
        {
            license = Licenses.Check(license); // before anything is packed or trained
        }
        var manager = packages.Create();
        if (model is not null)
        {
            var id = trunkId ?? throw new XModException("--model needs --trunk-id (the trunk's package id)");
            await manager.PublishModelAsync(ModelDirectory.Resolve(model), id, version, source, cancel, license);
            return 0;
        }
        var t = target ?? throw new XModException("give a package (lang-yo or a directory), or --model");
        var dir = Directory.Exists(t) ? t : Path.Combine("modules", t);
        if (Recipe.TryLoad(dir) is { } recipe)
        {
            if (license is not null)
            {
                throw new XModException($"--license applies to a package directory or --model; {dir} is built from its recipe.json: publish it without --license, "
                    + $"or set the license on the built package directory with 'xmod-hub pack DIR --license {license}' and publish that directory");
            }
            await recipe.PublishAsync(dir, manager, reporter, paths.SourceCache, source, cancel);
            return 0;
        }
        if (!File.Exists(Path.Combine(dir, PackageManifest.FileName)))
        {
            throw new XModException($"{dir} is neither a package directory ({PackageManifest.FileName}) nor a recipe (recipe.json); build one with 'xmod-hub add-language {t} ...'");
        }
        await manager.PublishDirectoryAsync(dir, source, null, cancel, license);
        return 0;
    }
}
