using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Xml.Linq;
using XModHub.Core;

namespace XModHub.Plugins.Storage.AzureBlob;

/// <summary>The service answered with a status the operation does not expect.</summary>
public sealed class BlobServiceException(HttpStatusCode status, string? errorCode, string message) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;

    /// <summary>The service's x-ms-error-code (AuthenticationFailed, ContainerNotFound, ...), when it sent one.</summary>
    public string? ErrorCode { get; } = errorCode;
}

/// <summary>
/// The few Blob service operations the hub needs, over HTTP with Shared Key authorisation. Shaped
/// like Azure.Storage.Blobs' container client (create-if-not-exists, upload with a no-overwrite
/// condition, ranged download, delete-if-exists, paged listing) so the SDK can take its place.
/// </summary>
public sealed class BlobRestClient : IDisposable
{
    /// <summary>The REST API version we speak (x-ms-version).</summary>
    public const string ApiVersion = "2023-11-03";

    private readonly HttpClient _http;
    private readonly BlobAccount _account;

    public BlobRestClient(BlobAccount account, HttpMessageHandler? handler = null)
    {
        _account = account;
        // A package upload may take long; callers cancel through their tokens instead.
        _http = new HttpClient(handler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public BlobAccount Account => _account;

    public void Dispose() => _http.Dispose();

    /// <summary>Creates the container; true when created, false when it was there already.</summary>
    public async Task<bool> CreateContainerIfNotExistsAsync(string container, CancellationToken cancel)
    {
        using var response = await SendAsync(HttpMethod.Put, ContainerUri(container, "restype=container"), null, null, cancel);
        if (response.StatusCode == HttpStatusCode.Created)
        {
            return true;
        }
        if (response.StatusCode == HttpStatusCode.Conflict && ErrorCode(response) == "ContainerAlreadyExists")
        {
            return false;
        }
        throw await FailureAsync(response, $"create container '{container}'", cancel);
    }

    public async Task<bool> ExistsAsync(string container, string blob, CancellationToken cancel)
    {
        using var response = await SendAsync(HttpMethod.Head, BlobUri(container, blob), null, null, cancel);
        return response.StatusCode switch
        {
            HttpStatusCode.OK => true,
            HttpStatusCode.NotFound => false,
            _ => throw await FailureAsync(response, $"check blob '{blob}'", cancel),
        };
    }

    /// <summary>
    /// Uploads a block blob from a stream: one Put Blob when it fits one block, otherwise Put Block per
    /// block (one block in memory at a time) and a Put Block List that commits them all at once. Without
    /// <paramref name="overwrite"/> the write is conditional (If-None-Match: *), so of two uploads racing
    /// to one name exactly one succeeds. Returns false when the blob exists and overwrite is off.
    /// </summary>
    public async Task<bool> UploadAsync(string container, string blob, Stream content, bool overwrite, int blockSize, CancellationToken cancel)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(blockSize);
        try
        {
            var filled = await ReadBlockAsync(content, buffer, blockSize, cancel);
            if (filled < blockSize)
            {
                using var put = await SendAsync(HttpMethod.Put, BlobUri(container, blob), Body(buffer, filled), r =>
                {
                    r.Headers.Add("x-ms-blob-type", "BlockBlob");
                    Condition(r, overwrite);
                }, cancel);
                return await CommittedAsync(put, blob, cancel);
            }
            // Block ids are unique per upload: two instances uploading the same name never mix blocks.
            var upload = Guid.NewGuid().ToString("N");
            var ids = new List<string>();
            while (filled > 0)
            {
                var id = Convert.ToBase64String(Encoding.ASCII.GetBytes($"{upload}-{ids.Count:D6}"));
                using (var block = await SendAsync(HttpMethod.Put, BlobUri(container, blob, $"comp=block&blockid={Uri.EscapeDataString(id)}"), Body(buffer, filled), null, cancel))
                {
                    if (block.StatusCode != HttpStatusCode.Created)
                    {
                        throw await FailureAsync(block, $"upload a block of '{blob}'", cancel);
                    }
                }
                ids.Add(id);
                filled = await ReadBlockAsync(content, buffer, blockSize, cancel);
            }
            var list = new XElement("BlockList", ids.Select(i => new XElement("Latest", i)));
            var xml = Encoding.UTF8.GetBytes("<?xml version=\"1.0\" encoding=\"utf-8\"?>" + list.ToString(SaveOptions.DisableFormatting));
            using var commit = await SendAsync(HttpMethod.Put, BlobUri(container, blob, "comp=blocklist"), Body(xml, xml.Length), r => Condition(r, overwrite), cancel);
            return await CommittedAsync(commit, blob, cancel);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// The blob's content (bytes [offset, offset+length) for a range), streamed as it arrives; null when
    /// it does not exist; empty when the range starts at or past its end.
    /// </summary>
    public async Task<Stream?> DownloadAsync(string container, string blob, (long Offset, long? Length)? range, CancellationToken cancel)
    {
        if (range is { Length: 0 })
        {
            return await ExistsAsync(container, blob, cancel) ? Stream.Null : null;
        }
        var response = await SendAsync(HttpMethod.Get, BlobUri(container, blob), null, r =>
        {
            if (range is { } rg)
            {
                var end = rg.Length is { } l ? (rg.Offset + l - 1).ToString(CultureInfo.InvariantCulture) : "";
                r.Headers.Add("x-ms-range", $"bytes={rg.Offset.ToString(CultureInfo.InvariantCulture)}-{end}");
            }
        }, cancel, HttpCompletionOption.ResponseHeadersRead);
        switch (response.StatusCode)
        {
            case HttpStatusCode.OK or HttpStatusCode.PartialContent:
                // Disposing the content stream returns the connection; the response holds nothing else.
                return await response.Content.ReadAsStreamAsync(cancel);
            case HttpStatusCode.NotFound:
                response.Dispose();
                return null;
            case HttpStatusCode.RequestedRangeNotSatisfiable:
                response.Dispose();
                return Stream.Null;
            default:
                using (response)
                {
                    throw await FailureAsync(response, $"download '{blob}'", cancel);
                }
        }
    }

    public async Task<bool> DeleteIfExistsAsync(string container, string blob, CancellationToken cancel)
    {
        using var response = await SendAsync(HttpMethod.Delete, BlobUri(container, blob), null, r => r.Headers.Add("x-ms-delete-snapshots", "include"), cancel);
        return response.StatusCode switch
        {
            HttpStatusCode.Accepted => true,
            HttpStatusCode.NotFound => false,
            _ => throw await FailureAsync(response, $"delete '{blob}'", cancel),
        };
    }

    /// <summary>List Blobs with a prefix, following NextMarker page by page.</summary>
    public async IAsyncEnumerable<BlobEntry> GetBlobsAsync(string container, string prefix, int pageSize, [EnumeratorCancellation] CancellationToken cancel)
    {
        string? marker = null;
        do
        {
            var query = $"restype=container&comp=list&maxresults={pageSize}";
            if (prefix.Length > 0)
            {
                query += "&prefix=" + Uri.EscapeDataString(prefix);
            }
            if (marker is not null)
            {
                query += "&marker=" + Uri.EscapeDataString(marker);
            }
            XDocument page;
            using (var response = await SendAsync(HttpMethod.Get, ContainerUri(container, query), null, null, cancel))
            {
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    throw await FailureAsync(response, $"list '{prefix}*'", cancel);
                }
                await using var body = await response.Content.ReadAsStreamAsync(cancel);
                page = await XDocument.LoadAsync(body, LoadOptions.None, cancel);
            }
            var root = page.Root!;
            foreach (var b in root.Element("Blobs")?.Elements("Blob") ?? [])
            {
                var properties = b.Element("Properties");
                yield return new BlobEntry(
                    (string)b.Element("Name")!,
                    long.Parse((string?)properties?.Element("Content-Length") ?? "0", CultureInfo.InvariantCulture),
                    DateTimeOffset.Parse((string?)properties?.Element("Last-Modified") ?? "Thu, 01 Jan 1970 00:00:00 GMT", CultureInfo.InvariantCulture));
            }
            marker = (string?)root.Element("NextMarker") is { Length: > 0 } next ? next : null;
        }
        while (marker is not null);
    }

    private Uri ContainerUri(string container, string query) => new($"{_account.Endpoint}/{container}?{query}");

    private Uri BlobUri(string container, string blob, string? query = null) =>
        new($"{_account.Endpoint}/{container}/{string.Join('/', blob.Split('/').Select(Uri.EscapeDataString))}{(query is null ? "" : "?" + query)}");

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri uri, HttpContent? content, Action<HttpRequestMessage>? headers,
        CancellationToken cancel, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        using var request = new HttpRequestMessage(method, uri) { Content = content };
        request.Headers.Add("x-ms-date", DateTimeOffset.UtcNow.ToString("R", CultureInfo.InvariantCulture));
        request.Headers.Add("x-ms-version", ApiVersion);
        headers?.Invoke(request);
        SharedKeySigner.Sign(request, _account);
        return await _http.SendAsync(request, completion, cancel);
    }

    private static HttpContent Body(byte[] buffer, int count)
    {
        var content = new ByteArrayContent(buffer, 0, count);
        content.Headers.ContentLength = count;
        return content;
    }

    private static void Condition(HttpRequestMessage request, bool overwrite)
    {
        if (!overwrite)
        {
            request.Headers.IfNoneMatch.Add(EntityTagHeaderValue.Any);
        }
    }

    private static async Task<bool> CommittedAsync(HttpResponseMessage response, string blob, CancellationToken cancel) => response.StatusCode switch
    {
        HttpStatusCode.Created => true,
        // 409 BlobAlreadyExists or 412 ConditionNotMet: another upload got there first.
        HttpStatusCode.Conflict or HttpStatusCode.PreconditionFailed => false,
        _ => throw await FailureAsync(response, $"upload '{blob}'", cancel),
    };

    private static async Task<int> ReadBlockAsync(Stream content, byte[] buffer, int size, CancellationToken cancel)
    {
        var filled = 0;
        while (filled < size)
        {
            var n = await content.ReadAsync(buffer.AsMemory(filled, size - filled), cancel);
            if (n == 0)
            {
                break;
            }
            filled += n;
        }
        return filled;
    }

    private static string? ErrorCode(HttpResponseMessage response) =>
        response.Headers.TryGetValues("x-ms-error-code", out var values) ? values.FirstOrDefault() : null;

    private static async Task<BlobServiceException> FailureAsync(HttpResponseMessage response, string what, CancellationToken cancel)
    {
        var code = ErrorCode(response);
        var body = response.RequestMessage?.Method == HttpMethod.Head ? "" : await response.Content.ReadAsStringAsync(cancel);
        var message = code ?? (body.Length > 200 ? body[..200] : body);
        return new BlobServiceException(response.StatusCode, code, $"Azure Blob storage could not {what}: {(int)response.StatusCode} {message}".TrimEnd());
    }
}
