using NuGet.Versioning;
using XMod.Packaging.Caching;
using XMod.Packaging.Languages;
using XMod.Packaging.Manifests;
using XMod.Packaging.Nupkg;
using XMod.Runtime.Tasks;

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
/// goes through here, so the CLI and the runtime API accept the same things, and a reference that
/// leads nowhere is one error saying what was tried.
/// </summary>
public static class ModelLocator
{
    /// <summary>
    /// A directory (a model, a training run, a package) or an installed package.
    /// <paramref name="kind"/> keeps only installed packages of that kind (a task may then be named
    /// without its task- prefix); <paramref name="trunkSha256"/> only those built for that trunk.
    /// </summary>
    public static LocatedModel Locate(string reference, string home, string what = "model", PackageKind? kind = null, string? trunkSha256 = null)
    {
        var text = reference.Trim();
        var shown = Shown(text);
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
        var (id, version) = SplitVersion(text, what);
        if (!PackageIds.IsValid(id))
        {
            // ../x, a/b, a file: nothing an id can be, so it was meant as a path.
            throw new XModException($"{what} '{shown}' not found: it is not a directory, and not a package id an install could have put in the cache");
        }
        var cache = new LocalCache(home);
        var installed = cache.Installed()
            .Where(p => kind is null || p.Kind == kind)
            .Where(p => trunkSha256 is null || string.Equals(p.TrunkSha256, trunkSha256, StringComparison.OrdinalIgnoreCase))
            .ToList();
        string[] names = kind == PackageKind.Task && !id.StartsWith("task-", StringComparison.OrdinalIgnoreCase) ? [id, "task-" + id] : new[] { id };
        // An exact id wins; lang-de / task-x otherwise match the package of whichever trunk is installed.
        var exact = installed.Where(p => names.Any(n => string.Equals(p.Id, n, StringComparison.OrdinalIgnoreCase))).ToList();
        var candidates = exact.Count > 0 ? exact : installed.Where(p => names.Any(n => p.Id.EndsWith("." + n, StringComparison.OrdinalIgnoreCase))).ToList();
        var anyVersion = candidates;
        if (version is not null)
        {
            candidates = candidates.Where(p => NuGetVersion.Parse(p.Version) == version).ToList();
        }
        var ids = candidates.Select(p => p.Id).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        if (ids.Count > 1)
        {
            throw new XModException($"'{shown}' is installed for several trunks ({string.Join(", ", ids.Order(StringComparer.Ordinal))}): name one of them");
        }
        var pick = candidates.MaxBy(p => NuGetVersion.Parse(p.Version));
        if (pick is null)
        {
            var found = anyVersion.Count > 0
                ? $"{anyVersion[0].Id} is installed, but not version {version} (installed: {string.Join(", ", anyVersion.Select(p => p.Version))})"
                : $"it is not a directory, a model directory or a training run, and no installed {(kind is null ? "package" : KindName(kind.Value) + " package")} " +
                  $"is {id}{(installed.Count == 0 ? $" (nothing suitable is installed in {cache.Root})" : $" (installed: {string.Join(", ", installed.Select(p => p.Id).Distinct().Order(StringComparer.Ordinal))})")}; " +
                  $"install it with 'xmod-hub install {text}'";
            throw new XModException($"{what} '{shown}' not found: {found}");
        }
        return new LocatedModel(Snapshot(cache, pick), pick);
    }

    /// <summary>
    /// The directory of a language module for the trunk with <paramref name="trunkSha256"/>: a
    /// package directory, or the installed language package of that trunk named by id
    /// (lang-de, xmod-base.lang-de@1.0.0) or by any form of its language (de, deu, de_DE).
    /// </summary>
    public static string LocateLanguage(string reference, string home, string trunkSha256, string trunkName)
    {
        var text = reference.Trim();
        // A bare word (de, fr) is a language even where the working directory has a folder of that
        // name (corpora, satellite assemblies); a package directory has its manifest or a path.
        if (Directory.Exists(text) && (File.Exists(Path.Combine(text, PackageManifest.FileName)) || text.Contains('/') || text.Contains(Path.DirectorySeparatorChar)))
        {
            return text; // loading checks its manifest and that it was built for this trunk
        }
        return FindLanguage(text, home, trunkSha256) ?? throw NoLanguage(text, home, trunkSha256, trunkName, null);
    }

