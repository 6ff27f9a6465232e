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

/// <summary>
/// Push, unlist, relist, download and ownership, over the narrow stores (an endpoint makes one call
/// here). The policy is all here: first publisher owns, reserved prefixes, who may do what (via
/// <see cref="KeyPolicy"/>); stores only keep rows.
/// </summary>
public sealed class PackageService(IPackageIndex index, IOwnerStore owners, IBlobStorage blobs, ApiKeyService keys, PackageLimits limits, PushOptions options)
{
    /// <summary>Where versions stored before push-unique blob names live (their rows have no <see cref="PackageRecord.BlobPath"/>).</summary>
    public static string LegacyBlobPath(string id, string version) =>
        $"packages/{id.ToLowerInvariant()}/{version.ToLowerInvariant()}/{id.ToLowerInvariant()}.{version.ToLowerInvariant()}.nupkg";

    /// <summary>A blob name no other push uses: concurrent pushes of one version never write the same blob.</summary>
    public static string UniqueBlobPath(string id, string version) =>
        $"packages/{id.ToLowerInvariant()}/{version.ToLowerInvariant()}/{id.ToLowerInvariant()}.{version.ToLowerInvariant()}.{Guid.NewGuid():N}.nupkg";

    /// <summary>The stored file of a version.</summary>
    public static string BlobPathOf(PackageRecord package) => package.BlobPath ?? LegacyBlobPath(package.Id, package.Version);

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
        if (!KeyPolicy.CanPush(key))
        {
            return (null, new PushOutcome(PushStatus.Forbidden, "the API key may not push packages"));
        }
        return (key, null);
    }

    /// <summary>Pushes for an authorized key (see <see cref="AuthorizePushAsync"/>): spools the upload (hashed on the way), then publishes that.</summary>
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
            return DiskFull();
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
    /// Publishes a package already spooled and hashed (the server's receive path): validation reads
    /// each entry once and trusts the hash computed on the way in; a file-system store takes the
    /// file over by renaming it instead of copying it.
    /// </summary>
    public Task<PushOutcome> PushAsync(ReceivedPackage received, ApiKeyRecord key, CancellationToken cancel) =>
        PublishAsync(received.File, key, cancel, received.Sha256, received.Path);

    /// <summary>
    /// Publishes a package the caller has spooled (seekable, read from position 0, its length the
    /// package's size) for an authorized key. Validation reads it completely; then the blob is
    /// written under a name unique to this push, and the index row added second: a version is
    /// visible only once its file is complete, a conflict (another push won) deletes this push's
    /// blob, and what a killed instance leaves between the two is a blob without a row, which
    /// <see cref="OrphanSweeper"/> removes.
    /// </summary>
    /// <param name="sha256">The package's sha256 when it was computed while spooling (else validation computes it).</param>
    /// <param name="spooledPath">The file <paramref name="package"/> reads, which a local store may take over by renaming.</param>
    public async Task<PushOutcome> PublishAsync(Stream package, ApiKeyRecord key, CancellationToken cancel, string? sha256 = null, string? spooledPath = null)
    {
        if (package.Length > limits.MaxPackageBytes)
        {
            return new PushOutcome(PushStatus.TooLarge, TooLargeMessage(limits.MaxPackageBytes));
        }
        ValidatedPackage validated;
        try
        {
            var trunkRef = TryReadTrunkReference(package);
            var trunk = trunkRef?.Id is null || trunkRef.Sha256 is null ? null : await index.FindTrunkAsync(trunkRef.Id, trunkRef.Sha256, cancel);
            var config = trunk?.ConfigJson is { } json ? JsonSerializer.Deserialize<XModConfig>(json) : null;
            validated = PackageValidator.Validate(package, limits, r => trunkRef is not null && r.Id == trunkRef.Id && r.Sha256 == trunkRef.Sha256 ? config : null, sha256);
        }
        catch (PackageValidationException e)
        {
            return new PushOutcome(PushStatus.Invalid, e.Message);
        }
        if (await ReservedPrefixAsync(validated, key, cancel) is { } reserved)
        {
            return new PushOutcome(PushStatus.Forbidden, reserved);
        }
        var record = ToRecord(validated, package, key.User);
        // A case variant of an existing id keeps the first casing (ids are case-insensitive, as NuGet's).
        if ((await index.GetVersionsAsync(record.Id, includeUnlisted: true, cancel)).FirstOrDefault() is { } first)
        {
            record = record with { Id = first.Id };
        }
        // First publisher owns: a new id is claimed before anything is stored (two first pushes racing: one claim wins).
        var claim = await owners.ClaimAsync(record.Id, key.User, cancel);
        if (claim == ClaimResult.OwnedByOthers)
        {
            return new PushOutcome(PushStatus.Forbidden, $"{record.Id} belongs to other owners; ask one of them to add you");
        }
        // The common conflict answered before the upload is stored; the index's add is what guarantees it.
        if (await index.GetAsync(record.Id, record.Version, cancel) is not null)
        {
            return Conflict(record);
        }
        var blobPath = UniqueBlobPath(record.Id, record.Version);
        record = record with { BlobPath = blobPath };
        AddResult added;
        try
        {
            package.Position = 0;
            await (blobs is ILocalBlobStorage local && spooledPath is not null
                ? local.PutFileAsync(blobPath, spooledPath, overwrite: false, cancel)
                : blobs.PutAsync(blobPath, package, overwrite: false, cancel));
            added = await index.AddAsync(record, cancel);
        }
        catch (Exception e)
        {
            await UndoAsync(record, claim);
            if (e is IOException && IsDiskFull(e))
            {
                return DiskFull();
            }
            throw;
        }
        if (added == AddResult.AlreadyExists)
        {
            await UndoAsync(record, claim);
            return Conflict(record);
        }
        return new PushOutcome(PushStatus.Created, $"{record.Id} {record.Version} published", record);
    }

    private static PushOutcome Conflict(PackageRecord record) =>
        new(PushStatus.Conflict, $"{record.Id} {record.Version} already exists; published versions are never overwritten (push a new version)");

    private static PushOutcome DiskFull() =>
        new(PushStatus.InsufficientStorage, "the hub's disk is full: nothing was stored; try again later (and tell the hub's operator)");

    /// <summary>After a lost race or a failure: this push's blob goes, and a claim no version came of is dropped. Best effort (the sweeper finishes it).</summary>
    private async Task UndoAsync(PackageRecord record, ClaimResult claim)
    {
        await TryAsync(() => blobs.DeleteAsync(record.BlobPath!, CancellationToken.None));
        if (claim == ClaimResult.Claimed)
        {
            await TryAsync(async () =>
            {
                if ((await index.GetVersionsAsync(record.Id, includeUnlisted: true, CancellationToken.None)).Count == 0)
                {
                    await owners.ReleaseClaimAsync(record.Id, record.Publisher, CancellationToken.None);
                }
            });
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
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Best effort: the orphan sweeper removes a blob left behind.
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
            var trunk = (await index.GetVersionsAsync(prefix, includeUnlisted: true, cancel)).FirstOrDefault(v => v.Kind == PackageKind.Trunk);
            if (trunk is null)
            {
                continue;
            }
            var builtForIt = package.Kind != PackageKind.Trunk && string.Equals(package.Manifest.Trunk?.Id, trunk.Id, StringComparison.OrdinalIgnoreCase);
            if (!builtForIt && !KeyPolicy.MayUseReservedPrefix(key, await owners.GetOwnersAsync(trunk.Id, cancel)))
            {
                return $"the prefix '{trunk.Id}.' is reserved to the owners of trunk {trunk.Id}: only its language and task packages are published there by others";
            }
        }
        return null;
    }

    /// <summary>Who owns an id; null when there is no such package.</summary>
    public async Task<IReadOnlyList<string>?> OwnersAsync(string id, CancellationToken cancel)
    {
        var current = await owners.GetOwnersAsync(id, cancel);
        return current.Count == 0 ? null : current;
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
        var current = await owners.GetOwnersAsync(id, cancel);
        if (current.Count == 0)
        {
            return OwnerResult.NotFound;
        }
        if (!KeyPolicy.CanManageOwners(caller, current))
        {
            return OwnerResult.Forbidden;
        }
        if (add)
        {
            await owners.AddOwnerAsync(id, owner, cancel);
            return OwnerResult.Done;
        }
        return await owners.RemoveOwnerAsync(id, owner, cancel) switch
        {
            RemoveOwnerResult.Removed => OwnerResult.Done,
            RemoveOwnerResult.LastOwner => OwnerResult.LastOwner,
            _ => OwnerResult.NotFound,
        };
    }

    /// <summary>Unlists or relists a version: owners with an unlist or push key, or admins.</summary>
    public async Task<ListingResult> SetListedAsync(string id, string version, bool listed, string? apiKey, CancellationToken cancel)
    {
        var key = await keys.AuthenticateAsync(apiKey, cancel);
        if (key is null)
        {
            return ListingResult.Unauthorized;
        }
        var package = await index.GetAsync(id, Normalize(version), cancel);
        if (package is null)
        {
            return ListingResult.NotFound;
        }
        if (!KeyPolicy.CanChangeListing(key, await owners.GetOwnersAsync(package.Id, cancel)))
        {
            return ListingResult.Forbidden;
        }
        await index.SetListedAsync(package.Id, package.Version, listed, cancel);
        return ListingResult.Done;
    }

    /// <summary>The package file, counting the download (not for HEAD); null when there is no such version.</summary>
    public async Task<Stream?> DownloadAsync(string id, string version, CancellationToken cancel, bool count = true)
    {
        var package = await index.GetAsync(id, Normalize(version), cancel);
        if (package is null)
        {
            return null;
        }
        var stream = await blobs.GetAsync(BlobPathOf(package), cancel);
        if (stream is not null && count)
        {
            try
            {
                await index.AddDownloadAsync(package.Id, package.Version, cancel);
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
        await index.GetAsync(id, Normalize(version), cancel) is { } package ? (package, BlobPathOf(package)) : null;

    /// <summary>Counts one download; a counter is not worth a failed download, so a failure to count is ignored.</summary>
    public async Task CountDownloadAsync(PackageRecord package, CancellationToken cancel)
    {
        try
        {
            await index.AddDownloadAsync(package.Id, package.Version, cancel);
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
