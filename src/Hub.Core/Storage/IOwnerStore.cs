namespace XModHub.Core;

public enum ClaimResult
{
    /// <summary>The id had no owner: the claimant is now its only one.</summary>
    Claimed,
    /// <summary>The claimant owns the id already (with others, perhaps).</summary>
    AlreadyOwner,
    /// <summary>Others own the id.</summary>
    OwnedByOthers,
}

public enum RemoveOwnerResult
{
    Removed,
    NotAnOwner,
    /// <summary>Refused: an id never loses its last owner (else the next publisher could take it).</summary>
    LastOwner,
}

/// <summary>Who owns each id (case-insensitive). Each change is atomic across instances.</summary>
public interface IOwnerStore
{
    /// <summary>The owners, in ordinal order; empty when nobody owns the id.</summary>
    Task<IReadOnlyList<string>> GetOwnersAsync(string id, CancellationToken cancel);

    /// <summary>Makes <paramref name="owner"/> the owner when the id has none; says who owns it otherwise. Two racing claims: one wins.</summary>
    Task<ClaimResult> ClaimAsync(string id, string owner, CancellationToken cancel);

    /// <summary>Adds an owner to an owned id; false when already one (or when the id has no owner to add to).</summary>
    Task<bool> AddOwnerAsync(string id, string owner, CancellationToken cancel);

    Task<RemoveOwnerResult> RemoveOwnerAsync(string id, string owner, CancellationToken cancel);

    /// <summary>Drops a claim that no version came of (a push that failed after claiming a new id).</summary>
    Task ReleaseClaimAsync(string id, string owner, CancellationToken cancel);
}
