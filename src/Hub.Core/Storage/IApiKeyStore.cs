namespace XModHub.Core;

public sealed record ApiKeyRecord(string Hash, string User, IReadOnlyList<string> Scopes, DateTimeOffset Created, string Name);

/// <summary>API keys by the SHA-256 of the key (the key itself is never stored).</summary>
public interface IApiKeyStore
{
    Task AddApiKeyAsync(ApiKeyRecord key, CancellationToken cancel);

    Task<ApiKeyRecord?> FindApiKeyAsync(string hash, CancellationToken cancel);

    /// <summary>Every key, oldest first.</summary>
    Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(CancellationToken cancel);

    Task<bool> DeleteApiKeyAsync(string hash, CancellationToken cancel);
}
