using XModHub.Cli.Workflows;
using XMod.Training.Corpora;
using XMod.Runtime.Model;
using XMod.Runtime.Tasks;
using XModHub.Client;
using System.CommandLine;
using XMod;
using XMod.Packaging;
using XMod.Packaging.Checkpoints;
using XMod.Packaging.Manifests;
using XMod.Runtime.Scoring;
using XMod.Training.Pretraining;
using XMod.Training.AddLanguage;
using XMod.Training.FineTuning;
using XMod.Training.Loop;
using XModHub.Client.Cache;
using XModHub.Cli;
using XModHub.Client.Feeds;
using XModHub.Client.Packages;

namespace XModHub.Cli.Commands.Packages;

/// <summary>install, publish, search, info, list, uninstall, cache verify / prune, source add / list / remove.</summary>
public static class PackagesDefinition
{
    public static readonly Argument<string> Spec = new("package") { Description = "lang-de, lang-de@1.0.0, or a trunk id" };
    public static readonly Option<string?> Trunk = new("--trunk") { Description = "The trunk a lang-/task- id belongs to (default: the one installed)" };
    public static readonly Option<string?> Source = new("--source") { Description = "Source name (default: the first configured)" };

    private static PackageManager Manager(IReporter reporter) =>
        new(ClientConfig.Load(XModPaths.Home), new PackageCache(XModPaths.Home), new HttpClient { Timeout = TimeSpan.FromMinutes(30) }, reporter);

