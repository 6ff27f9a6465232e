using NuGet.Versioning;
using XMod.Packaging.Caching;
using XMod.Packaging.Manifests;

namespace XMod.Runtime.Model;

/// <summary>Where a model reference led: a directory, and the installed package it is, when it is one.</summary>
public sealed record LocatedModel(string Directory, InstalledPackage? Package)
{
    /// <summary>The installed package id (what artefacts derived from it name as their trunk), or null for a directory.</summary>
    public string? PackageId => Package?.Id;
}

/// <summary>
/// Turns what a user gives for a model, trunk, language module or task into a directory: an
/// installed package id (<c>xmod-base</c>, <c>lang-de</c>, <c>xmod-base.lang-de@1.0.0</c>), a model
/// or package directory, or a training run (its newest checkpoint). Every option that names one
/// goes through here, so the CLI and the runtime API accept the same things.
/// </summary>
public static class ModelLocator
{
    public static LocatedModel Locate(string reference, string home, string what = "model")
    {
        var text = reference.Trim();
        if (text.Length == 0)
        {
            throw new XModException($"no {what} given: name an installed package id, a model directory or a training run");
        }
        if (Directory.Exists(text))
        {
            if (File.Exists(Path.Combine(text, PackageManifest.FileName)) && !File.Exists(Path.Combine(text, ModelStore.ConfigFile)))
            {
                return new LocatedModel(text, null); // a language or task package directory
            }
            return new LocatedModel(ModelDirectory.Resolve(text), null);
        }
        var at = text.LastIndexOf('@');
        var id = at < 0 ? text : text[..at];
        var version = at < 0 ? null : text[(at + 1)..];
        if (version is not null && !NuGetVersion.TryParse(version, out _))
        {
            throw new XModException($"'{version}' in '{text}' is not a version (e.g. 1.0.0)");
        }
        var cache = new LocalCache(home);
        var installed = cache.Installed();
        var exact = installed.Where(p => string.Equals(p.Id, id, StringComparison.OrdinalIgnoreCase)).ToList();
        // lang-de / task-x: unqualified ids match the package of whichever trunk is installed.
        var candidates = exact.Count > 0
            ? exact
            : installed.Where(p => p.Id.EndsWith("." + id, StringComparison.OrdinalIgnoreCase)).ToList();
        if (version is not null)
        {
            candidates = candidates.Where(p => NuGetVersion.Parse(p.Version) == NuGetVersion.Parse(version)).ToList();
        }
        var ids = candidates.Select(p => p.Id).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        if (ids.Count > 1)
        {
            throw new XModException($"'{text}' is installed for several trunks ({string.Join(", ", ids.Order(StringComparer.Ordinal))}): name one of them");
        }
        var pick = candidates.MaxBy(p => NuGetVersion.Parse(p.Version));
        if (pick is null)
        {
            var hint = exact.Count > 0 || installed.Any(p => p.Id.EndsWith("." + id, StringComparison.OrdinalIgnoreCase))
                ? $"{id} is installed, but not version {version}"
                : $"'{text}' is neither a directory nor an installed package; install it with 'xmod-hub install {text}'";
            throw new XModException($"{what} not found: {hint}");
        }
        var dir = cache.SnapshotDir(pick.Id, pick.Version);
        if (!Directory.Exists(dir))
        {
            throw new XModException($"{pick.Id} {pick.Version} is listed as installed but {dir} is missing: run 'xmod-hub cache verify'");
        }
        return new LocatedModel(dir, pick);
    }
}
