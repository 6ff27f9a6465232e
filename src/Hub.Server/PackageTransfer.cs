using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using XMod.Packaging.Nupkg;
using XModHub.Core;

namespace XModHub.Server;

/// <summary>
/// The two routes that move whole packages: the push (body to a spooled file, hashed on the way,
/// within the configured limit) and the download (the stored file as it lies, with HEAD, ranges
/// and the package's sha256 as its ETag).
/// </summary>
internal static class PackageTransfer
{
    /// <summary>Room for the multipart framing around the package.</summary>
    private const long Framing = 1 << 20;

    /// <summary>Bodies up to this size are drained before a refusal; larger ones are not read at all.</summary>
    private const long RefusalDrainBytes = 8 << 20;

    /// <summary>
    /// The key is checked before a byte of the body is read; then the body limit is raised to the
    /// package limit for this request only, and the first file part is spooled (no form buffering:
    /// no 128 MiB multipart cap, no spool file in /tmp, never the whole body in memory).
    /// </summary>
    public static async Task<IResult> Push(HttpRequest request, PackageService service, PackageLimits limits, PushOptions push, CancellationToken cancel)
    {
        var (key, refused) = await service.AuthorizePushAsync(request.Headers["X-NuGet-ApiKey"].FirstOrDefault(), cancel);
        if (refused is not null)
        {
            // A small body is read and dropped first: a client that sends without Expect:
            // 100-continue then sees the answer instead of a connection reset mid-upload.
            if (request.ContentLength is { } length && length <= RefusalDrainBytes)
            {
                if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } drain)
                {
                    drain.MaxRequestBodySize = RefusalDrainBytes;
                }
                await request.Body.CopyToAsync(Stream.Null, cancel);
            }
            return Outcome(refused);
        }
        if (request.ContentLength > limits.MaxPackageBytes + Framing)
        {
            return TooLarge(limits);
        }
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limits.MaxPackageBytes + Framing;
        }
        try
        {
            var body = request.Body;
            if (request.HasFormContentType)
            {
                var boundary = MediaTypeHeaderValue.TryParse(request.ContentType, out var type) ? HeaderUtilities.RemoveQuotes(type.Boundary).Value : null;
                if (string.IsNullOrEmpty(boundary))
                {
                    return Results.BadRequest("the multipart body has no boundary");
                }
                var reader = new MultipartReader(boundary, request.Body) { BodyLengthLimit = limits.MaxPackageBytes + Framing };
                MultipartSection? file = null;
                for (var section = await reader.ReadNextSectionAsync(cancel); section is not null && file is null; section = file is null ? await reader.ReadNextSectionAsync(cancel) : null)
                {
                    if (ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition) && disposition.IsFileDisposition())
                    {
                        file = section;
                    }
                }
                if (file is null)
                {
                    return Results.BadRequest("the request holds no package (multipart/form-data with the .nupkg as its first file part)");
                }
                body = file.Body;
            }
            await using var received = await ReceivedPackage.ReceiveAsync(body, push.TempDirectory, limits.MaxPackageBytes, cancel);
            return received is null ? TooLarge(limits) : Outcome(await service.PushAsync(received, key!, cancel));
        }
        catch (IOException e) when (PackageService.IsDiskFull(e))
        {
            return Results.Text("the hub's disk is full: nothing was stored; try again later (and tell the hub's operator)", statusCode: StatusCodes.Status507InsufficientStorage);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge(limits);
        }
        catch (BadHttpRequestException e)
        {
            return Results.Text(e.Message, statusCode: e.StatusCode);
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            return Results.BadRequest($"the upload could not be read (a malformed multipart body or a broken connection): {e.Message}");
        }
    }

    private static IResult TooLarge(PackageLimits limits) =>
        Results.Text(PackageService.TooLargeMessage(limits.MaxPackageBytes), statusCode: StatusCodes.Status413PayloadTooLarge);

    public static IResult Outcome(PushOutcome outcome) => outcome.Status switch
    {
        PushStatus.Created => Results.Text(outcome.Message, statusCode: StatusCodes.Status201Created),
        PushStatus.Invalid => Results.Text(outcome.Message, statusCode: StatusCodes.Status400BadRequest),
        PushStatus.Unauthorized => Results.Text(outcome.Message, statusCode: StatusCodes.Status401Unauthorized),
        PushStatus.Forbidden => Results.Text(outcome.Message, statusCode: StatusCodes.Status403Forbidden),
        PushStatus.InsufficientStorage => Results.Text(outcome.Message, statusCode: StatusCodes.Status507InsufficientStorage),
        PushStatus.TooLarge => Results.Text(outcome.Message, statusCode: StatusCodes.Status413PayloadTooLarge),
        _ => Results.Text(outcome.Message, statusCode: StatusCodes.Status409Conflict),
    };

    /// <summary>
    /// The package file: from the file system as it lies (the server's file sender, no managed
    /// stream in between), else the store's stream. ETag = the package's sha256 (strong: the bytes
    /// never change under a version), Accept-Ranges, single ranges with If-Range, HEAD without a
    /// body, 304 on If-None-Match. A download is counted once: a GET from the first byte.
    /// </summary>
    public static async Task<IResult> Download(string id, string version, HttpRequest request, PackageService service, IBlobStorage blobs,
        DownloadOptions options, CancellationToken cancel)
    {
        if (await service.FindDownloadAsync(id, version, cancel) is not { } found)
        {
            return Results.NotFound();
        }
        var etag = new EntityTagHeaderValue($"\"{found.Package.Sha256}\"");
        IResult result;
        if (blobs is ILocalBlobStorage local && local.LocalPath(found.Blob) is { } path)
        {
            // Handed to nginx only when nginx asked for it (its proxy_set_header X-Sendfile-Type, the
            // convention Rack::Sendfile uses): a client reaching the hub directly still gets the file.
            // And only a blob path nginx needs no decoding for (ids and versions always are).
            if (options.AccelRedirectPrefix is { } prefix
                && string.Equals(request.Headers["X-Sendfile-Type"].ToString(), "X-Accel-Redirect", StringComparison.OrdinalIgnoreCase)
                && System.Text.RegularExpressions.Regex.IsMatch(found.Blob, "^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")
                && !found.Blob.Split('/').Any(segment => segment is "." or ".."))
            {
                if (NotModified(request, etag.Tag.Value!))
                {
                    request.HttpContext.Response.Headers.ETag = etag.Tag.Value;
                    return Results.StatusCode(StatusCodes.Status304NotModified);
                }
                result = new AccelRedirect(prefix + found.Blob, etag.Tag.Value!);
            }
            else
            {
                result = Results.File(path, "application/octet-stream", entityTag: etag, enableRangeProcessing: true);
            }
        }
        else if (await blobs.GetAsync(found.Blob, cancel) is { } stream)
        {
            // Ranges where the store's stream can seek; otherwise the whole file (clients fall back to that).
            result = Results.Stream(stream, "application/octet-stream", entityTag: etag, enableRangeProcessing: true);
        }
        else
        {
            return Results.NotFound();
        }
        if (HttpMethods.IsGet(request.Method) && WholeFile(request, etag.Tag.Value!))
        {
            await service.CountDownloadAsync(found.Package, cancel);
        }
        return result;
    }

    /// <summary>If-None-Match names this ETag (or *): the client has these bytes.</summary>
    private static bool NotModified(HttpRequest request, string etag) =>
        request.Headers.IfNoneMatch.ToString() is { Length: > 0 } inm
        && inm.Split(',').Select(t => t.Trim()).Any(t => t == "*" || t == etag || t == "W/" + etag);

    /// <summary>
    /// The answer that hands the file to nginx (X-Accel-Redirect to an internal location aliased to
    /// the storage root): nginx sends it with sendfile and does ranges and HEAD itself. The ETag rides
    /// along as a header the nginx location copies back (<c>add_header ETag $upstream_http_etag</c>),
    /// which is also what its If-Range check compares.
    /// </summary>
    private sealed class AccelRedirect(string uri, string etag) : IResult
    {
        public Task ExecuteAsync(HttpContext context)
        {
            var response = context.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/octet-stream";
            response.Headers["X-Accel-Redirect"] = uri;
            response.Headers.ETag = etag;
            response.ContentLength = 0; // nginx adds Accept-Ranges itself
            return Task.CompletedTask;
        }
    }

    /// <summary>
    /// Whether this GET sends the file from its first byte: no Range, a Range from byte 0, or an
    /// If-Range on another ETag (the whole file then). A resumed download is not a second download.
    /// </summary>
    private static bool WholeFile(HttpRequest request, string etag)
    {
        var range = request.Headers.Range.ToString();
        var ifRange = request.Headers.IfRange.ToString();
        return range.Length == 0 || (ifRange.Length > 0 && ifRange != etag)
            || range.Replace(" ", "", StringComparison.Ordinal).StartsWith("bytes=0-", StringComparison.OrdinalIgnoreCase);
    }
}

