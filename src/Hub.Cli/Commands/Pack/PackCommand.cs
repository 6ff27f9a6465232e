using XMod;
using XMod.Packaging.Manifests;
using XModHub.Client;

namespace XModHub.Cli.Commands.Pack;

public sealed class PackCommand(PackageManagers packages, IReporter reporter)
{
    /// <summary>
    /// The step between editing a model card and publishing it: README.md may change, every other
    /// file must still match its sha256; the manifest is rewritten to list the new card.
    /// </summary>
    public int Run(string target, string? license, string outDir)
    {
        if (license is not null)
        {
            license = Licenses.Check(license);
        }
        var dir = Directory.Exists(target) ? target : Path.Combine("modules", target);
        if (!File.Exists(Path.Combine(dir, PackageManifest.FileName)))
        {
            throw new XModException($"{dir} is not a package directory (it has no {PackageManifest.FileName}); build one with add-language, finetune or pretrain");
        }
        if (File.Exists(outDir))
        {
            throw new XModException($"--out {outDir} is a file; give the directory the .nupkg goes to");
        }
        var nupkg = packages.Create().Pack(dir, outDir, license: license);
        reporter.Success($"packed {nupkg} ({new FileInfo(nupkg).Length / 1e6:F2} MB), checked as the hub will check it");
        reporter.Info($"next: xmod-hub publish {dir}");
        return 0;
    }
}
