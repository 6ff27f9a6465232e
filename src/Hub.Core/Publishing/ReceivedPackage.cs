using System.Security.Cryptography;

namespace XModHub.Core;

/// <summary>
/// An upload spooled to a temporary file under the hub's data directory, hashed on the way in:
/// the package is read once from the network, and whoever checks it afterwards knows its size
/// and sha256 without reading it again. Deleted when disposed.
/// </summary>
public sealed class ReceivedPackage : IAsyncDisposable, IDisposable
{
    private ReceivedPackage(FileStream file, string path, long size, string sha256)
    {
        File = file;
        Path = path;
        Size = size;
        Sha256 = sha256;
        // The store flushes the file to disk before it becomes visible; started now, the disk writes
        // it back while validation reads it from the page cache, and that flush finds little left.
        // Nobody waits for it: a failure (the file already moved or deleted) changes nothing, since the store flushes again.
        _ = Task.Run(() =>
        {
            using var handle = System.IO.File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            RandomAccess.FlushToDisk(handle);
        }).ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
    }

    /// <summary>The spooled package, open for reading (position 0 after receiving).</summary>
    public FileStream File { get; }

    /// <summary>Where it lies, for a store that can take the file over by renaming it.</summary>
    public string Path { get; }

    public long Size { get; }

    /// <summary>Lower-case hex sha256 of the whole package.</summary>
    public string Sha256 { get; }

    /// <summary>
    /// Copies <paramref name="body"/> to a new file in <paramref name="tempDirectory"/>, hashing it;
    /// null when it grows past <paramref name="limit"/> bytes (nothing is kept). Large buffers, one
    /// pass: the network, the hash and the page cache see every byte once. Two buffers alternate, so
    /// the next megabyte is read from the network while the last one is hashed and written: SHA-256
    /// (about 380 MB/s per core without SHA instructions) runs beside the receive, not after it.
    /// </summary>
    public static async Task<ReceivedPackage?> ReceiveAsync(Stream body, string tempDirectory, long limit, CancellationToken cancel)
    {
        Directory.CreateDirectory(tempDirectory);
        var path = System.IO.Path.Combine(tempDirectory, $"push-{Guid.NewGuid():N}.nupkg");
        var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read, bufferSize: 0, FileOptions.DeleteOnClose);
        var pending = Task.CompletedTask;
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            byte[][] buffers = [new byte[1 << 20], new byte[1 << 20]];
            long total = 0;
            for (var turn = 0; ; turn ^= 1)
            {
                // Fill this buffer from the (small-chunked) network stream before one large write;
                // the other buffer is being hashed and written meanwhile.
                var buffer = buffers[turn];
                var filled = 0;
                int n;
                while (filled < buffer.Length && (n = await body.ReadAsync(buffer.AsMemory(filled), cancel)) > 0)
                {
                    filled += n;
                }
                await pending;
                if (filled == 0)
                {
                    break;
                }
                total += filled;
                if (total > limit)
                {
                    await file.DisposeAsync();
                    return null;
                }
                pending = Task.Run(async () =>
                {
                    hash.AppendData(buffer, 0, filled);
                    await file.WriteAsync(buffer.AsMemory(0, filled), cancel);
                }, cancel);
            }
            file.Position = 0;
            return new ReceivedPackage(file, path, total, Convert.ToHexStringLower(hash.GetHashAndReset()));
        }
        catch
        {
            // The last hash-and-write may still run: let it end before the file goes.
            await pending.ContinueWith(_ => { }, TaskScheduler.Default);
            await file.DisposeAsync();
            throw;
        }
    }

    public ValueTask DisposeAsync() => File.DisposeAsync();

    public void Dispose() => File.Dispose();
}
