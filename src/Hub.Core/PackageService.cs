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
public sealed class PackageService(IMetadataStore store, IBlobStorage blobs, ApiKeyService keys, PackageLimits limits)
{
    public static string BlobPath(string id, string version) =>
        $"packages/{id.ToLowerInvariant()}/{version.ToLowerInvariant()}/{id.ToLowerInvariant()}.{version.ToLowerInvariant()}.nupkg";

    /// <summary>
    /// Validates the upload completely, then adds it in one transaction; the blob is written
    /// before the row commits, so an index entry never points at a missing file.
    /// </summary>
    public async Task<PushOutcome> PushAsync(Stream upload, string? apiKey, CancellationToken cancel)
    {
        var key = await keys.AuthenticateAsync(apiKey, cancel);
        if (key is null)
        {
            return new PushOutcome(PushStatus.Unauthorized, apiKey is null ? "an API key is required (X-NuGet-ApiKey)" : "the API key is not valid");
        }
        if (!key.Scopes.Contains(ApiKeyService.Push) && !key.Scopes.Contains(ApiKeyService.Admin))
        {
            return new PushOutcome(PushStatus.Forbidden, "the API key may not push packages");
        }
        var temp = Path.Combine(Path.GetTempPath(), $"xmod-hub-push-{Guid.NewGuid():N}.nupkg");
        try
        {
            await using var file = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
            var copied = await CopyLimitedAsync(upload, file, limits.MaxPackageBytes, cancel);
            if (copied < 0)
            {
                return new PushOutcome(PushStatus.Invalid, $"the package exceeds the {limits.MaxPackageBytes:N0}-byte limit");
            }
            ValidatedPackage package;
            try
            {
                var trunkRef = TryReadTrunkReference(file);
                var trunk = trunkRef is null ? null : await store.FindTrunkAsync(trunkRef.Id, trunkRef.Sha256, cancel);
                var config = trunk?.ConfigJson is { } json ? JsonSerializer.Deserialize<XModConfig>(json) : null;
                package = PackageValidator.Validate(file, limits, r => trunkRef is not null && r.Id == trunkRef.Id && r.Sha256 == trunkRef.Sha256 ? config : null);
            }
            catch (PackageValidationException e)
            {
                return new PushOutcome(PushStatus.Invalid, e.Message);
            }
            var record = ToRecord(package, file, key.User);
            var result = await store.AddAsync(record, async ct =>
            {
                file.Position = 0;
                await blobs.PutAsync(BlobPath(record.Id, record.Version), file, overwrite: true, ct);
            }, cancel);
            return result switch
            {
                AddResult.Added => new PushOutcome(PushStatus.Created, $"{record.Id} {record.Version} published", record),
                AddResult.AlreadyExists => new PushOutcome(PushStatus.Conflict, $"{record.Id} {record.Version} already exists; published versions are never overwritten (push a new version)"),
                _ => new PushOutcome(PushStatus.Forbidden, $"{record.Id} belongs to other owners; ask one of them to add you"),
            };
        }
        finally
        {
            File.Delete(temp);
        }
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

    /// <summary>The package file, counting the download; null when there is no such version.</summary>
    public async Task<Stream?> DownloadAsync(string id, string version, CancellationToken cancel)
    {
        var package = await store.GetAsync(id, Normalize(version), cancel);
        if (package is null)
        {
            return null;
        }
        var stream = await blobs.GetAsync(BlobPath(package.Id, package.Version), cancel);
        if (stream is not null)
        {
            await store.AddDownloadAsync(package.Id, package.Version, cancel);
        }
        return stream;
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
        catch (Exception e) when (e is InvalidDataException or JsonException or IOException)
        {
            return null;
        }
        finally
        {
            file.Position = 0;
        }
    }

    private static async Task<long> CopyLimitedAsync(Stream source, Stream target, long limit, CancellationToken cancel)
    {
        var buffer = new byte[1 << 16];
        long total = 0;
        int n;
        while ((n = await source.ReadAsync(buffer, cancel)) > 0)
        {
            total += n;
            if (total > limit)
            {
                return -1;
            }
            await target.WriteAsync(buffer.AsMemory(0, n), cancel);
        }
        await target.FlushAsync(cancel);
        target.Position = 0;
        return total;
    }
}
