using System.Diagnostics;
using NuGet.Versioning;
using XMod;
using XMod.Packaging.Caching;
using XMod.Packaging.Checkpoints;
using XMod.Packaging.Manifests;
using XMod.Packaging.Nupkg;
using XModHub.Client.Cache;
using XModHub.Client.Feeds;

namespace XModHub.Client.Packages;

/// <summary>
/// install / publish / search over the configured sources and the local cache. A user types
/// lang-de; it resolves to {trunk}.lang-de for the trunk installed (or given), which is installed
/// first when missing. XMOD_OFFLINE=1 uses the cache alone.
/// </summary>
public sealed class PackageManager(ClientConfig config, PackageCache cache, HttpClient http, IReporter reporter)
{
    public static bool Offline => Environment.GetEnvironmentVariable("XMOD_OFFLINE") is "1" or "true";

    public PackageCache Cache => cache;

    /// <summary>lang-de@1.2.0 -> (lang-de, 1.2.0).</summary>
    public static (string Id, NuGetVersion? Version) ParseSpec(string spec)
    {
        var at = spec.LastIndexOf('@');
        if (at <= 0)
        {
            return (spec, null);
        }
        return NuGetVersion.TryParse(spec[(at + 1)..], out var v) ? (spec[..at], v)
            : throw new XModException($"'{spec[(at + 1)..]}' in {spec} is not a version (SemVer, e.g. lang-de@1.0.0)");
    }

    public static bool IsModuleId(string id) => id.StartsWith("lang-", StringComparison.Ordinal) || id.StartsWith("task-", StringComparison.Ordinal);

    /// <summary>The trunk a module id is resolved against: --trunk, the configured default, or the one installed.</summary>
    public string ResolveTrunk(string? trunk)
    {
        if (trunk is not null)
        {
            return trunk;
        }
        if (config.DefaultTrunk is { } d)
        {
            return d;
        }
        var trunks = cache.Installed().Where(p => p.Kind == PackageKind.Trunk).Select(p => p.Id).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        return trunks.Count switch
        {
            1 => trunks[0],
            0 => throw new XModException("no trunk is installed: install one first (xmod-hub install TRUNK) or pass --trunk TRUNK"),
            _ => throw new XModException($"several trunks are installed ({string.Join(", ", trunks)}): pass --trunk"),
        };
    }

    public async Task<InstalledPackage> InstallAsync(string spec, string? trunk, CancellationToken cancel)
    {
        var (shortId, version) = ParseSpec(spec);
        if (!IsModuleId(shortId))
        {
            return await InstallOneAsync(shortId, version, PackageKind.Trunk, cancel);
        }
        var trunkId = ResolveTrunk(trunk);
        if (cache.Find(trunkId) is null)
        {
            reporter.Info($"{trunkId} is not installed; installing the trunk first");
            await InstallOneAsync(trunkId, null, PackageKind.Trunk, cancel);
        }
        var kind = shortId.StartsWith("lang-", StringComparison.Ordinal) ? PackageKind.Language : PackageKind.Task;
        return await InstallOneAsync(PackageIds.Qualified(trunkId, shortId), version, kind, cancel);
    }

