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
