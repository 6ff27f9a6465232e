using System.Diagnostics;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using NuGet.Versioning;
using XMod;
using XMod.Packaging;
using XMod.Packaging.Caching;
using XMod.Packaging.Checkpoints;
using XMod.Packaging.Manifests;
using XMod.Packaging.Nupkg;

namespace XModHub.Client.Cache;

/// <summary>
/// The local package cache (XMOD_HOME/cache), with its write side (installs, verify, prune), content-addressed like the Hugging Face cache:
/// <code>
/// blobs/sha256/{hash}               downloaded .nupkg files, named by their content
/// packages/{id}/{version}/          the unpacked snapshot of a version (its files, verified)
/// installed.json                    what is installed
/// locks/{id}.lock                   one install of an id at a time
/// locks/index.lock                  every read-modify-write of installed.json (install, uninstall, prune)
/// </code>
/// Downloads go to *.incomplete and snapshots are unpacked under a temporary name, then renamed:
/// an interrupted install leaves nothing visible and the next one starts clean.
/// </summary>
public sealed class PackageCache(string home) : LocalCache(home)
{
    private string Blobs => Path.Combine(Root, "blobs", "sha256");
    private string Packages => Path.Combine(Root, "packages");

    /// <summary>A download is cut here when the feed declares no length (an endless chunked body), or at its declared length.</summary>
    public long MaxDownloadBytes { get; init; } = new PackageLimits().MaxPackageBytes;

    private Task<CacheLock> IndexLockAsync(CancellationToken cancel) => CacheLock.AcquireAsync(Path.Combine(Root, "locks", "index.lock"), cancel);

