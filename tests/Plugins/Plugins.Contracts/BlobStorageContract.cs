using System.Security.Cryptography;
using XModHub.Core;

namespace XModHub.Plugins.Contracts;

/// <summary>
/// What every storage provider does (file system, Azure Blob): a derived class supplies a fresh, empty
/// storage per test; the assertions here are the contract.
/// </summary>
public abstract class BlobStorageContract
{
    /// <summary>A new storage with nothing in it; <paramref name="blockSize"/> is a hint for providers that upload in blocks.</summary>
    protected abstract Task<IBlobStorage> CreateAsync(int blockSize = 8 << 20);

    /// <summary>Whether a conditional put to a path succeeds after an upload to it broke off; see the override for the exception.</summary>
    protected virtual bool FailedWriteFreesThePath => true;

    protected static byte[] Bytes(int count, int seed = 1)
    {
        var data = new byte[count];
        new Random(seed).NextBytes(data);
        return data;
    }

    protected static async Task<byte[]?> ReadAllAsync(Stream? stream)
    {
        if (stream is null)
        {
            return null;
        }
        await using (stream)
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            return copy.ToArray();
        }
    }

    [Fact]
    public async Task Put_then_get_returns_the_same_bytes()
    {
        var storage = await CreateAsync();
        var data = Bytes(100_000);
        Assert.Equal(PutResult.Success, await storage.PutAsync("a.b/1.0.0/a.b.1.0.0.nupkg", new MemoryStream(data), false, default));
        Assert.Equal(data, await ReadAllAsync(await storage.GetAsync("a.b/1.0.0/a.b.1.0.0.nupkg", default)));
    }

    [Fact]
    public async Task Empty_content_is_stored_and_read_back_empty()
    {
        var storage = await CreateAsync();
        Assert.Equal(PutResult.Success, await storage.PutAsync("e/1.0.0/e.nupkg", new MemoryStream(), false, default));
        Assert.Equal(Array.Empty<byte>(), await ReadAllAsync(await storage.GetAsync("e/1.0.0/e.nupkg", default)));
    }

    [Fact]
    public async Task Get_of_a_missing_path_is_null()
    {
        var storage = await CreateAsync();
        Assert.Null(await storage.GetAsync("missing/1.0.0/missing.nupkg", default));
    }

    [Fact]
    public async Task A_second_put_without_overwrite_is_refused_and_keeps_the_first_content()
    {
        var storage = await CreateAsync();
        var first = Bytes(1000, 1);
        Assert.Equal(PutResult.Success, await storage.PutAsync("x/1.0.0/x.nupkg", new MemoryStream(first), false, default));
        Assert.Equal(PutResult.AlreadyExists, await storage.PutAsync("x/1.0.0/x.nupkg", new MemoryStream(Bytes(2000, 2)), false, default));
        Assert.Equal(first, await ReadAllAsync(await storage.GetAsync("x/1.0.0/x.nupkg", default)));
    }

    [Fact]
    public async Task Put_with_overwrite_replaces_the_content()
    {
        var storage = await CreateAsync();
        await storage.PutAsync("x/1.0.0/x.nupkg", new MemoryStream(Bytes(1000, 1)), false, default);
        var second = Bytes(500, 2);
        Assert.Equal(PutResult.Success, await storage.PutAsync("x/1.0.0/x.nupkg", new MemoryStream(second), true, default));
        Assert.Equal(second, await ReadAllAsync(await storage.GetAsync("x/1.0.0/x.nupkg", default)));
    }

    [Fact]
    public async Task Delete_removes_and_says_whether_it_existed()
    {
        var storage = await CreateAsync();
        await storage.PutAsync("d/1.0.0/d.nupkg", new MemoryStream(Bytes(10)), false, default);
        Assert.True(await storage.DeleteAsync("d/1.0.0/d.nupkg", default));
        Assert.Null(await storage.GetAsync("d/1.0.0/d.nupkg", default));
        Assert.False(await storage.DeleteAsync("d/1.0.0/d.nupkg", default));
        // After a delete the path can be written again.
        Assert.Equal(PutResult.Success, await storage.PutAsync("d/1.0.0/d.nupkg", new MemoryStream(Bytes(10)), false, default));
    }

    [Fact]
    public async Task Ranged_reads_return_exactly_the_range()
    {
        var storage = Assert.IsAssignableFrom<IRangedBlobStorage>(await CreateAsync());
        var data = Bytes(50_000);
        await storage.PutAsync("r/1.0.0/r.nupkg", new MemoryStream(data), false, default);
        Assert.Equal(data[1000..1100], await ReadAllAsync(await storage.GetRangeAsync("r/1.0.0/r.nupkg", 1000, 100, default)));
        Assert.Equal(data[49_990..], await ReadAllAsync(await storage.GetRangeAsync("r/1.0.0/r.nupkg", 49_990, null, default)));
        // A length past the end is cut at the end; an offset past the end is empty; a missing blob is null.
        Assert.Equal(data[49_000..], await ReadAllAsync(await storage.GetRangeAsync("r/1.0.0/r.nupkg", 49_000, 5000, default)));
        Assert.Equal(Array.Empty<byte>(), await ReadAllAsync(await storage.GetRangeAsync("r/1.0.0/r.nupkg", 60_000, 10, default)));
        Assert.Equal(Array.Empty<byte>(), await ReadAllAsync(await storage.GetRangeAsync("r/1.0.0/r.nupkg", 10, 0, default)));
        Assert.Null(await storage.GetRangeAsync("r/2.0.0/r.nupkg", 0, 10, default));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => storage.GetRangeAsync("r/1.0.0/r.nupkg", -1, 10, default));
    }

    [Fact]
    public async Task Large_content_goes_up_in_blocks_and_comes_back_whole()
    {
        // 64 KiB blocks: 2.5 MiB is forty blocks and a part, streamed from a source that has no length.
        var storage = await CreateAsync(blockSize: 64 << 10);
        var data = Bytes((5 << 19) + 123);
        Assert.Equal(PutResult.Success, await storage.PutAsync("big/1.0.0/big.nupkg", new UnseekableStream(data), false, default));
        var back = await ReadAllAsync(await storage.GetAsync("big/1.0.0/big.nupkg", default));
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(back!));
        Assert.Equal(PutResult.AlreadyExists, await storage.PutAsync("big/1.0.0/big.nupkg", new UnseekableStream(Bytes(1 << 20, 3)), false, default));
    }

    [Fact]
    public async Task Concurrent_puts_of_one_path_give_exactly_one_success()
    {
        var storage = await CreateAsync(blockSize: 64 << 10);
        // Each racer writes different bytes, so what is stored must be one racer's content, whole.
        var contents = Enumerable.Range(0, 8).Select(i => Bytes(200_000 + i, i)).ToArray();
        var results = await Task.WhenAll(contents.Select(c => Task.Run(() => storage.PutAsync("race/1.0.0/race.nupkg", new MemoryStream(c), false, default))));
        Assert.Equal(1, results.Count(r => r == PutResult.Success));
        Assert.Equal(7, results.Count(r => r == PutResult.AlreadyExists));
        var winner = contents[Array.IndexOf(results, PutResult.Success)];
        Assert.Equal(winner, await ReadAllAsync(await storage.GetAsync("race/1.0.0/race.nupkg", default)));
    }

    [Fact]
    public async Task A_write_that_fails_half_way_leaves_nothing_readable()
    {
        var storage = await CreateAsync(blockSize: 64 << 10);
        await Assert.ThrowsAsync<IOException>(() => storage.PutAsync("broken/1.0.0/broken.nupkg", new FailingStream(), false, default));
        Assert.Null(await storage.GetAsync("broken/1.0.0/broken.nupkg", default));
        Assert.Empty(await ToListAsync(storage.ListAsync("", default)));
        // The path is free for a whole upload (a retried push).
        if (FailedWriteFreesThePath)
        {
            Assert.Equal(PutResult.Success, await storage.PutAsync("broken/1.0.0/broken.nupkg", new MemoryStream(Bytes(10)), false, default));
        }
    }

    [Fact]
    public async Task Listing_follows_the_prefix_in_path_order()
    {
        var storage = await CreateAsync();
        foreach (var path in new[] { "b/2.0.0/b.nupkg", "a/1.0.0/a.nupkg", "b/1.0.0/b.nupkg", "bc/1.0.0/bc.nupkg" })
        {
            await storage.PutAsync(path, new MemoryStream(Bytes(path.Length)), false, default);
        }
        var all = await ToListAsync(storage.ListAsync("", default));
        Assert.Equal(["a/1.0.0/a.nupkg", "b/1.0.0/b.nupkg", "b/2.0.0/b.nupkg", "bc/1.0.0/bc.nupkg"], all.Select(e => e.Path));
        Assert.Equal("b/1.0.0/b.nupkg".Length, all[1].Size);
        Assert.True(all[0].LastModified > DateTimeOffset.UtcNow.AddHours(-1));
        Assert.Equal(["b/1.0.0/b.nupkg", "b/2.0.0/b.nupkg"], (await ToListAsync(storage.ListAsync("b/", default))).Select(e => e.Path));
        Assert.Empty(await ToListAsync(storage.ListAsync("zzz", default)));
    }

    [Theory]
    [InlineData("../escape.nupkg")]
    [InlineData("a/../../escape.nupkg")]
    [InlineData("/etc/passwd")]
    public async Task Paths_that_leave_the_storage_are_refused(string path)
    {
        var storage = await CreateAsync();
        await Assert.ThrowsAnyAsync<ArgumentException>(() => storage.PutAsync(path, new MemoryStream(Bytes(3)), false, default));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => storage.GetAsync(path, default));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => storage.DeleteAsync(path, default));
    }

    protected static async Task<List<BlobEntry>> ToListAsync(IAsyncEnumerable<BlobEntry> entries)
    {
        var list = new List<BlobEntry>();
        await foreach (var e in entries)
        {
            list.Add(e);
        }
        return list;
    }

    /// <summary>An upload that breaks half-way, as a dropped connection does (past the first 64 KiB block).</summary>
    public sealed class FailingStream() : MemoryStream(new byte[300_000])
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancel = default) =>
            Position < 150_000 ? await base.ReadAsync(buffer[..Math.Min(buffer.Length, 10_000)], cancel) : throw new IOException("connection reset");

        public override int Read(byte[] buffer, int offset, int count) =>
            Position < 150_000 ? base.Read(buffer, offset, Math.Min(count, 10_000)) : throw new IOException("connection reset");
    }

    /// <summary>A request body as the server sees it: forward-only, no length.</summary>
    protected sealed class UnseekableStream(byte[] data) : Stream
    {
        private readonly MemoryStream _inner = new(data);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, 7000));
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