    /// <param name="kind">What the id must be: anyone may publish inside a trunk's namespace on some feed, so the kind is checked, not assumed.</param>
    private async Task<InstalledPackage> InstallOneAsync(string id, NuGetVersion? version, PackageKind kind, CancellationToken cancel)
    {
        if (Offline)
        {
            return cache.Find(id, version?.ToNormalizedString())
                ?? throw new XModException($"offline (XMOD_OFFLINE=1): {id}{(version is null ? "" : "@" + version)} is not in the cache at {cache.Root}; connect to a hub or unset XMOD_OFFLINE");
        }
        var failed = new List<string>();
        foreach (var source in config.RequireSources())
        {
            var feed = new FeedClient(http, source);
            IReadOnlyList<NuGetVersion> versions;
            IReadOnlySet<NuGetVersion> unlisted;
            try
            {
                versions = await feed.VersionsAsync(id, cancel);
                // The flat container lists unlisted versions too (as NuGet's does): they install only when pinned.
                unlisted = versions.Count == 0 ? new HashSet<NuGetVersion>() : await feed.UnlistedVersionsAsync(id, cancel);
            }
            catch (XModException e) when (!cancel.IsCancellationRequested)
            {
                // A dead source does not stop the next one from being asked.
                reporter.Warn($"source {source.Name} failed ({e.Message}); trying the next");
                failed.Add(source.Name);
                continue;
            }
            // Newest first (releases before pre-releases); without a pinned version, the newest listed
            // one that fits the installed trunk wins.
            var candidates = version is null
                ? versions.Where(v => !unlisted.Contains(v)).Where(v => !v.IsPrerelease).Reverse().Concat(versions.Where(v => !unlisted.Contains(v) && v.IsPrerelease).Reverse()).ToList()
                : versions.Where(v => v == version).ToList();
            TrunkMismatchException? mismatch = null;
            foreach (var pick in candidates)
            {
                if (cache.Find(id, pick.ToNormalizedString()) is { } cached && Directory.Exists(cache.SnapshotDir(cached.Id, cached.Version)))
                {
                    reporter.Info($"{id} {pick} is already installed");
                    return cached;
                }
                if (unlisted.Contains(pick))
                {
                    reporter.Warn($"{id} {pick} is unlisted on {source.Name} (its owners withdrew it); installing it only because it was asked for by version");
                }
                var progress = new DownloadProgress(reporter, $"{id} {pick}");
                try
                {
                    var installed = await cache.InstallAsync(id, pick, (offset, etag, c) => feed.DownloadAsync(id, pick, offset, etag, c), source.Name, progress.Report, cancel, kind);
                    progress.Done();
                    reporter.Success($"installed {installed.Id} {installed.Version} from {source.Name} (sha256 {installed.Sha256[..12]}…, verified)");
                    return installed;
                }
                catch (TrunkMismatchException e) when (version is null)
                {
                    progress.Done();
                    reporter.Info($"{id} {pick} does not fit the installed trunk; trying an older version");
                    mismatch ??= e;
                }
            }
            if (mismatch is not null)
            {
                throw mismatch;
            }
        }
        throw new XModException($"{id}{(version is null ? "" : " " + version)} is on none of the sources ({string.Join(", ", config.RequireSources().Select(s => s.Name))})"
            + (failed.Count > 0 ? $"; {string.Join(", ", failed)} could not be asked" : "") + "; search with 'xmod-hub search'");
    }

    /// <summary>
    /// Packs a package directory, checks it exactly as the hub will (against the trunk in the cache,
    /// or the model directory given), and pushes it.
    /// </summary>
    public async Task<string> PublishDirectoryAsync(string dir, string? sourceName, Func<TrunkReference, XMod.Packaging.Checkpoints.XModConfig?>? trunkConfig, CancellationToken cancel,
        string? license = null)
    {
        var nupkg = Pack(dir, Path.Combine(Path.GetTempPath(), "xmod-publish"), trunkConfig, license);
        try
        {
            var sources = config.RequireSources();
            var source = sourceName is null ? sources[0] : sources.FirstOrDefault(s => s.Name == sourceName)
                ?? throw new XModException($"no source named '{sourceName}' (configured: {string.Join(", ", sources.Select(s => s.Name))})");
            var upload = new DownloadProgress(reporter, Path.GetFileName(nupkg), "uploading");
            var message = await new FeedClient(http, source).PushAsync(nupkg, cancel, upload.Report);
            upload.Done();
            reporter.Success($"published {Path.GetFileNameWithoutExtension(nupkg)} to {source.Name}: {message}");
            return nupkg;
        }
        finally
        {
            File.Delete(nupkg);
        }
    }

