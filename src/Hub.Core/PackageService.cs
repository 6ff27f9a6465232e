using System.Text.Json;
using NuGet.Versioning;
using XMod.Packaging.Checkpoints;
using XMod.Packaging.Manifests;
using XMod.Packaging.Nupkg;

namespace XModHub.Core;

public enum PushStatus
{
    Created,
    Invalid,
    Unauthorized,
    Forbidden,
    Conflict,
    /// <summary>The hub's disk is full (507): nothing was stored.</summary>
    InsufficientStorage,
    /// <summary>Larger than the hub's package limit (413).</summary>
    TooLarge,
}

/// <summary>Where uploads are spooled while they are checked: under the hub's data directory (swept at start), never /tmp.</summary>
public sealed record PushOptions(string TempDirectory);

public enum OwnerResult
{
    Done,
    NotFound,
    Unauthorized,
    Forbidden,
    /// <summary>The last owner cannot be removed.</summary>
    LastOwner,
}

public sealed record PushOutcome(PushStatus Status, string Message, PackageRecord? Package = null);

public enum ListingResult
{
    Done,
    NotFound,
    Unauthorized,
    Forbidden,
}

/// <summary>Push, unlist, relist and download, over the providers (an endpoint makes one call here).</summary>
public sealed class PackageService(IMetadataStore store, IBlobStorage blobs, ApiKeyService keys, PackageLimits limits, PushOptions options)
{
    public static string BlobPath(string id, string version) =>
        $"packages/{id.ToLowerInvariant()}/{version.ToLowerInvariant()}/{id.ToLowerInvariant()}.{version.ToLowerInvariant()}.nupkg";

    /// <summary>
    /// Validates the upload completely, then adds it in one transaction; the blob is written
    /// before the row commits, so an index entry never points at a missing file.
    /// </summary>
    public async Task<PushOutcome> PushAsync(Stream upload, string? apiKey, CancellationToken cancel)
    {
        var (key, refused) = await AuthorizePushAsync(apiKey, cancel);
        return refused ?? await PushAsync(upload, key!, cancel);
    }

    /// <summary>Checks the key before anything of the upload is read: the key, or why not.</summary>
    public async Task<(ApiKeyRecord? Key, PushOutcome? Refused)> AuthorizePushAsync(string? apiKey, CancellationToken cancel)
    {
        var key = await keys.AuthenticateAsync(apiKey, cancel);
        if (key is null)
        {
            return (null, new PushOutcome(PushStatus.Unauthorized, apiKey is null ? "an API key is required (X-NuGet-ApiKey)" : "the API key is not valid"));
        }
        if (!key.Scopes.Contains(ApiKeyService.Push) && !key.Scopes.Contains(ApiKeyService.Admin))
        {
            return (null, new PushOutcome(PushStatus.Forbidden, "the API key may not push packages"));
        }
        return (key, null);
    }

    /// <summary>Pushes for an authorized key (see <see cref="AuthorizePushAsync"/>): spools the upload (hashed on the way), then pushes that.</summary>
    public async Task<PushOutcome> PushAsync(Stream upload, ApiKeyRecord key, CancellationToken cancel)
    {
        ReceivedPackage? received;
        try
        {
            received = await ReceivedPackage.ReceiveAsync(upload, options.TempDirectory, limits.MaxPackageBytes, cancel);
        }
        catch (Exception e) when (e is IOException or InvalidDataException && !IsDiskFull(e))
        {
            return new PushOutcome(PushStatus.Invalid, $"the upload could not be read (a malformed multipart body or a broken connection): {e.Message}");
        }
        catch (IOException e) when (IsDiskFull(e))
        {
            return new PushOutcome(PushStatus.InsufficientStorage, "the hub's disk is full: nothing was stored; try again later (and tell the hub's operator)");
        }
        if (received is null)
        {
            return new PushOutcome(PushStatus.TooLarge, TooLargeMessage(limits.MaxPackageBytes));
        }
        await using (received)
        {
            return await PushAsync(received, key, cancel);
        }
    }

    /// <summary>The 413 text: the limit and the setting that raises it.</summary>
    public static string TooLargeMessage(long limit) =>
        $"the package exceeds this hub's limit of {limit:N0} bytes (setting Hub:MaxPackageBytes, environment XMODHUB__Hub__MaxPackageBytes)";

