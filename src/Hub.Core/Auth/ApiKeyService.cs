using System.Security.Cryptography;
using System.Text;

namespace XModHub.Core;

/// <summary>
/// API keys: 32 random bytes shown once, stored only as their SHA-256 (a key has 256 bits of
/// entropy, so a fast hash is enough), each with a user and scopes ("push", "unlist", "admin").
/// </summary>
public sealed class ApiKeyService(IApiKeyStore store)
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

    /// <summary>A key's public id: the first 16 hex digits of its hash (the key itself is never stored).</summary>
    public static string IdOf(ApiKeyRecord key) => key.Hash[..16];

    /// <summary>Keys an admin sees all of; anyone else their own.</summary>
    public async Task<IReadOnlyList<ApiKeyRecord>> ListAsync(ApiKeyRecord caller, CancellationToken cancel) =>
        (await store.ListApiKeysAsync(cancel)).Where(k => KeyPolicy.IsAdmin(caller) || k.User == caller.User).ToList();

    /// <summary>Revokes a key by its id: admins any, others their own; false when there is no such key for the caller.</summary>
    public async Task<bool> RevokeAsync(ApiKeyRecord caller, string id, CancellationToken cancel)
    {
        var key = (await ListAsync(caller, cancel)).FirstOrDefault(k => string.Equals(IdOf(k), id, StringComparison.OrdinalIgnoreCase));
        return key is not null && await store.DeleteApiKeyAsync(key.Hash, cancel);
    }

    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}
