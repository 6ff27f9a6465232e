using XMod;
using XMod.Packaging.Manifests;
using XMod.Runtime.Model;
using XMod.Training.Checks;
using XModHub.Cli.Workflows;
using XModHub.Client;

namespace XModHub.Cli.Commands.Publish;

public sealed class PublishCommand(PackageManagers packages, IReporter reporter, CliPaths paths)
{
    /// <param name="license">An SPDX expression written into the package's manifest and card before it is packed.</param>
    public async Task<int> RunAsync(string? target, string? model, string? trunkId, string version, string? source, CancellationToken cancel, string? license = null, string? dtype = null)
    {
        if (license is not null)
        {
            license = Licenses.Check(license); // before anything is packed or trained
        }
        var manager = packages.Create();
        if (model is not null)
        {
            var id = trunkId ?? throw new XModException("--model needs --trunk-id (the trunk's package id)");
            InputChecks.PackageId(id, "the trunk (--trunk-id)");
            await manager.PublishModelAsync(ModelLocator.Locate(model, paths.Home).Directory, id, version, source, cancel, license,
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
            if (license is not null)
            {
                throw new XModException($"--license applies to a package directory or --model; {dir} is built from its recipe.json: publish it without --license, "
                    + $"or set the license on the built package directory with 'xmod-hub pack DIR --license {license}' and publish that directory");
            }
            if (trunkId is not null)
            {
                throw new XModException($"--trunk-id does not apply to a recipe: {dir}/recipe.json names its trunk");
            }
            await recipe.PublishAsync(dir, manager, reporter, paths.SourceCache, source, cancel);
            return 0;
        }
        if (!File.Exists(Path.Combine(dir, PackageManifest.FileName)))
        {
            throw new XModException($"{dir} is neither a package directory ({PackageManifest.FileName}) nor a recipe (recipe.json); build one with 'xmod-hub add-language {t} ...'");
        }
        if (trunkId is null)
        {
            await manager.PublishDirectoryAsync(dir, source, null, cancel, license);
            return 0;
        }
        var staged = WithTrunkId(dir, trunkId);
        try
        {
            await manager.PublishDirectoryAsync(staged, source, null, cancel, license);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(staged)!, recursive: true);
        }
        return 0;
    }

    /// <summary>
    /// A copy of a language or task package naming its trunk <paramref name="trunkId"/> (the weights'
    /// sha256 stays: the hub still checks the trunk under that id is the one it was built on).
    /// The directory given is left as it is.
    /// </summary>
    private string WithTrunkId(string dir, string trunkId)
    {
        var manifest = PackageManifest.Load(dir);
        if (manifest.Trunk is null)
        {
            throw new XModException($"--trunk-id is for language and task packages; {dir} is a {manifest.Kind.ToString().ToLowerInvariant()} package, whose id is its own");
        }
        InputChecks.PackageId(trunkId, "--trunk-id");
        InputChecks.PackageId($"{trunkId}.{manifest.Id}", $"{manifest.Id} on {trunkId}");
        manifest.Verify(dir); // what is copied is what was checked
        var staged = Path.Combine(Directory.CreateTempSubdirectory("xmod-publish-").FullName, Path.GetFileName(Path.GetFullPath(dir).TrimEnd('/')));
        foreach (var file in manifest.Files)
        {
            var target = Path.Combine(staged, file.Path);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(Path.Combine(dir, file.Path), target);
        }
        var old = manifest.Trunk.Id;
        (manifest with
        {
            Trunk = manifest.Trunk with { Id = trunkId },
            Description = manifest.Description.Replace(old, trunkId, StringComparison.Ordinal),
        }).Save(staged);
        if (old != trunkId)
        {
            reporter.Info($"publishing {manifest.Id} for trunk {trunkId} (its manifest named {old})");
        }
        return staged;
    }
}
