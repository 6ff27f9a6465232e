namespace XModHub.Core;

public enum PutResult
{
    Success,
    AlreadyExists,
}

/// <summary>Where package files live (BaGet's IStorageService): paths are relative, '/'-separated.</summary>
public interface IBlobStorage
{
    Task<Stream?> GetAsync(string path, CancellationToken cancel);

    /// <summary>Stores the content atomically: readers see the old file or the whole new one, never a part.</summary>
    Task<PutResult> PutAsync(string path, Stream content, bool overwrite, CancellationToken cancel);

    Task<bool> DeleteAsync(string path, CancellationToken cancel);

    /// <summary>
    /// Every stored blob whose path starts with <paramref name="prefix"/> ("" for all), in ordinal
    /// path order, paged lazily; a file-system store includes what a crash left half-written, so the
    /// sweeper can remove it.
    /// </summary>
    IAsyncEnumerable<BlobEntry> ListAsync(string prefix, CancellationToken cancel);
}

/// <summary>
/// A provider that must reach its service before the hub serves (create a schema or a container):
/// the host awaits every registered one at start, in registration order, never blocking a thread.
/// A wrong setting is one <see cref="XMod.XModException"/> line naming it.
/// </summary>
public interface IStoreInitializer
{
    Task InitializeAsync(CancellationToken cancel);
}
