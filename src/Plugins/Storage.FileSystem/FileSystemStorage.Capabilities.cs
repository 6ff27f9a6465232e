using System.Runtime.CompilerServices;
using XModHub.Core;

namespace XModHub.Plugins.Storage.FileSystem;

/// <summary>Ranged reads and listing (the optional storage capabilities) on the file system.</summary>
public sealed partial class FileSystemStorage : IRangedBlobStorage
{
    // PutAsync's in-flight temporary files ("{path}.{guid:N}.tmp"): not blobs, so not listed.

    public Task<Stream?> GetRangeAsync(string path, long offset, long? length, CancellationToken cancel)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (length is { } l)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(l);
        }
        var full = Resolve(path);
        if (!File.Exists(full))
        {
            return Task.FromResult<Stream?>(null);
        }
        var file = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
        var start = Math.Min(offset, file.Length);
        file.Position = start;
        var count = Math.Min(length ?? long.MaxValue, file.Length - start);
        return Task.FromResult<Stream?>(new BoundedReadStream(file, count));
    }

    public async IAsyncEnumerable<BlobEntry> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancel)
    {
        await Task.Yield();
        if (!Directory.Exists(_root))
        {
            yield break;
        }
        var entries = new List<BlobEntry>();
        foreach (var file in Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories))
        {
            cancel.ThrowIfCancellationRequested();
            var relative = System.IO.Path.GetRelativePath(_root, file).Replace(System.IO.Path.DirectorySeparatorChar, '/');
            if (relative.StartsWith(prefix, StringComparison.Ordinal))
            {
                var info = new FileInfo(file);
                entries.Add(new BlobEntry(relative, info.Length, info.LastWriteTimeUtc));
            }
        }
        foreach (var entry in entries.OrderBy(e => e.Path, StringComparer.Ordinal))
        {
            yield return entry;
        }
    }

    /// <summary>Reads at most a given number of bytes of the inner stream, then reports its end.</summary>
    private sealed class BoundedReadStream(Stream inner, long remaining) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer[..(int)Math.Min(buffer.Length, remaining)]);
            remaining -= n;
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancel) =>
            ReadAsync(buffer.AsMemory(offset, count), cancel).AsTask();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancel = default)
        {
            var n = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, remaining)], cancel);
            remaining -= n;
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
