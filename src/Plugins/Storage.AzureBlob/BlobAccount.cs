using XMod;

namespace XModHub.Plugins.Storage.AzureBlob;

/// <summary>
/// A storage account as a standard connection string names it
/// (<c>DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...;BlobEndpoint=...;EndpointSuffix=...</c>,
/// or <c>UseDevelopmentStorage=true</c> for a local Azurite).
/// </summary>
public sealed class BlobAccount
{
    /// <summary>The development account every Azurite and storage emulator knows; its key is published by Microsoft.</summary>
    public const string DevelopmentAccountName = "devstoreaccount1";
    public const string DevelopmentAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private BlobAccount(string name, byte[] key, Uri endpoint)
    {
        Name = name;
        Key = key;
        Endpoint = endpoint;
    }

    public string Name { get; }

    internal byte[] Key { get; }

    /// <summary>The blob service endpoint, without a trailing slash in its path (http://127.0.0.1:10000/devstoreaccount1).</summary>
    public Uri Endpoint { get; }

    public override string ToString() => $"{Name} at {Endpoint}";

    /// <summary>Parses a connection string; a wrong one is an <see cref="XModException"/> naming what is wrong (never the key).</summary>
    public static BlobAccount Parse(string connectionString, string setting = "Storage:ConnectionString")
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new XModException($"{setting} is required for the AzureBlob storage (DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...)");
        }
        var parts = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=');
            if (eq <= 0)
            {
                throw new XModException($"{setting} is not a storage connection string: expected Name=Value pairs separated by ';'");
            }
            parts[part[..eq].Trim()] = part[(eq + 1)..].Trim();
        }
        if (parts.TryGetValue("UseDevelopmentStorage", out var dev) && dev.Equals("true", StringComparison.OrdinalIgnoreCase))
        {
            var devEndpoint = parts.GetValueOrDefault("DevelopmentStorageProxyUri") is { Length: > 0 } proxy
                ? $"{proxy.TrimEnd('/')}:10000/{DevelopmentAccountName}"
                : $"http://127.0.0.1:10000/{DevelopmentAccountName}";
            return new BlobAccount(DevelopmentAccountName, Convert.FromBase64String(DevelopmentAccountKey), new Uri(devEndpoint));
        }
        if (!parts.TryGetValue("AccountName", out var name) || name.Length == 0)
        {
            throw new XModException($"{setting} names no AccountName");
        }
        if (!parts.TryGetValue("AccountKey", out var keyText) || keyText.Length == 0)
        {
            throw new XModException($"{setting} has no AccountKey (Shared Key authentication needs the account key)");
        }
        byte[] key;
        try
        {
            key = Convert.FromBase64String(keyText);
        }
        catch (FormatException)
        {
            throw new XModException($"{setting}: the AccountKey is not base64 (copy it from the storage account's access keys)");
        }
        Uri endpoint;
        if (parts.TryGetValue("BlobEndpoint", out var blobEndpoint) && blobEndpoint.Length > 0)
        {
            if (!Uri.TryCreate(blobEndpoint, UriKind.Absolute, out endpoint!) || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps)
                || !string.IsNullOrEmpty(endpoint.Query) || !string.IsNullOrEmpty(endpoint.Fragment))
            {
                throw new XModException($"{setting}: BlobEndpoint '{blobEndpoint}' is not an http(s) address");
            }
        }
        else
        {
            var protocol = parts.GetValueOrDefault("DefaultEndpointsProtocol") ?? "https";
            if (protocol != "https" && protocol != "http")
            {
                throw new XModException($"{setting}: DefaultEndpointsProtocol must be https or http, not '{protocol}'");
            }
            var suffix = parts.GetValueOrDefault("EndpointSuffix") is { Length: > 0 } s ? s : "core.windows.net";
            if (!Uri.TryCreate($"{protocol}://{name}.blob.{suffix}", UriKind.Absolute, out endpoint!))
            {
                throw new XModException($"{setting}: AccountName '{name}' and EndpointSuffix '{suffix}' do not make an address");
            }
        }
        return new BlobAccount(name, key, new Uri(endpoint.GetLeftPart(UriPartial.Path).TrimEnd('/')));
    }
}
