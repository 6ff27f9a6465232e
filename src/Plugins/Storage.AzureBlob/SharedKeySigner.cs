using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace XModHub.Plugins.Storage.AzureBlob;

/// <summary>
/// Shared Key authorisation of Blob service requests (version 2015-02-21 and later): the request's
/// verb, standard headers, x-ms-* headers and resource are canonicalised and signed with HMAC-SHA256
/// of the account key, sent as <c>Authorization: SharedKey account:signature</c>.
/// </summary>
internal static class SharedKeySigner
{
    public static void Sign(HttpRequestMessage request, BlobAccount account)
    {
        var content = request.Content?.Headers;
        var length = content?.ContentLength;
        var sb = new StringBuilder();
        sb.Append(request.Method.Method).Append('\n');
        sb.Append(Join(content?.ContentEncoding)).Append('\n');
        sb.Append(Join(content?.ContentLanguage)).Append('\n');
        // Since 2015-02-21 a zero Content-Length is signed as the empty string.
        sb.Append(length is null or 0 ? "" : length.Value.ToString(CultureInfo.InvariantCulture)).Append('\n');
        sb.Append(content?.ContentMD5 is { } md5 ? Convert.ToBase64String(md5) : "").Append('\n');
        sb.Append(content?.ContentType?.ToString() ?? "").Append('\n');
        sb.Append('\n'); // Date: x-ms-date is sent instead
        sb.Append(Header(request, "If-Modified-Since")).Append('\n');
        sb.Append(Header(request, "If-Match")).Append('\n');
        sb.Append(Header(request, "If-None-Match")).Append('\n');
        sb.Append(Header(request, "If-Unmodified-Since")).Append('\n');
        sb.Append(Header(request, "Range")).Append('\n');
        foreach (var (name, value) in request.Headers
                     .Where(h => h.Key.StartsWith("x-ms-", StringComparison.OrdinalIgnoreCase))
                     .Select(h => (Name: h.Key.ToLowerInvariant(), Value: string.Join(",", h.Value.Select(v => v.Trim()))))
                     .OrderBy(h => h.Name, StringComparer.Ordinal))
        {
            sb.Append(name).Append(':').Append(value).Append('\n');
        }
        sb.Append(CanonicalizedResource(request.RequestUri!, account.Name));
        var signature = Convert.ToBase64String(HMACSHA256.HashData(account.Key, Encoding.UTF8.GetBytes(sb.ToString())));
        request.Headers.Authorization = new AuthenticationHeaderValue("SharedKey", $"{account.Name}:{signature}");
    }

    /// <summary>"/account/encoded-path" then "\nname:value" per query parameter, names lower-cased and sorted, values decoded.</summary>
    internal static string CanonicalizedResource(Uri uri, string accountName)
    {
        // For path-style endpoints (Azurite: /devstoreaccount1/container/blob) the account name
        // appears twice, which is what the service expects.
        var sb = new StringBuilder("/").Append(accountName).Append(uri.AbsolutePath);
        var query = uri.Query.TrimStart('?');
        if (query.Length > 0)
        {
            var parameters = query.Split('&', StringSplitOptions.RemoveEmptyEntries)
                .Select(p => p.Split('=', 2))
                .GroupBy(p => Uri.UnescapeDataString(p[0]).ToLowerInvariant(), p => p.Length > 1 ? Uri.UnescapeDataString(p[1]) : "")
                .OrderBy(g => g.Key, StringComparer.Ordinal);
            foreach (var g in parameters)
            {
                sb.Append('\n').Append(g.Key).Append(':').Append(string.Join(",", g.Order(StringComparer.Ordinal)));
            }
        }
        return sb.ToString();
    }

    private static string Join(ICollection<string>? values) => values is null || values.Count == 0 ? "" : string.Join(",", values);

    private static string Header(HttpRequestMessage request, string name) =>
        request.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : "";
}