    /// <summary>The language packages installed for the trunk with <paramref name="trunkSha256"/>, newest version of each.</summary>
    public static IReadOnlyList<InstalledPackage> InstalledLanguages(string home, string trunkSha256) =>
        new LocalCache(home).Installed()
            .Where(p => p.Kind == PackageKind.Language && string.Equals(p.TrunkSha256, trunkSha256, StringComparison.OrdinalIgnoreCase))
            .GroupBy(p => p.Id, StringComparer.OrdinalIgnoreCase)
            .Select(g => g.MaxBy(p => NuGetVersion.Parse(p.Version))!)
            .OrderBy(p => p.Id, StringComparer.Ordinal)
            .ToList();

    /// <summary>The id of an installed trunk with these weights, or null: what a run's artefacts can name when it was published and installed.</summary>
    public static string? InstalledTrunkId(string home, string trunkSha256) =>
        new LocalCache(home).Installed()
            .Where(p => p.Kind == PackageKind.Trunk && string.Equals(p.TrunkSha256, trunkSha256, StringComparison.OrdinalIgnoreCase))
            .Select(p => p.Id).Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.Ordinal).FirstOrDefault();

    /// <summary>
    /// Opens a model by reference (see <see cref="Locate"/>) with <paramref name="languages"/>
    /// available: those it lacks (an installed trunk has none of its own) come from the language
    /// packages installed for its trunk.
    /// </summary>
    public static LoadedModel Open(string reference, string home, IEnumerable<string> languages, ModelLoadOptions? options = null)
    {
        var located = Locate(reference, home);
        if (!File.Exists(Path.Combine(located.Directory, ModelStore.ConfigFile)))
        {
            throw new XModException($"{reference} is a {PackageManifest.Load(located.Directory).Kind.ToString().ToLowerInvariant()} package, not a model: " +
                "give its trunk (or a model) and name the language with --lang");
        }
        var loaded = LoadedModel.Open(located.Directory, options: options);
        try
        {
            EnsureLanguages(loaded, languages, home, located.PackageId ?? reference);
            return loaded;
        }
        catch
        {
            loaded.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Makes each of <paramref name="languages"/> (any form) available in <paramref name="loaded"/>,
    /// loading installed language packages of its trunk for those it lacks; returns their codes.
    /// </summary>
    public static IReadOnlyList<string> EnsureLanguages(LoadedModel loaded, IEnumerable<string> languages, string home, string modelName)
    {
        var codes = new List<string>();
        foreach (var typed in languages)
        {
            if (loaded.Model.TryResolveLanguage(typed) is { } code)
            {
                codes.Add(code);
                continue;
            }
            var dir = FindLanguage(typed.Trim(), home, loaded.TrunkSha256)
                ?? throw NoLanguage(typed.Trim(), home, loaded.TrunkSha256, modelName, loaded.Model.Languages);
            codes.Add(loaded.AddLanguage(dir));
        }
        return codes;
    }

    /// <summary>
    /// Opens a task model by reference (a directory, or an installed task package: task-x or x) on
    /// its trunk: <paramref name="trunk"/> when given, else the installed trunk it was fine-tuned
    /// on; <paramref name="modules"/> are language modules to add (directories or installed ids).
    /// </summary>
    public static TaskModel OpenTask(string task, string? trunk, IEnumerable<string> modules, string home, string? trunkSha256 = null)
    {
        var located = Locate(task, home, "task model", PackageKind.Task, trunkSha256);
        var manifest = PackageManifest.Load(located.Directory);
        if (manifest.Kind != PackageKind.Task || manifest.Trunk is null)
        {
            throw new XModException($"{task} is a {manifest.Kind.ToString().ToLowerInvariant()} package, not a task model");
        }
        var trunkDir = trunk is not null
            ? Locate(trunk, home, "trunk").Directory
            : InstalledTrunk(home, manifest.Trunk.Sha256) ?? throw new XModException(
                $"{task} was fine-tuned on trunk {manifest.Trunk.Id} (weights sha256 {Short(manifest.Trunk.Sha256)}), which is not installed: " +
                $"install it with 'xmod-hub install {manifest.Trunk.Id}', or name its model directory or run with --trunk");
        // Modules for the task's trunk: opening checks that the trunk given is that trunk.
        var moduleDirs = modules.Select(m => LocateLanguage(m, home, manifest.Trunk.Sha256, trunk ?? manifest.Trunk.Id)).ToList();
        return TaskModel.Open(located.Directory, trunkDir, moduleDirs);
    }

    private static string? InstalledTrunk(string home, string trunkSha256)
    {
        var cache = new LocalCache(home);
        var pick = cache.Installed().Where(p => p.Kind == PackageKind.Trunk && string.Equals(p.TrunkSha256, trunkSha256, StringComparison.OrdinalIgnoreCase))
            .MaxBy(p => NuGetVersion.Parse(p.Version));
        return pick is null ? null : Snapshot(cache, pick);
    }

    private static string? FindLanguage(string text, string home, string trunkSha256)
    {
        var (id, version) = SplitVersion(text, "language");
        var installed = InstalledLanguages(home, trunkSha256);
        if (version is not null)
        {
            installed = new LocalCache(home).Installed()
                .Where(p => p.Kind == PackageKind.Language && string.Equals(p.TrunkSha256, trunkSha256, StringComparison.OrdinalIgnoreCase) && NuGetVersion.Parse(p.Version) == version)
                .ToList();
        }
        var byId = installed.Where(p => string.Equals(p.Id, id, StringComparison.OrdinalIgnoreCase) || p.Id.EndsWith("." + id, StringComparison.OrdinalIgnoreCase)).ToList();
        if (byId.Count == 0)
        {
            // de, deu, de_DE, German: the language the package carries.
            var codes = installed.Select(p => p.Language ?? LanguageOfId(p.Id)).Distinct(StringComparer.Ordinal).ToList();
            if (LanguageResolver.TryResolve(id, codes) is { } code)
            {
                byId = installed.Where(p => (p.Language ?? LanguageOfId(p.Id)) == code).ToList();
            }
        }
        var pick = byId.MaxBy(p => NuGetVersion.Parse(p.Version));
        return pick is null ? null : Snapshot(new LocalCache(home), pick);
    }

    private static XModException NoLanguage(string text, string home, string trunkSha256, string trunkName, IReadOnlyList<string>? modelLanguages)
    {
        var installed = InstalledLanguages(home, trunkSha256).Select(p => p.Language ?? LanguageOfId(p.Id)).ToList();
        var trunkId = InstalledTrunkId(home, trunkSha256);
        var suggestion = LanguageCatalog.Find(text) is { } known ? LanguageCatalog.PackageIdOf(known.Bcp47) : "lang-" + LanguageOfId(text.Split('@')[0]);
        var has = modelLanguages is null ? "" : modelLanguages.Count == 0 ? "it has no languages of its own; " : $"it has {string.Join(", ", modelLanguages)}; ";
        var packages = installed.Count == 0 ? "no language package of its trunk is installed" : $"the installed language packages of its trunk are {string.Join(", ", installed)}";
        var directory = modelLanguages is null ? ", and it is not a module directory" : "";
        var install = PackageIds.IsValid(suggestion) && trunkId is not null ? $"; install it with 'xmod-hub install {suggestion} --trunk {trunkId}'" : "";
        return new XModException($"no language '{Shown(text)}' for {trunkName}: {has}{packages}{directory}{install}");
    }

    /// <summary>xmod-base.lang-de -> de; anything else as it is.</summary>
    private static string LanguageOfId(string id)
    {
        var at = id.LastIndexOf("lang-", StringComparison.OrdinalIgnoreCase);
        return at < 0 ? id : id[(at + 5)..];
    }

    private static (string Id, NuGetVersion? Version) SplitVersion(string text, string what)
    {
        var at = text.LastIndexOf('@');
        if (at < 0)
        {
            return (text, null);
        }
        var version = text[(at + 1)..];
        return NuGetVersion.TryParse(version, out var v) ? (text[..at], v)
            : throw new XModException($"{what} '{Shown(text)}': '{Shown(version)}' is not a version (e.g. {Shown(text[..at])}@1.0.0)");
    }

    private static string Snapshot(LocalCache cache, InstalledPackage pick)
    {
        var dir = cache.SnapshotDir(pick.Id, pick.Version);
        return Directory.Exists(dir) ? dir
            : throw new XModException($"{pick.Id} {pick.Version} is listed as installed but {dir} is missing: run 'xmod-hub cache verify'");
    }

    /// <summary>A reference for a message: control characters shown as '?' so the error stays one line.</summary>
    private static string Shown(string text) => new(text.Select(c => char.IsControl(c) ? '?' : c).ToArray());

    private static string KindName(PackageKind kind) => kind switch
    {
        PackageKind.Trunk => "trunk",
        PackageKind.Language => "language",
        _ => "task",
    };

    private static string Short(string? sha) => sha is { Length: > 12 } ? sha[..12] + "…" : sha ?? "unknown";
}
