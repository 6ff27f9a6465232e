namespace XModHub.Core;

/// <summary>
/// Optional storage capability: a byte range of a blob read at the source, so a resumed or
/// parallel download does not stream (and discard) the bytes before the range.
/// </summary>
public interface IRangedBlobStorage : IBlobStorage
{
    /// <summary>
    /// Bytes [<paramref name="offset"/>, offset + <paramref name="length"/>) of the blob (to its end when
    /// length is null); null when the blob does not exist, an empty stream when offset is at or past its end.
    /// </summary>
    Task<Stream?> GetRangeAsync(string path, long offset, long? length, CancellationToken cancel);
}

/// <summary>One stored blob as a listing sees it.</summary>
public sealed record BlobEntry(string Path, long Size, DateTimeOffset LastModified);

/// <summary>
/// Optional storage capability of a store on this machine's file system: blobs served straight from
/// their files (the server sends them with range processing, no copy through a managed stream), and
/// a spooled upload taken over by a rename instead of a second copy.
/// </summary>
public interface ILocalBlobStorage : IBlobStorage
{
    /// <summary>The full path of the blob's file; null when the blob does not exist.</summary>
    string? LocalPath(string path);

    /// <summary>
    /// Stores <paramref name="localFile"/> (a finished file the caller no longer writes) at
    /// <paramref name="path"/>, atomically as <see cref="IBlobStorage.PutAsync"/>: flushed to disk,
    /// then renamed into place (copied when it lies on another file system). The local file is gone
    /// afterwards when it was moved.
    /// </summary>
    Task<PutResult> PutFileAsync(string path, string localFile, bool overwrite, CancellationToken cancel);
}