/// <summary>
/// Hub:AccelRedirectPrefix — set when the hub runs behind nginx: downloads of stored packages that
/// come through nginx (it sends X-Sendfile-Type: X-Accel-Redirect) are answered with X-Accel-Redirect
/// to this internal nginx location (aliased to Storage:Path), so nginx sends the file itself. Only the
/// file-system store has files nginx can read.
/// </summary>
public sealed record DownloadOptions(string? AccelRedirectPrefix)
{
    public static DownloadOptions From(string? prefix, string storageType)
    {
        if (string.IsNullOrEmpty(prefix))
        {
            return new DownloadOptions((string?)null);
        }
        if (!System.Text.RegularExpressions.Regex.IsMatch(prefix, "^/([A-Za-z0-9_-]+/)+$"))
        {
            // The value is shown with control characters escaped, so that the error stays one line.
            var shown = string.Concat(prefix.Select(c => char.IsControl(c) ? $"\\x{(int)c:x2}" : c.ToString()));
            throw new XMod.XModException($"Hub:AccelRedirectPrefix '{shown}' is not an nginx location path: give one like /_stored/ (letters, digits, _ and -, between slashes)");
        }
        if (!string.Equals(storageType, "FileSystem", StringComparison.OrdinalIgnoreCase))
        {
            throw new XMod.XModException($"Hub:AccelRedirectPrefix needs Storage:Type FileSystem (nginx serves the stored files from disk); it is {storageType}: remove the setting");
        }
        return new DownloadOptions(prefix);
    }
}
