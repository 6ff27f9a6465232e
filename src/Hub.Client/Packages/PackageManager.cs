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
        foreach (var source in config.RequireSources())
        {
            var feed = new FeedClient(http, source);
            var versions = await feed.VersionsAsync(id, cancel);
            // The flat container lists unlisted versions too (as NuGet's does): they install only when pinned.
            IReadOnlySet<NuGetVersion> unlisted = versions.Count == 0 ? new HashSet<NuGetVersion>() : await feed.UnlistedVersionsAsync(id, cancel);
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
                    var installed = await cache.InstallAsync(id, pick, c => feed.DownloadAsync(id, pick, c), source.Name, progress.Report, cancel, kind);
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
        throw new XModException($"{id}{(version is null ? "" : " " + version)} is on none of the sources ({string.Join(", ", config.RequireSources().Select(s => s.Name))}); search with 'xmod-hub search'");
    }

    /// <summary>
    /// Packs a package directory, checks it exactly as the hub will (against the trunk in the cache,
    /// or the model directory given), and pushes it.
    /// </summary>
    public async Task<string> PublishDirectoryAsync(string dir, string? sourceName, Func<TrunkReference, XMod.Packaging.Checkpoints.XModConfig?>? trunkConfig, CancellationToken cancel)
    {
        var manifest = PackageManifest.Load(dir);
        manifest.Verify(dir);
        var nupkg = NupkgWriter.Pack(dir, Path.Combine(Path.GetTempPath(), "xmod-publish"), Environment.UserName);
        try
        {
            await using (var s = File.OpenRead(nupkg))
            {
                try
                {
                    PackageValidator.Validate(s, new PackageLimits(), r => trunkConfig?.Invoke(r) ?? cache.TrunkConfig(r));
                }
                catch (PackageValidationException e)
                {
                    throw new XModException($"{dir} would be refused: {e.Message}");
                }
            }
            var sources = config.RequireSources();
            var source = sourceName is null ? sources[0] : sources.FirstOrDefault(s => s.Name == sourceName)
                ?? throw new XModException($"no source named '{sourceName}' (configured: {string.Join(", ", sources.Select(s => s.Name))})");
            var message = await new FeedClient(http, source).PushAsync(nupkg, cancel);
            reporter.Success($"published {Path.GetFileNameWithoutExtension(nupkg)} to {source.Name}: {message}");
            return nupkg;
        }
        finally
        {
            File.Delete(nupkg);
        }
    }

    public async Task<IReadOnlyList<SearchHit>> SearchAsync(string query, string? packageType, int take, CancellationToken cancel,
        IReadOnlyDictionary<string, string>? filters = null)
    {
        var hits = new List<SearchHit>();
        foreach (var source in config.RequireSources())
        {
            hits.AddRange(await new FeedClient(http, source).SearchAsync(query, packageType, take, cancel, filters));
        }
        return hits.DistinctBy(h => h.Id.ToLowerInvariant()).ToList();
    }

    /// <summary>lang-de -> {trunk}.lang-de for the trunk given or installed; a trunk id stays as it is.</summary>
    public string QualifiedId(string id, string? trunk) => IsModuleId(id) ? PackageIds.Qualified(ResolveTrunk(trunk), id) : id;

    /// <summary>Removes an installed package (lang-de, lang-de@1.0.0 or a trunk id); returns its full id.</summary>
    public string Uninstall(string spec, string? trunk)
    {
        var (id, version) = ParseSpec(spec);
        var full = QualifiedId(id, trunk);
        return cache.Uninstall(full, version?.ToNormalizedString()) ? full : throw new XModException($"{full} is not installed");
    }

    /// <summary>The versions of a package on every configured source, and what of it is installed.</summary>
    public async Task<PackageInfo> InfoAsync(string spec, string? trunk, CancellationToken cancel)
    {
        var full = QualifiedId(ParseSpec(spec).Id, trunk);
        var onSources = new List<SourceVersions>();
        foreach (var source in config.RequireSources())
        {
            onSources.Add(new SourceVersions(source.Name, await new FeedClient(http, source).VersionsAsync(full, cancel)));
        }
        var installed = cache.Installed().Where(x => string.Equals(x.Id, full, StringComparison.OrdinalIgnoreCase))
            .Select(i => new InstalledVersion(i, PackageManifest.Load(cache.SnapshotDir(i.Id, i.Version)))).ToList();
        return new PackageInfo(full, onSources, installed);
    }

    /// <summary>A model as a trunk package plus one language package per pre-trained language, trunk first.</summary>
    /// <param name="dtype">"bf16" or "f16" stores the weights in half precision (half the download); null or "f32" keeps float32.</param>
    public async Task PublishModelAsync(string modelDir, string trunkId, string version, string? source, CancellationToken cancel, string? dtype = null)
    {
        var staging = Directory.CreateTempSubdirectory("xmod-publish-model-").FullName;
        try
        {
            var config = XModConfig.Load(Path.Combine(modelDir, ModelFiles.Config));
            XModConfig? TrunkConfig(TrunkReference r) => r.Id == trunkId ? config : null;
            var trunkDir = ModelPackages.Trunk(modelDir, trunkId, version, Path.Combine(staging, "trunk"), dtype: dtype);
            // Languages are bound to the trunk's weights as packaged (a half-precision trunk has its own sha256).
            var trunkSha = PackageManifest.Load(trunkDir).Files.First(f => f.Path == ModelFiles.Trunk).Sha256;
            await PublishDirectoryAsync(trunkDir, source, TrunkConfig, cancel);
            if (!config.SharedModule)
            {
                foreach (var lang in config.Languages)
                {
                    var dir = ModelPackages.Language(modelDir, trunkId, lang, version, Path.Combine(staging, lang), dtype: dtype, trunkSha256: trunkSha);
                    await PublishDirectoryAsync(dir, source, TrunkConfig, cancel);
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

/// <summary>A download's progress on the console: bytes, rate and ETA, redrawn in place on a terminal.</summary>
public sealed class DownloadProgress(IReporter reporter, string what)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan? _last;
    private readonly bool _tty = !Console.IsErrorRedirected;

    public void Report(long bytes, long? total)
    {
        if (_last is { } last && _clock.Elapsed - last < TimeSpan.FromMilliseconds(_tty ? 200 : 2000))
        {
            return;
        }
        _last = _clock.Elapsed;
        var rate = bytes / Math.Max(1e-3, _clock.Elapsed.TotalSeconds);
        var line = total is { } t
            ? $"downloading {what}: {bytes / 1e6,6:F1}/{t / 1e6:F1} MB {100.0 * bytes / t,3:F0}%  {rate / 1e6:F1} MB/s  ETA {TimeSpan.FromSeconds((t - bytes) / Math.Max(rate, 1)):m\\:ss}"
            : $"downloading {what}: {bytes / 1e6,6:F1} MB  {rate / 1e6:F1} MB/s";
        if (_tty)
        {
            Console.Error.Write("\r" + line.PadRight(100));
        }
        else
        {
            reporter.Info(line);
        }
    }

    public void Done()
    {
        if (_tty && _last is not null)
        {
            Console.Error.Write("\r" + new string(' ', 100) + "\r");
        }
    }
}