    /// <summary>
    /// Pushes a package already spooled and hashed (the server's receive path): validation reads
    /// each entry once and trusts the hash computed on the way in; a file-system store takes the
    /// file over by renaming it instead of copying it.
    /// </summary>
    public async Task<PushOutcome> PushAsync(ReceivedPackage received, ApiKeyRecord key, CancellationToken cancel)
    {
        var file = received.File;
        PackageRecord? record = null;
        try
        {
            ValidatedPackage package;
            try
            {
                var trunkRef = TryReadTrunkReference(file);
                var trunk = trunkRef?.Id is null || trunkRef.Sha256 is null ? null : await store.FindTrunkAsync(trunkRef.Id, trunkRef.Sha256, cancel);
                var config = trunk?.ConfigJson is { } json ? JsonSerializer.Deserialize<XModConfig>(json) : null;
                package = PackageValidator.Validate(file, limits, r => trunkRef is not null && r.Id == trunkRef.Id && r.Sha256 == trunkRef.Sha256 ? config : null, received.Sha256);
            }
            catch (PackageValidationException e)
            {
                return new PushOutcome(PushStatus.Invalid, e.Message);
            }
            if (await ReservedPrefixAsync(package, key, cancel) is { } reserved)
            {
                return new PushOutcome(PushStatus.Forbidden, reserved);
            }
            record = ToRecord(package, file, key.User);
            // A case variant of an existing id keeps the first casing (ids are case-insensitive, as NuGet's).
            if ((await store.GetVersionsAsync(record.Id, includeUnlisted: true, cancel)).FirstOrDefault() is { } first)
            {
                record = record with { Id = first.Id };
            }
            var stored = record;
            var result = await store.AddAsync(stored, async ct =>
            {
                file.Position = 0;
                await (blobs is ILocalBlobStorage local ? local.PutFileAsync(BlobPath(stored.Id, stored.Version), received.Path, overwrite: true, ct)
                    : blobs.PutAsync(BlobPath(stored.Id, stored.Version), file, overwrite: true, ct));
            }, cancel);
            return result switch
            {
                AddResult.Added => new PushOutcome(PushStatus.Created, $"{record.Id} {record.Version} published", record),
                AddResult.AlreadyExists => new PushOutcome(PushStatus.Conflict, $"{record.Id} {record.Version} already exists; published versions are never overwritten (push a new version)"),
                _ => new PushOutcome(PushStatus.Forbidden, $"{record.Id} belongs to other owners; ask one of them to add you"),
            };
        }
        catch (IOException e) when (IsDiskFull(e))
        {
            // The blob may be in place while the index commit failed: a blob without its row is removed.
            if (record is not null && await store.GetAsync(record.Id, record.Version, CancellationToken.None) is null)
            {
                await TryAsync(() => blobs.DeleteAsync(BlobPath(record.Id, record.Version), CancellationToken.None));
            }
            return new PushOutcome(PushStatus.InsufficientStorage, "the hub's disk is full: nothing was stored; try again later (and tell the hub's operator)");
        }
    }

