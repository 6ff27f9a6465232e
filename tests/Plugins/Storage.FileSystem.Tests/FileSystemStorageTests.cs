using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using XModHub.Core;
using XModHub.Plugins.Contracts;

namespace XModHub.Plugins.Storage.FileSystem.Tests;

/// <summary>File-system storage against the shared IBlobStorage contract.</summary>
public sealed class FileSystemStorageContract : BlobStorageContract, IDisposable
{
    private readonly TempDir _dir = new("xmod-fs-");

    protected override Task<IBlobStorage> CreateAsync(int blockSize = 8 << 20) =>
        Task.FromResult<IBlobStorage>(new FileSystemStorage(new FileSystemStorageOptions { Path = _dir[Guid.NewGuid().ToString("N")] }));

    public void Dispose() => _dir.Dispose();
}

/// <summary>What only file-system storage has: blobs as files under the root, no temporaries left, registration.</summary>
public sealed class FileSystemStorageTests : IDisposable
{
    private readonly TempDir _dir = new("xmod-storage-");
    private readonly FileSystemStorage _storage;

    public FileSystemStorageTests() => _storage = new FileSystemStorage(new FileSystemStorageOptions { Path = _dir.Path });

    public void Dispose() => _dir.Dispose();

    private static MemoryStream Bytes(string text) => new(Encoding.UTF8.GetBytes(text));

    private async Task<string?> Read(string path)
    {
        await using var s = await _storage.GetAsync(path, default);
        return s is null ? null : await new StreamReader(s).ReadToEndAsync();
    }

    [Fact]
    public async Task A_blob_is_a_file_at_its_path_under_the_root()
    {
        Assert.Equal(PutResult.Success, await _storage.PutAsync("packages/a/1.0.0/a.1.0.0.nupkg", Bytes("one"), overwrite: false, default));
        Assert.Equal("one", await File.ReadAllTextAsync(Path.Combine(_dir.Path, "packages", "a", "1.0.0", "a.1.0.0.nupkg")));
        Assert.True(await _storage.DeleteAsync("packages/a/1.0.0/a.1.0.0.nupkg", default));
        Assert.False(File.Exists(Path.Combine(_dir.Path, "packages", "a", "1.0.0", "a.1.0.0.nupkg")));
    }

    [Fact]
    public async Task ConcurrentPutsLeaveOneWholeFileAndNoTemporaries()
    {
        var payloads = Enumerable.Range(0, 16).Select(i => new string((char)('a' + i), 200_000)).ToList();
        var results = await Task.WhenAll(payloads.Select(p => Task.Run(() => _storage.PutAsync("race.bin", Bytes(p), overwrite: false, default))));
        Assert.Equal(1, results.Count(r => r == PutResult.Success));
        Assert.Contains(await Read("race.bin"), payloads); // one writer's whole content, never a mix
        Assert.Equal(["race.bin"], Directory.GetFiles(_dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task AFailedWriteLeavesNoTemporaryFile()
    {
        await Assert.ThrowsAsync<IOException>(() => _storage.PutAsync("broken.bin", new BlobStorageContract.FailingStream(), overwrite: false, default));
        Assert.Empty(Directory.GetFiles(_dir.Path, "*", SearchOption.AllDirectories));
    }

    [Theory]
    [InlineData("../escape.bin")]
    [InlineData("packages/../../escape.bin")]
    [InlineData("/etc/passwd")]
    public async Task RefusedPathsWriteNothingOutsideTheRoot(string path)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _storage.PutAsync(path, Bytes("x"), overwrite: true, default));
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(_dir.Path)!, "escape.bin")));
    }

    [Fact]
    public void RegistrationNeedsAPathAndCreatesIt()
    {
        var e = Assert.Throws<XMod.XModException>(() => new ServiceCollection().AddFileSystemStorage(new ConfigurationBuilder().Build()));
        Assert.Contains("Storage:Path is required", e.Message);
        var root = _dir["configured"];
        var section = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Path"] = root }).Build();
        var storage = new ServiceCollection().AddFileSystemStorage(section).BuildServiceProvider().GetRequiredService<IBlobStorage>();
        Assert.IsType<FileSystemStorage>(storage);
        Assert.True(Directory.Exists(root));
    }
}
