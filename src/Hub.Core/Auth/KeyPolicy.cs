namespace XModHub.Core;

/// <summary>
/// What a key may do, in one place: every decision the services make about a caller is one of
/// these (stores only keep keys and owners).
/// </summary>
public static class KeyPolicy
{
    public static bool IsAdmin(ApiKeyRecord key) => key.Scopes.Contains(ApiKeyService.Admin);

    /// <summary>Pushing takes a push or an admin key (whether this id is theirs is decided by ownership).</summary>
    public static bool CanPush(ApiKeyRecord key) => key.Scopes.Contains(ApiKeyService.Push) || IsAdmin(key);

    /// <summary>Unlisting or relisting: an owner's key with the unlist or push scope, or an admin key.</summary>
    public static bool CanChangeListing(ApiKeyRecord key, IReadOnlyCollection<string> owners) =>
        IsAdmin(key) || (owners.Contains(key.User) && (key.Scopes.Contains(ApiKeyService.Unlist) || key.Scopes.Contains(ApiKeyService.Push)));

    /// <summary>Adding or removing owners: an owner's push key, or an admin key (an unlist-only key may not hand the package out).</summary>
    public static bool CanManageOwners(ApiKeyRecord key, IReadOnlyCollection<string> owners) =>
        IsAdmin(key) || (owners.Contains(key.User) && key.Scopes.Contains(ApiKeyService.Push));

    /// <summary>Publishing into a trunk's reserved prefix outside its language and task packages: the trunk's owners, or an admin.</summary>
    public static bool MayUseReservedPrefix(ApiKeyRecord key, IReadOnlyCollection<string> trunkOwners) =>
        IsAdmin(key) || trunkOwners.Contains(key.User);
}