    /// <summary>
    /// Brings the manifest up to date with an edited model card (every other file must still match
    /// its sha256), sets the license when given, packs the directory into <paramref name="outDir"/>
    /// and checks the package exactly as the hub will. Returns the .nupkg's path.
    /// </summary>
    public string Pack(string dir, string outDir, Func<TrunkReference, XMod.Packaging.Checkpoints.XModConfig?>? trunkConfig = null, string? license = null)
    {
        var refreshed = ModelCard.Refresh(dir, license);
        if (refreshed.CardChanged)
        {
            reporter.Info($"{ModelCard.FileName} was edited: {PackageManifest.FileName} now lists its new sha256 (every other file was checked against its own)");
        }
        if (refreshed.LicenseChanged)
        {
            reporter.Info($"license: {refreshed.Manifest.Card?.License}");
        }
        foreach (var warning in refreshed.Warnings)
        {
            reporter.Warn(warning);
        }
        var nupkg = NupkgWriter.Pack(dir, outDir, Environment.UserName);
        try
        {
            using var s = File.OpenRead(nupkg);
            PackageValidator.Validate(s, new PackageLimits(), r => trunkConfig?.Invoke(r) ?? cache.TrunkConfig(r));
        }
        catch (PackageValidationException e)
        {
            File.Delete(nupkg);
            throw new XModException($"{dir} would be refused: {e.Message}");
        }
        return nupkg;
    }

    public async Task<IReadOnlyList<SearchHit>> SearchAsync(string query, string? packageType, int take, CancellationToken cancel,
        IReadOnlyDictionary<string, string>? filters = null)
    {
        if (Offline)
        {
            reporter.Warn("offline (XMOD_OFFLINE=1): searching the installed packages only");
            return SearchCache(query, packageType, take);
        }
        var hits = new List<SearchHit>();
        await EachSourceAsync(async feed => hits.AddRange(await feed.SearchAsync(query, packageType, take, cancel, filters)), cancel);
        return hits.DistinctBy(h => h.Id.ToLowerInvariant()).ToList();
    }