    public static IEnumerable<Command> Create(IReporter reporter)
    {
        var install = new Command("install", "Install a trunk or a language/task package into the local cache (verified, atomic)");
        install.Arguments.Add(Spec);
        install.Options.Add(Trunk);
        install.SetAction(async (p, c) =>
        {
            var installed = await Manager(reporter).InstallAsync(p.GetValue(Spec)!, p.GetValue(Trunk), c);
            reporter.Info($"  in {new PackageCache(XModPaths.Home).SnapshotDir(installed.Id, installed.Version)}");
            return 0;
        });

        var target = new Argument<string?>("target") { Description = "lang-xx (modules/lang-xx) or a package directory", Arity = ArgumentArity.ZeroOrOne };
        var model = new Option<string?>("--model") { Description = "Publish a model (or training run) as a trunk plus one package per pre-trained language" };
        var trunkId = new Option<string?>("--trunk-id") { Description = "With --model: the trunk's package id" };
        var version = new Option<string>("--version") { Description = "With --model: the version to publish", DefaultValueFactory = _ => "1.0.0" };
        var publish = new Command("publish", "Check a package exactly as the hub will, pack it and push it");
        publish.Arguments.Add(target);
        foreach (var o in new Option[] { Source, model, trunkId, version })
        {
            publish.Options.Add(o);
        }
        publish.SetAction(async (p, c) =>
        {
            var manager = Manager(reporter);
            if (p.GetValue(model) is { } modelPath)
            {
                var id = p.GetValue(trunkId) ?? throw new XModException("--model needs --trunk-id (the trunk's package id)");
                await manager.PublishModelAsync(ModelDirectory.Resolve(modelPath), id, p.GetValue(version)!, p.GetValue(Source), c);
                return 0;
            }
            var t = p.GetValue(target) ?? throw new XModException("give a package (lang-yo or a directory), or --model");
            var dir = Directory.Exists(t) ? t : Path.Combine("modules", t);
            if (Recipe.TryLoad(dir) is { } recipe)
            {
                await recipe.PublishAsync(dir, manager, reporter, p.GetValue(Source), c);
                return 0;
            }
            if (!File.Exists(Path.Combine(dir, PackageManifest.FileName)))
            {
                throw new XModException($"{dir} is neither a package directory ({PackageManifest.FileName}) nor a recipe (recipe.json); build one with 'xmod-hub add-language {t} ...'");
            }
            await manager.PublishDirectoryAsync(dir, p.GetValue(Source), null, c);
            return 0;
        });

        var query = new Argument<string>("text") { Description = "Words to search for", DefaultValueFactory = _ => "" };
        var type = new Option<string?>("--type") { Description = "XModTrunk, XModLanguage or XModTask" };
        var script = new Option<string?>("--script") { Description = "ISO 15924 script, e.g. Cyrl" };
        var family = new Option<string?>("--family") { Description = "Language family, e.g. Slavic" };
        var search = new Command("search", "Search the configured hubs");
        search.Arguments.Add(query);
        foreach (var o in new Option[] { type, script, family, Trunk })
        {
            search.Options.Add(o);
        }
        search.SetAction(async (p, c) =>
        {
            var filters = new Dictionary<string, string>();
            foreach (var (key, value) in new[] { ("script", p.GetValue(script)), ("family", p.GetValue(family)), ("trunk", p.GetValue(Trunk)) })
            {
                if (value is not null)
                {
                    filters[key] = value;
                }
            }
            var hits = await Manager(reporter).SearchAsync(p.GetValue(query)!, p.GetValue(type), 50, c, filters);
            if (hits.Count == 0)
            {
                reporter.Info("no package matches");
            }
            foreach (var h in hits)
            {
                reporter.Info($"{h.Id,-36} {h.Version,-10} {string.Join(',', h.PackageTypes),-13} {h.Downloads,6} downloads  {h.Description}");
            }
            return 0;
        });

        var info = new Command("info", "Versions of a package on the hubs, and what is installed");
        info.Arguments.Add(Spec);
        info.Options.Add(Trunk);
        info.SetAction(async (p, c) =>
        {
            var manager = Manager(reporter);
            var (id, _) = PackageManager.ParseSpec(p.GetValue(Spec)!);
            var full = PackageManager.IsModuleId(id) ? XMod.Packaging.Nupkg.PackageIds.Qualified(manager.ResolveTrunk(p.GetValue(Trunk)), id) : id;
            reporter.Info(full);
            foreach (var source in ClientConfig.Load(XModPaths.Home).RequireSources())
            {
                var versions = await new FeedClient(new HttpClient(), source).VersionsAsync(full, c);
                reporter.Info($"  {source.Name}: {(versions.Count == 0 ? "not there" : string.Join(", ", versions))}");
            }
            var installed = manager.Cache.Installed().Where(x => string.Equals(x.Id, full, StringComparison.OrdinalIgnoreCase)).ToList();
            reporter.Info($"  installed: {(installed.Count == 0 ? "no" : string.Join(", ", installed.Select(x => x.Version)))}");
            foreach (var i in installed)
            {
                var manifest = PackageManifest.Load(manager.Cache.SnapshotDir(i.Id, i.Version));
                reporter.Info($"  {i.Version}: {manifest.Description}; " + string.Join(", ", manifest.Metrics.Select(m => $"{m.Key} {m.Value:F2}")));
            }
            return 0;
        });

        var list = new Command("list", "Installed packages");
        list.SetAction(_ =>
        {
            var installed = new PackageCache(XModPaths.Home).Installed();
            if (installed.Count == 0)
            {
                reporter.Info("nothing installed");
            }
            foreach (var i in installed)
            {
                reporter.Info($"{i.Id,-36} {i.Version,-10} {i.Kind,-9} {i.Language ?? "",-7} from {i.Source}, {i.Installed:yyyy-MM-dd}");
            }
            return 0;
        });

        var uninstall = new Command("uninstall", "Remove an installed package (cache prune frees its file)");
        uninstall.Arguments.Add(Spec);
        uninstall.Options.Add(Trunk);
        uninstall.SetAction(p =>
        {
            var manager = Manager(reporter);
            var (id, v) = PackageManager.ParseSpec(p.GetValue(Spec)!);
            var full = PackageManager.IsModuleId(id) ? XMod.Packaging.Nupkg.PackageIds.Qualified(manager.ResolveTrunk(p.GetValue(Trunk)), id) : id;
            if (!manager.Cache.Uninstall(full, v?.ToNormalizedString()))
            {
                throw new XModException($"{full} is not installed");
            }
            reporter.Success($"uninstalled {full}");
            return 0;
        });

        var verify = new Command("verify", "Check every installed package against its sha256s");
        verify.SetAction(_ =>
        {
            var problems = new PackageCache(XModPaths.Home).Verify();
            foreach (var problem in problems)
            {
                reporter.Error(problem);
            }
            if (problems.Count == 0)
            {
                reporter.Success("every installed package is intact");
            }
            return problems.Count == 0 ? 0 : 1;
        });
        var prune = new Command("prune", "Delete cache files no installed package uses");
        prune.SetAction(_ =>
        {
            var (files, bytes) = new PackageCache(XModPaths.Home).Prune();
            reporter.Success($"removed {files} entries, {bytes / 1e6:F1} MB");
            return 0;
        });
        var cache = new Command("cache", "Inspect and tidy the local package cache");
        cache.Subcommands.Add(verify);
        cache.Subcommands.Add(prune);

        var name = new Argument<string>("name");
        var url = new Argument<string>("url") { Description = "The source's NuGet v3 service index, e.g. http://127.0.0.1:5000/v3/index.json" };
        var key = new Option<string?>("--api-key") { Description = "API key for pushing (stored in a file only its owner can read)" };
        var sourceAdd = new Command("add", "Add (or replace) a hub source");
        sourceAdd.Arguments.Add(name);
        sourceAdd.Arguments.Add(url);
        sourceAdd.Options.Add(key);
        sourceAdd.SetAction(p =>
        {
            var config = ClientConfig.Load(XModPaths.Home);
            var source = new FeedSource(p.GetValue(name)!, p.GetValue(url)!, p.GetValue(key));
            (config with { Sources = [.. config.Sources.Where(s => s.Name != source.Name && s.Name != "XMOD_HUB"), source] }).Save(XModPaths.Home);
            reporter.Success($"source {source.Name} -> {source.Url}{(source.ApiKey is null ? "" : " (with an API key)")}");
            return 0;
        });
        var sourceList = new Command("list", "The configured sources, in the order they are tried");
        sourceList.SetAction(_ =>
        {
            foreach (var s in ClientConfig.Load(XModPaths.Home).Sources)
            {
                reporter.Info($"{s.Name,-12} {s.Url}{(s.ApiKey is null ? "" : "   (API key set)")}");
            }
            return 0;
        });
        var sourceRemove = new Command("remove", "Remove a source");
        sourceRemove.Arguments.Add(name);
        sourceRemove.SetAction(p =>
        {
            var config = ClientConfig.Load(XModPaths.Home);
            (config with { Sources = config.Sources.Where(s => s.Name != p.GetValue(name)).ToList() }).Save(XModPaths.Home);
            return 0;
        });
        var sources = new Command("source", "Configure the hubs packages come from and go to");
        sources.Subcommands.Add(sourceAdd);
        sources.Subcommands.Add(sourceList);
        sources.Subcommands.Add(sourceRemove);
        return [install, publish, search, info, list, uninstall, cache, sources];
    }
}