    /// <summary>ENOSPC (28) or EDQUOT (122) on Unix, ERROR_DISK_FULL / ERROR_HANDLE_DISK_FULL on Windows.</summary>
    public static bool IsDiskFull(Exception e) =>
        e is IOException && ((e.HResult & 0xFFFF) is 28 or 122 or 112 or 39 || e.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase));

    private static async Task TryAsync(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (IOException)
        {
            // Best effort: the sweep at the next start removes what is left.
        }
    }

    /// <summary>
    /// The {trunk}. prefix belongs to the trunk's owners (like NuGet's reserved prefixes): inside it
    /// anyone may publish a language or task package built for that trunk, but nothing else (a
    /// trunk named xmod-mini.lang-sw would shadow the language) unless they own the trunk.
    /// </summary>
    private async Task<string?> ReservedPrefixAsync(ValidatedPackage package, ApiKeyRecord key, CancellationToken cancel)
    {
        for (var dot = package.Id.IndexOf('.'); dot > 0; dot = package.Id.IndexOf('.', dot + 1))
        {
            var prefix = package.Id[..dot];
            var trunk = (await store.GetVersionsAsync(prefix, includeUnlisted: true, cancel)).FirstOrDefault(v => v.Kind == PackageKind.Trunk);
            if (trunk is null)
            {
                continue;
            }
            var builtForIt = package.Kind != PackageKind.Trunk && string.Equals(package.Manifest.Trunk?.Id, trunk.Id, StringComparison.OrdinalIgnoreCase);
            if (!builtForIt && !key.Scopes.Contains(ApiKeyService.Admin) && !(await store.GetOwnersAsync(trunk.Id, cancel)).Contains(key.User))
            {
                return $"the prefix '{trunk.Id}.' is reserved to the owners of trunk {trunk.Id}: only its language and task packages are published there by others";
            }
        }
        return null;
    }

    /// <summary>
    /// Removes what a crash left in storage: half-copied blobs (*.tmp) and blobs without an index
    /// row (killed between the copy and the commit). Run at start, before requests are served.
    /// </summary>
    public async Task<int> SweepAsync(CancellationToken cancel)
    {
        var removed = 0;
        await foreach (var entry in blobs.ListAsync("packages", cancel))
        {
            var path = entry.Path;
            var parts = path.Split('/');
            var orphan = path.EndsWith(".tmp", StringComparison.Ordinal)
                || (parts.Length == 4 && path.EndsWith(".nupkg", StringComparison.Ordinal) && await store.GetAsync(parts[1], parts[2], cancel) is null);
            if (orphan)
            {
                await blobs.DeleteAsync(path, cancel);
                removed++;
            }
        }
        return removed;
    }

    /// <summary>Who owns an id; null when there is no such package.</summary>
    public async Task<IReadOnlyList<string>?> OwnersAsync(string id, CancellationToken cancel)
    {
        var owners = await store.GetOwnersAsync(id, cancel);
        return owners.Count == 0 ? null : owners;
    }

    /// <summary>
    /// Adds or removes an owner: an owner's key with push scope, or an admin key (an unlist-only key
    /// may not hand out the package). The last owner stays.
    /// </summary>
    public async Task<OwnerResult> ChangeOwnerAsync(string id, string owner, bool add, ApiKeyRecord? caller, CancellationToken cancel)
    {
        if (caller is null)
        {
            return OwnerResult.Unauthorized;
        }
        var owners = await store.GetOwnersAsync(id, cancel);
        if (owners.Count == 0)
        {
            return OwnerResult.NotFound;
        }
        var admin = caller.Scopes.Contains(ApiKeyService.Admin);
        if (!admin && !(owners.Contains(caller.User) && caller.Scopes.Contains(ApiKeyService.Push)))
        {
            return OwnerResult.Forbidden;
        }
        if (add)
        {
            await store.AddOwnerAsync(id, owner, cancel);
            return OwnerResult.Done;
        }
        if (!owners.Contains(owner))
        {
            return OwnerResult.NotFound;
        }
        if (owners.Count == 1)
        {
            return OwnerResult.LastOwner;
        }
        await store.RemoveOwnerAsync(id, owner, cancel);
        return OwnerResult.Done;
    }

    /// <summary>Unlists or relists a version: owners with an unlist or push key, or admins.</summary>
    public async Task<ListingResult> SetListedAsync(string id, string version, bool listed, string? apiKey, CancellationToken cancel)
    {
        var key = await keys.AuthenticateAsync(apiKey, cancel);
        if (key is null)
        {
            return ListingResult.Unauthorized;
        }
        var package = await store.GetAsync(id, Normalize(version), cancel);
        if (package is null)
        {
            return ListingResult.NotFound;
        }
        var owners = await store.GetOwnersAsync(package.Id, cancel);
        if (!key.Scopes.Contains(ApiKeyService.Admin) && !(owners.Contains(key.User) && (key.Scopes.Contains(ApiKeyService.Unlist) || key.Scopes.Contains(ApiKeyService.Push))))
        {
            return ListingResult.Forbidden;
        }
        await store.SetListedAsync(package.Id, package.Version, listed, cancel);
        return ListingResult.Done;
    }

    /// <summary>The package file, counting the download (not for HEAD); null when there is no such version.</summary>
    public async Task<Stream?> DownloadAsync(string id, string version, CancellationToken cancel, bool count = true)
    {
        var package = await store.GetAsync(id, Normalize(version), cancel);
        if (package is null)
        {
            return null;
        }
        var stream = await blobs.GetAsync(BlobPath(package.Id, package.Version), cancel);
        if (stream is not null && count)
        {
            try
            {
                await store.AddDownloadAsync(package.Id, package.Version, cancel);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A counter is not worth a failed download (a full disk, a locked index): serve the file uncounted.
            }
        }
        return stream;
    }

    /// <summary>A version's record and its blob's path (for serving the file as it lies); null when there is no such version.</summary>
    public async Task<(PackageRecord Package, string Blob)?> FindDownloadAsync(string id, string version, CancellationToken cancel) =>
        await store.GetAsync(id, Normalize(version), cancel) is { } package ? (package, BlobPath(package.Id, package.Version)) : null;

    /// <summary>Counts one download; a counter is not worth a failed download, so a failure to count is ignored.</summary>
    public async Task CountDownloadAsync(PackageRecord package, CancellationToken cancel)
    {
        try
        {
            await store.AddDownloadAsync(package.Id, package.Version, cancel);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A full disk, a locked index: serve the file uncounted.
        }
    }

    public static string Normalize(string version) => NuGetVersion.TryParse(version, out var v) ? v.ToNormalizedString() : version;

    private static PackageRecord ToRecord(ValidatedPackage p, Stream file, string publisher)
    {
        var m = p.Manifest;
        string? readme = null;
        string? configJson = null;
        string? weightsSha = null;
        file.Position = 0;
        using (var zip = new System.IO.Compression.ZipArchive(file, System.IO.Compression.ZipArchiveMode.Read, leaveOpen: true))
        {
            string? Text(string name)
            {
                var e = zip.GetEntry(NupkgWriter.ContentRoot + name);
                if (e is null || e.Length > 1_000_000)
                {
                    return null;
                }
                using var r = new StreamReader(e.Open());
                return r.ReadToEnd();
            }
            readme = Text("README.md");
            if (p.Kind == PackageKind.Trunk)
            {
                configJson = Text("config.json");
                weightsSha = m.Files.First(f => f.Path == "trunk.safetensors").Sha256;
            }
        }
        return new PackageRecord
        {
            Id = p.Id,
            Version = p.Version.ToNormalizedString(),
            Kind = p.Kind,
            IsPrerelease = p.Version.IsPrerelease,
            Published = DateTimeOffset.UtcNow,
            Description = p.Description,
            Authors = p.Authors,
            Tags = string.Join(' ', p.Tags),
            ManifestJson = JsonSerializer.Serialize(m),
            Readme = readme,
            TrunkId = p.Kind == PackageKind.Trunk ? p.Id : m.Trunk?.Id,
            TrunkSha256 = p.Kind == PackageKind.Trunk ? weightsSha : m.Trunk?.Sha256,
            ConfigJson = configJson,
            WeightsSha256 = weightsSha,
            LanguageCode = m.Language?.Code,
            Bcp47 = m.Language?.Bcp47,
            Iso6393 = m.Language?.Iso6393,
            EnglishName = m.Language?.EnglishName,
            Autonym = m.Language?.Autonym,
            Script = m.Language?.Script,
            Family = m.Language?.Family,
            Perplexity = m.Metrics.TryGetValue("heldout_perplexity", out var ppl) ? ppl : null,
            Size = p.Size,
            Sha256 = p.Sha256,
            Publisher = publisher,
        };
    }

    /// <summary>The trunk a non-trunk package names, read leniently (validation reports problems properly).</summary>
    private static TrunkReference? TryReadTrunkReference(Stream file)
    {
        try
        {
            file.Position = 0;
            using var zip = new System.IO.Compression.ZipArchive(file, System.IO.Compression.ZipArchiveMode.Read, leaveOpen: true);
            var entry = zip.GetEntry(NupkgWriter.ContentRoot + PackageManifest.FileName);
            if (entry is null || entry.Length > 10_000_000)
            {
                return null;
            }
            using var s = entry.Open();
            return JsonSerializer.Deserialize<PackageManifest>(s)?.Trunk;
        }
        catch (Exception e) when (e is InvalidDataException or JsonException or IOException or NotSupportedException or ArgumentException)
        {
            return null;
        }
        finally
        {
            file.Position = 0;
        }
    }
}
