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

using XModHub.Client.Feeds;

namespace XModHub.Client.Cache;

/// <summary>
/// The local package cache (XMOD_HOME/cache), with its write side (installs, verify, prune), content-addressed like the Hugging Face cache:
/// <code>
/// blobs/sha256/{hash}               downloaded .nupkg files, named by their content
/// packages/{id}/{version}/          the unpacked snapshot of a version (its files, verified)
/// installed.json                    what is installed
/// locks/{id}.lock                   one install of an id at a time
/// locks/index.lock                  every read-modify-write of installed.json (install, uninstall, prune)
/// partial/{id}.{version}.nupkg      a download in progress or interrupted, with its server's ETag beside it
/// </code>
/// Downloads go to partial/ and snapshots are unpacked under a temporary name, then renamed: an
/// interrupted install leaves nothing visible, and the next one continues the download where it stopped
/// (a Range request, when the server still has the same file) and starts the rest clean.
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

    /// <summary>Installs from a download that cannot resume (a plain stream and its declared length).</summary>
    public Task<InstalledPackage> InstallAsync(string id, NuGetVersion version, Func<CancellationToken, Task<(Stream Content, long? Length)>> open,
        string source, Action<long, long?>? progress, CancellationToken cancel, PackageKind? expectedKind = null) =>
        InstallAsync(id, version, async (_, _, c) =>
        {
            var (content, length) = await open(c);
            return new PackageDownload(content, length, 0, length, null);
        }, source, progress, cancel, expectedKind);

    /// <summary>
    /// Installs one package version from a download: hashed while it is written, validated as the
    /// hub validates (the trunk's config from this cache), unpacked and verified, then made visible
    /// by renames. An interrupted download stays in partial/ with the server's ETag, and the next
    /// install of that version continues it (<paramref name="open"/> gets the offset and the ETag).
    /// Returns the installed record.
    /// </summary>
    /// <param name="open">Opens the download from an offset when the server's file still has that ETag (see FeedClient.DownloadAsync).</param>
    /// <param name="expectedKind">The kind the caller asked for (a language id must not install a trunk); null accepts any.</param>
    public async Task<InstalledPackage> InstallAsync(string id, NuGetVersion version, Func<long, string?, CancellationToken, Task<PackageDownload>> open,
        string source, Action<long, long?>? progress, CancellationToken cancel, PackageKind? expectedKind = null)
    {
        using var _ = await CacheLock.AcquireAsync(Path.Combine(Root, "locks", id.ToLowerInvariant() + ".lock"), cancel);
        if (Find(id, version.ToNormalizedString()) is { } existing && Directory.Exists(SnapshotDir(existing.Id, existing.Version)))
        {
            return existing;
        }
        Directory.CreateDirectory(Blobs);
        var partial = PartialPath(id, version);
        var downloaded = false;
        string? staging = null;
        try
        {
            var sha = await DownloadAsync(id, version, open, source, partial, progress, cancel);
            downloaded = true;

            ValidatedPackage package;
            await using (var check = File.OpenRead(partial))
            {
                if (ReadTrunkReference(check) is { } trunk && TrunkConfig(trunk) is null)
                {
                    throw new TrunkMismatchException($"{id} {version} was built for trunk {trunk.Id} with weights sha256 {(trunk.Sha256 is { Length: > 12 } s ? s[..12] + "…" : trunk.Sha256)}, which is not installed: install that trunk version first");
                }
                try
                {
                    package = PackageValidator.Validate(check, new PackageLimits(), TrunkConfig, sha);
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
            File.Move(partial, blob, overwrite: true);
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
            // A download that broke off stays for the next install to continue; a finished one that was refused goes.
            if (downloaded)
            {
                DiscardPartial(partial);
            }
            if (staging is not null && Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    /// <summary>Where an interrupted download of a version waits to be continued (its ETag beside it).</summary>
    private string PartialPath(string id, NuGetVersion version) =>
        Path.Combine(Root, "partial", $"{id}.{version.ToNormalizedString()}.nupkg".ToLowerInvariant());

    private static void DiscardPartial(string partial)
    {
        File.Delete(partial);
        File.Delete(partial + ".etag");
    }

    /// <summary>
    /// Writes the download to <paramref name="partial"/>, hashing it, continuing what an earlier
    /// install left there when the server still has the same file (its ETag); never more than the
    /// declared length (or <see cref="MaxDownloadBytes"/>). A connection that breaks off is a message
    /// and leaves the partial file for the next run; a server whose bytes contradict what it declared
    /// (another range, more bytes, a sha256 other than its ETag) gets the partial file discarded.
    /// </summary>
    private async Task<string> DownloadAsync(string id, NuGetVersion version, Func<long, string?, CancellationToken, Task<PackageDownload>> open,
        string source, string partial, Action<long, long?>? progress, CancellationToken cancel)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(partial)!);
        var etagFile = partial + ".etag";
        var etag = File.Exists(partial) && File.Exists(etagFile) ? File.ReadAllText(etagFile).Trim() : null;
        var have = etag is null ? 0 : new FileInfo(partial).Length;
        PackageDownload download;
        try
        {
            download = await open(have, have > 0 ? etag : null, cancel);
        }
        catch (RangeMismatchException)
        {
            DiscardPartial(partial);
            throw;
        }
        await using (download)
        {
            if (download.Offset != 0 && download.Offset != have)
            {
                DiscardPartial(partial);
                throw new XModException($"{source} continued {id} {version} from byte {download.Offset:N0}, not {have:N0} as asked; the partial download was discarded, run the install again");
            }
            var total = download.Total ?? download.Length;
            if (total > MaxDownloadBytes)
            {
                DiscardPartial(partial);
                throw new XModException($"{source} declares {total:N0} bytes for {id} {version}, over the {MaxDownloadBytes:N0}-byte limit; nothing was installed");
            }
            var cap = total ?? MaxDownloadBytes;
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[1 << 20];
            await using var file = new FileStream(partial, download.Offset > 0 ? FileMode.Open : FileMode.Create, FileAccess.ReadWrite, FileShare.None, 0, FileOptions.Asynchronous);
            long written = 0;
            if (download.Offset > 0)
            {
                // The bytes already here count toward the hash: read them once.
                int n;
                while (written < have && (n = await file.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, have - written)), cancel)) > 0)
                {
                    hash.AppendData(buffer, 0, n);
                    written += n;
                }
                progress?.Invoke(written, total);
            }
            else
            {
                file.SetLength(0);
                if (download.ETag is { } tag)
                {
                    File.WriteAllText(etagFile, tag);
                }
                else
                {
                    File.Delete(etagFile);
                }
            }
            while (true)
            {
                int n;
                try
                {
                    n = await download.Content.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, cap - written + 1)), cancel);
                }
                catch (Exception e) when (e is IOException or HttpRequestException)
                {
                    // Without an ETag nothing proves a later answer continues the same file: such a partial file is of no use.
                    if (download.ETag is null)
                    {
                        await file.DisposeAsync();
                        DiscardPartial(partial);
                        throw new XModException($"the download of {id} {version} from {source} broke off after {written:N0} bytes ({e.Message}); nothing was installed, run the install again");
                    }
                    await file.FlushAsync(CancellationToken.None);
                    throw new XModException($"the download of {id} {version} from {source} broke off after {written:N0} bytes ({e.Message}); nothing was installed, run the install again to continue from there");
                }
                if (n == 0)
                {
                    break;
                }
                written += n;
                if (written > cap)
                {
                    await file.DisposeAsync();
                    DiscardPartial(partial);
                    throw new XModException(total is { } declared
                        ? $"{source} sent more than the {declared:N0} bytes it declared for {id} {version}; nothing was installed"
                        : $"the download of {id} {version} from {source} exceeds the {MaxDownloadBytes:N0}-byte limit; nothing was installed");
                }
                await file.WriteAsync(buffer.AsMemory(0, n), cancel);
                hash.AppendData(buffer, 0, n);
                progress?.Invoke(written, total);
            }
            if (total is { } expected && written != expected)
            {
                throw new XModException($"the download of {id} {version} stopped at {written:N0} of {expected:N0} bytes; run the install again to continue from there");
            }
            file.Flush(flushToDisk: true);
            var sha = Convert.ToHexStringLower(hash.GetHashAndReset());
            // XModHub's ETag is the package's sha256: a file that does not match it is not the one announced.
            if (download.ETag is { } announced && announced.Trim('"') is { Length: 64 } hex && hex.All(char.IsAsciiHexDigit)
                && !string.Equals(hex, sha, StringComparison.OrdinalIgnoreCase))
            {
                await file.DisposeAsync();
                DiscardPartial(partial);
                throw new XModException($"{id} {version} from {source} is damaged or invalid, nothing was installed: its sha256 is {sha[..12]}…, not the {hex[..Math.Min(12, hex.Length)]}… the server announced (a broken transfer or a damaged copy on the server; run the install again, and tell the hub's operators if it repeats)");
            }
            return sha;
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
        var partials = Path.Combine(Root, "partial");
        if (Directory.Exists(partials))
        {
            foreach (var f in new DirectoryInfo(partials).GetFiles())
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