    /// <summary>What is installed that matches the words (id, description, language), as search hits from the cache.</summary>
    private List<SearchHit> SearchCache(string query, string? packageType, int take)
    {
        var words = query.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var hits = new List<SearchHit>();
        foreach (var p in cache.Installed().GroupBy(p => p.Id, StringComparer.OrdinalIgnoreCase).Select(g => g.MaxBy(p => NuGetVersion.Parse(p.Version))!))
        {
            var type = "XMod" + p.Kind;
            if (packageType is not null && !string.Equals(type, packageType, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            PackageManifest? m = null;
            try
            {
                m = PackageManifest.Load(cache.SnapshotDir(p.Id, p.Version));
            }
            catch (XModException)
            {
                // A damaged snapshot still shows by id; 'xmod-hub cache verify' names the damage.
            }
            var text = $"{p.Id} {m?.Description} {m?.Language?.EnglishName} {m?.Language?.Autonym} {m?.Language?.Bcp47} {p.Language}";
            if (words.All(w => text.Contains(w, StringComparison.OrdinalIgnoreCase)))
            {
                hits.Add(new SearchHit(p.Id, p.Version, m?.Description ?? "", 0, [], [type], "cache"));
            }
        }
        return hits.Take(take).ToList();
    }

    /// <summary>
    /// Runs <paramref name="query"/> on every configured source in order. A source that fails (down,
    /// too slow, not a hub) is named in a warning and the next one is asked; only when every source
    /// failed is that an error. Returns the names of the sources that answered.
    /// </summary>
    private async Task<IReadOnlyList<string>> EachSourceAsync(Func<FeedClient, Task> query, CancellationToken cancel)
    {
        var sources = config.RequireSources();
        var answered = new List<string>();
        var failures = new List<string>();
        foreach (var source in sources)
        {
            try
            {
                await query(new FeedClient(http, source));
                answered.Add(source.Name);
            }
            catch (XModException e) when (!cancel.IsCancellationRequested)
            {
                failures.Add($"{source.Name}: {e.Message}");
                if (sources.Count > 1)
                {
                    reporter.Warn($"source {source.Name} failed ({e.Message}); going on without it");
                }
            }
        }
        if (answered.Count == 0)
        {
            throw new XModException(failures.Count == 1 ? failures[0] : $"every source failed: {string.Join("; ", failures)}");
        }
        return answered;
    }

    /// <summary>lang-de -> {trunk}.lang-de for the trunk given or installed; a trunk id stays as it is.</summary>
    public string QualifiedId(string id, string? trunk) => IsModuleId(id) ? PackageIds.Qualified(ResolveTrunk(trunk), id) : id;

    /// <summary>
    /// Removes an installed package (lang-de@1.0.0, a trunk id, ...). Where several versions are
    /// installed, one must be named or <paramref name="all"/> given. Removing a trunk's last version
    /// removes the language and task packages built for it too (they cannot load without it).
    /// Returns every package version removed, the one asked for first.
    /// </summary>
    public IReadOnlyList<InstalledPackage> Uninstall(string spec, string? trunk, bool all = false)
    {
        var (id, version) = ParseSpec(spec);
        var full = QualifiedId(id, trunk);
        var installed = cache.Installed().Where(p => string.Equals(p.Id, full, StringComparison.OrdinalIgnoreCase)).ToList();
        var chosen = version is null ? installed : installed.Where(p => NuGetVersion.Parse(p.Version) == version).ToList();
        if (chosen.Count == 0)
        {
            throw new XModException(installed.Count == 0
                ? $"{full} is not installed ('xmod-hub list' shows what is)"
                : $"{full} {version} is not installed (installed: {string.Join(", ", installed.Select(p => p.Version))})");
        }
        if (version is null && chosen.Count > 1 && !all)
        {
            throw new XModException($"{full} is installed in {chosen.Count} versions ({string.Join(", ", chosen.Select(p => p.Version))}): " +
                $"name one ({id}@{chosen[0].Version}) or pass --all to remove every one");
        }
        var removed = new List<InstalledPackage>();
        foreach (var p in chosen)
        {
            cache.Uninstall(p.Id, p.Version);
            removed.Add(p);
        }
        if (chosen[0].Kind == PackageKind.Trunk && !cache.Installed().Any(p => string.Equals(p.Id, full, StringComparison.OrdinalIgnoreCase)))
        {
            foreach (var module in cache.Installed().Where(p => p.Kind != PackageKind.Trunk && string.Equals(p.Trunk, full, StringComparison.OrdinalIgnoreCase)).ToList())
            {
                cache.Uninstall(module.Id, module.Version);
                removed.Add(module);
            }
        }
        return removed;
    }

    /// <summary>
    /// A package on every configured source (versions, listed or not, sizes, manifest and card,
    /// where the source is an XModHub) and what of it is installed. Offline, the cache alone.
    /// A package that is neither on a source nor installed is an error.
    /// </summary>
    public async Task<PackageInfo> InfoAsync(string spec, string? trunk, CancellationToken cancel)
    {
        var shortId = ParseSpec(spec).Id;
        var full = QualifiedId(shortId, trunk);
        var onSources = new List<SourceVersions>();
        if (!Offline)
        {
            await EachSourceAsync(async feed =>
            {
                if (await feed.DetailsAsync(full, cancel) is { } details)
                {
                    onSources.Add(details);
                    return;
                }
                var versions = await feed.VersionsAsync(full, cancel);
                var unlisted = versions.Count == 0 ? new HashSet<NuGetVersion>() : await feed.UnlistedVersionsAsync(full, cancel);
                onSources.Add(new SourceVersions(feed.Source.Name, versions.Select(v => new RemoteVersion(v, !unlisted.Contains(v), null)).ToList()));
            }, cancel);
        }
        var installed = cache.Installed().Where(x => string.Equals(x.Id, full, StringComparison.OrdinalIgnoreCase))
            .Select(i => new InstalledVersion(i, PackageManifest.Load(cache.SnapshotDir(i.Id, i.Version)), ReadCard(cache.SnapshotDir(i.Id, i.Version)),
                SizeOf(cache.SnapshotDir(i.Id, i.Version))))
            .ToList();
        if (installed.Count == 0 && onSources.All(s => s.Versions.Count == 0))
        {
            throw new XModException(Offline
                ? $"{full} is not installed, and offline (XMOD_OFFLINE=1) no hub is asked; unset XMOD_OFFLINE to look on the sources"
                : $"{full} is on none of the sources ({string.Join(", ", config.RequireSources().Select(s => s.Name))}) and not installed; look for it with 'xmod-hub search {shortId}'");
        }
        return new PackageInfo(full, shortId, onSources, installed, Offline);
    }

    private static long SizeOf(string dir) =>
        Directory.Exists(dir) ? Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length) : 0;

    private static string? ReadCard(string dir)
    {
        var path = Path.Combine(dir, ModelCard.FileName);
        return File.Exists(path) && new FileInfo(path).Length <= ModelCard.MaxCardBytes ? File.ReadAllText(path) : null;
    }

    /// <summary>A model as a trunk package plus one language package per pre-trained language, trunk first.</summary>
    /// <param name="dtype">"bf16" or "f16" stores the weights in half precision (half the download); null or "f32" keeps float32.</param>
    public async Task PublishModelAsync(string modelDir, string trunkId, string version, string? source, CancellationToken cancel, string? license = null, string? dtype = null)
    {
        var staging = Directory.CreateTempSubdirectory("xmod-publish-model-").FullName;
        try
        {
            var config = XModConfig.Load(Path.Combine(modelDir, ModelFiles.Config));
            XModConfig? TrunkConfig(TrunkReference r) => r.Id == trunkId ? config : null;
            var trunkDir = ModelPackages.Trunk(modelDir, trunkId, version, Path.Combine(staging, "trunk"), dtype: dtype);
            // Languages are bound to the trunk's weights as packaged (a half-precision trunk has its own sha256).
            var trunkSha = PackageManifest.Load(trunkDir).Files.First(f => f.Path == ModelFiles.Trunk).Sha256;
            await PublishDirectoryAsync(trunkDir, source, TrunkConfig, cancel, license);
            if (!config.SharedModule)
            {
                foreach (var lang in config.Languages)
                {
                    var dir = ModelPackages.Language(modelDir, trunkId, lang, version, Path.Combine(staging, lang), dtype: dtype, trunkSha256: trunkSha);
                    await PublishDirectoryAsync(dir, source, TrunkConfig, cancel, license);
                }
            }
            reporter.Info($"published {trunkId} {version} and {(config.SharedModule ? 0 : config.Languages.Count)} language packages");
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
    }
}

/// <summary>A download's (or upload's) progress on the console: bytes, rate and ETA, redrawn in place on a terminal.</summary>
public sealed class DownloadProgress(IReporter reporter, string what, string verb = "downloading", bool? terminal = null, Func<TimeSpan>? clock = null)
{
    private readonly Func<TimeSpan> _elapsed = clock ?? StartClock();
    private TimeSpan? _last;
    private readonly bool _tty = terminal ?? !Console.IsErrorRedirected;

    public void Report(long bytes, long? total)
    {
        // Not on a terminal each line stays in the log: none before there is a rate to report
        // (a first "0%" line with a made-up ETA), then one every few seconds.
        var every = TimeSpan.FromMilliseconds(_tty ? 200 : 2000);
        if (_last is { } last ? _elapsed() - last < every : !_tty && (_elapsed() < every || bytes == 0))
        {
            return;
        }
        _last = _elapsed();
        var rate = bytes / Math.Max(1e-3, _elapsed().TotalSeconds);
        var line = total is { } t
            ? $"{verb} {what}: {bytes / 1e6,6:F1}/{t / 1e6:F1} MB {100.0 * bytes / t,3:F0}%  {rate / 1e6:F1} MB/s  ETA {TimeSpan.FromSeconds((t - bytes) / Math.Max(rate, 1)):m\\:ss}"
            : $"{verb} {what}: {bytes / 1e6,6:F1} MB  {rate / 1e6:F1} MB/s";
        if (_tty)
        {
            Console.Error.Write("\r" + line.PadRight(100));
        }
        else
        {
            reporter.Info(line);
        }
    }

    private static Func<TimeSpan> StartClock()
    {
        var watch = Stopwatch.StartNew();
        return () => watch.Elapsed;
    }

    public void Done()
    {
        if (_tty && _last is not null)
        {
            Console.Error.Write("\r" + new string(' ', 100) + "\r");
        }
    }
}
