using System.Security.Cryptography;
using System.Text;

namespace XModHub.Core;

/// <summary>
/// API keys: 32 random bytes shown once, stored only as their SHA-256 (a key has 256 bits of
/// entropy, so a fast hash is enough), each with a user and scopes ("push", "unlist", "admin").
/// </summary>
public sealed class ApiKeyService(IMetadataStore store)
{
    public const string Push = "push", Unlist = "unlist", Admin = "admin";

    public async Task<string> CreateAsync(string user, IReadOnlyList<string> scopes, string name, CancellationToken cancel)
    {
        var key = "xmh_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        await store.AddApiKeyAsync(new ApiKeyRecord(Hash(key), user, scopes, DateTimeOffset.UtcNow, name), cancel);
        return key;
    }

    public async Task<ApiKeyRecord?> AuthenticateAsync(string? key, CancellationToken cancel) =>
        string.IsNullOrEmpty(key) ? null : await store.FindApiKeyAsync(Hash(key), cancel);

    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}