    private void SaveInstalled(IEnumerable<InstalledPackage> packages)
    {
        Directory.CreateDirectory(Root);
        AtomicFile.WriteAllText(InstalledFile, JsonSerializer.Serialize(packages.OrderBy(p => p.Id, StringComparer.OrdinalIgnoreCase).ThenBy(p => NuGetVersion.Parse(p.Version)).ToList(),
            new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>
    /// Installs one package version from an open download: hashed while it is written, validated
    /// as the hub validates (the trunk's config from this cache), unpacked and verified, then made
    /// visible by renames. Returns the installed record.
    /// </summary>
    /// <param name="expectedKind">The kind the caller asked for (a language id must not install a trunk); null accepts any.</param>
    public async Task<InstalledPackage> InstallAsync(string id, NuGetVersion version, Func<CancellationToken, Task<(Stream Content, long? Length)>> open,
        string source, Action<long, long?>? progress, CancellationToken cancel, PackageKind? expectedKind = null)
    {
        using var _ = await CacheLock.AcquireAsync(Path.Combine(Root, "locks", id.ToLowerInvariant() + ".lock"), cancel);
        if (Find(id, version.ToNormalizedString()) is { } existing && Directory.Exists(SnapshotDir(existing.Id, existing.Version)))
        {
            return existing;
        }
        Directory.CreateDirectory(Blobs);
        var incomplete = Path.Combine(Blobs, $"{Guid.NewGuid():N}.incomplete");
        string? staging = null;
        try
        {
            var sha = await DownloadAsync(id, version, open, source, incomplete, progress, cancel);

            ValidatedPackage package;
            await using (var check = File.OpenRead(incomplete))
            {
                if (ReadTrunkReference(check) is { } trunk && TrunkConfig(trunk) is null)
                {
                    throw new TrunkMismatchException($"{id} {version} was built for trunk {trunk.Id} with weights sha256 {(trunk.Sha256 is { Length: > 12 } s ? s[..12] + "…" : trunk.Sha256)}, which is not installed: install that trunk version first");
                }
                try
                {
                    package = PackageValidator.Validate(check, new PackageLimits(), TrunkConfig);
                }
                catch (PackageValidationException e)
                {
                    throw new XModException($"{id} {version} from {source} is damaged or invalid, nothing was installed: {e.Message}");
                }
            }
            if (!string.Equals(package.Id, id, StringComparison.OrdinalIgnoreCase) || package.Version != version)
            {
                throw new XModException($"{source} served {package.Id} {package.Version} when {id} {version} was asked for; nothing was installed");
            }
            if (expectedKind is { } kind && package.Kind != kind)
            {
                throw new XModException($"{id} {version} from {source} is a {package.Kind} package, not a {kind} package; nothing was installed");
            }

            var blob = Path.Combine(Blobs, sha);
            File.Move(incomplete, blob, overwrite: true);
            var target = SnapshotDir(package.Id, package.Version.ToNormalizedString());
            staging = target + $".{Guid.NewGuid():N}.tmp";
            Directory.CreateDirectory(staging);
            using (var zip = ZipFile.OpenRead(blob))
            {
                foreach (var entry in zip.Entries.Where(e => e.FullName.StartsWith(NupkgWriter.ContentRoot, StringComparison.Ordinal) && !e.FullName.EndsWith('/')))
                {
                    // Validated already; proven again here, at the one place that writes.
                    var path = PackagePaths.Combine(staging, entry.FullName[NupkgWriter.ContentRoot.Length..]);
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    entry.ExtractToFile(path);
                }
            }
            PackageManifest.Load(staging).Verify(staging);
            if (Directory.Exists(target))
            {
                Directory.Delete(target, recursive: true); // a snapshot without an installed.json entry
            }
            Directory.Move(staging, target);
            staging = null;
            var m = package.Manifest;
            var record = new InstalledPackage(package.Id, package.Version.ToNormalizedString(), package.Kind, sha,
                package.Kind == PackageKind.Trunk ? package.Id : m.Trunk?.Id,
                package.Kind == PackageKind.Trunk ? m.Files.First(f => f.Path == ModelFiles.Trunk).Sha256 : m.Trunk?.Sha256,
                m.Language?.Code, source, DateTimeOffset.UtcNow);
            using (await IndexLockAsync(cancel))
            {
                SaveInstalled(Installed().Where(p => !(string.Equals(p.Id, record.Id, StringComparison.OrdinalIgnoreCase) && p.Version == record.Version)).Append(record));
            }
            return record;
        }
        finally
        {
            File.Delete(incomplete);
            if (staging is not null && Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    /// <summary>
    /// Writes the download to <paramref name="incomplete"/>, hashing it; never more than its declared
    /// length (or <see cref="MaxDownloadBytes"/>); a connection that breaks off is a message, not a crash.
    /// </summary>
    private async Task<string> DownloadAsync(string id, NuGetVersion version, Func<CancellationToken, Task<(Stream Content, long? Length)>> open,
        string source, string incomplete, Action<long, long?>? progress, CancellationToken cancel)
    {
        var (content, length) = await open(cancel);
        var cap = Math.Min(length ?? MaxDownloadBytes, MaxDownloadBytes);
        await using (content)
        await using (var file = new FileStream(incomplete, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
        using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
        {
            var buffer = new byte[1 << 16];
            long total = 0;
            while (true)
            {
                int n;
                try
                {
                    n = await content.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, cap - total + 1)), cancel);
                }
                catch (Exception e) when (e is IOException or HttpRequestException)
                {
                    throw new XModException($"the download of {id} {version} from {source} broke off after {total:N0} bytes ({e.Message}); nothing was installed, run the install again");
                }
                if (n == 0)
                {
                    break;
                }
                total += n;
                if (total > cap)
                {
                    throw new XModException(length is { } declared && declared <= MaxDownloadBytes
                        ? $"{source} sent more than the {declared:N0} bytes it declared for {id} {version}; nothing was installed"
                        : $"the download of {id} {version} from {source} exceeds the {MaxDownloadBytes:N0}-byte limit; nothing was installed");
                }
                await file.WriteAsync(buffer.AsMemory(0, n), cancel);
                hash.AppendData(buffer, 0, n);
                progress?.Invoke(total, length);
            }
            if (length is { } expected && total != expected)
            {
                throw new XModException($"the download of {id} {version} stopped at {total:N0} of {expected:N0} bytes; run the install again");
            }
            file.Flush(flushToDisk: true);
            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }
    }

    /// <summary>The trunk a language or task package names (null for trunks, or when unreadable: validation reports that).</summary>
    private static TrunkReference? ReadTrunkReference(Stream package)
    {
        try
        {
            using var zip = new ZipArchive(package, ZipArchiveMode.Read, leaveOpen: true);
            var entry = zip.GetEntry(NupkgWriter.ContentRoot + PackageManifest.FileName);
            if (entry is null || entry.Length > 10_000_000)
            {
                return null;
            }
            using var s = entry.Open();
            var manifest = JsonSerializer.Deserialize<PackageManifest>(s);
            return manifest?.Kind == PackageKind.Trunk ? null : manifest?.Trunk;
        }
        catch (Exception e) when (e is InvalidDataException or JsonException)
        {
            return null;
        }
        finally
        {
            package.Position = 0;
        }
    }

    /// <summary>The config of an installed trunk with these weights, for checking language packages.</summary>
    public XModConfig? TrunkConfig(TrunkReference trunk)
    {
        var installed = Installed().Where(p => p.Kind == PackageKind.Trunk && string.Equals(p.Id, trunk.Id, StringComparison.OrdinalIgnoreCase)
            && string.Equals(p.TrunkSha256, trunk.Sha256, StringComparison.OrdinalIgnoreCase)).MaxBy(p => NuGetVersion.Parse(p.Version));
        return installed is null ? null : XModConfig.Load(Path.Combine(SnapshotDir(installed.Id, installed.Version), ModelFiles.Config));
    }

    public bool Uninstall(string id, string? version)
    {
        using var _ = IndexLockAsync(CancellationToken.None).GetAwaiter().GetResult();
        var removed = Installed().Where(p => string.Equals(p.Id, id, StringComparison.OrdinalIgnoreCase) && (version is null || p.Version == version)).ToList();
        if (removed.Count == 0)
        {
            return false;
        }
        SaveInstalled(Installed().Except(removed));
        foreach (var p in removed)
        {
            var dir = SnapshotDir(p.Id, p.Version);
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        return true;
    }

    /// <summary>Checks every installed package: its blob's sha256 and every snapshot file against its manifest.</summary>
    public IReadOnlyList<string> Verify()
    {
        var problems = new List<string>();
        foreach (var p in Installed())
        {
            var blob = Path.Combine(Blobs, p.Sha256);
            if (!File.Exists(blob))
            {
                problems.Add($"{p.Id} {p.Version}: its package file is missing from the cache (reinstall it)");
            }
            else if (PackageManifest.Sha256Of(blob) != p.Sha256)
            {
                problems.Add($"{p.Id} {p.Version}: its package file is corrupted (sha256 differs; reinstall it)");
            }
            try
            {
                PackageManifest.Load(SnapshotDir(p.Id, p.Version)).Verify(SnapshotDir(p.Id, p.Version));
            }
            catch (PackagingException e)
            {
                problems.Add($"{p.Id} {p.Version}: {e.Message}");
            }
        }
        return problems;
    }

    /// <summary>Removes what no installed package uses: unreferenced blobs, stray snapshots, leftovers of interrupted installs.</summary>
    public (int Files, long Bytes) Prune()
    {
        // Under the index lock: an install moves its blob in before its entry is written.
        using var _ = IndexLockAsync(CancellationToken.None).GetAwaiter().GetResult();
        var installed = Installed();
        var keep = installed.Select(p => p.Sha256).ToHashSet(StringComparer.Ordinal);
        int files = 0;
        long bytes = 0;
        void Remove(FileSystemInfo f)
        {
            files++;
            if (f is FileInfo fi)
            {
                bytes += fi.Length;
                fi.Delete();
            }
            else if (f is DirectoryInfo di)
            {
                bytes += di.EnumerateFiles("*", SearchOption.AllDirectories).Sum(x => x.Length);
                di.Delete(recursive: true);
            }
        }
        if (Directory.Exists(Blobs))
        {
            foreach (var f in new DirectoryInfo(Blobs).GetFiles().Where(f => !keep.Contains(f.Name)))
            {
                Remove(f);
            }
        }
        if (Directory.Exists(Packages))
        {
            var snapshots = installed.Select(p => SnapshotDir(p.Id, p.Version)).ToHashSet(StringComparer.Ordinal);
            foreach (var dir in new DirectoryInfo(Packages).GetDirectories().SelectMany(d => d.GetDirectories()).Where(d => !snapshots.Contains(d.FullName)))
            {
                Remove(dir);
            }
        }
        return (files, bytes);
    }
}

/// <summary>A language or task package built for a trunk that is not installed (an older version may fit).</summary>
public sealed class TrunkMismatchException(string message) : XModException(message);

/// <summary>
/// An exclusive lock on a file, held by an open handle: the operating system releases it when the
/// process ends, so a crashed install never leaves a stale lock; waiting gives up after a timeout
/// (XMOD_LOCK_TIMEOUT seconds, default 300) instead of hanging forever.
/// </summary>
public sealed class CacheLock : IDisposable
{
    private readonly FileStream _stream;

    private CacheLock(FileStream stream) => _stream = stream;

    public static async Task<CacheLock> AcquireAsync(string path, CancellationToken cancel, TimeSpan? timeout = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var limit = timeout ?? TimeSpan.FromSeconds(int.TryParse(Environment.GetEnvironmentVariable("XMOD_LOCK_TIMEOUT"), out var s) && s > 0 ? s : 300);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                // The lock file itself cannot be read while locked; the holder's pid goes beside it.
                File.WriteAllText(path + ".pid", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
                return new CacheLock(stream);
            }
            catch (IOException) when (clock.Elapsed < limit)
            {
                await Task.Delay(100, cancel);
            }
            catch (IOException)
            {
                var holder = TryRead(path + ".pid");
                throw new XModException($"another xmod-hub (pid {holder}) has held {path} for {limit.TotalSeconds:F0} s; let it finish, or raise XMOD_LOCK_TIMEOUT");
            }
        }
    }

    private static string TryRead(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (IOException)
        {
            return "?";
        }
    }

    public void Dispose() => _stream.Dispose();
}
