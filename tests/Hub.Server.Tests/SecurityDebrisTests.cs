using System.Net;
using System.Reflection;
using Microsoft.Extensions.Logging;
using XMod.Packaging.Nupkg;
using XModHub.Core;

namespace XModHub.Server.Tests;

/// <summary>Issue 10, item 11: crashes and full disks leave no debris and block no download.</summary>
public sealed class SecurityDebrisTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-hub-debris-").FullName;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Item11_LeftoversOfKilledPushesAreSweptAtStart()
    {
        var data = Path.Combine(_dir, "data");
        var packages = TestPackages.Build(_dir, "xmod-nano", "1.0.0", 1, "de_DE");
        await using (var hub = await HubApp.StartAsync(data, configure: b => b.Logging.ClearProviders()))
        {
            var key = await hub.Service<ApiKeyService>().CreateAsync("alice", [ApiKeyService.Push], "t", default);
            Assert.Equal(PushStatus.Created, (await hub.Service<PackageService>().PushAsync(File.OpenRead(packages[0]), key, default)).Status);
        }
        // What a kill at each step leaves: an upload's temp file, a half-copied blob, a blob with no index row
        // (older than the sweeper's minimum age: a young one may be another instance's push in flight).
        var upload = Path.Combine(data, "tmp", "push-killed.nupkg");
        var halfCopy = Path.Combine(data, "packages", "packages", "xmod-nano", "1.0.0", "xmod-nano.1.0.0.nupkg.0123.tmp");
        var orphan = Path.Combine(data, "packages", "packages", "orphan", "1.0.0", "orphan.1.0.0.nupkg");
        foreach (var f in new[] { upload, halfCopy, orphan })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(f)!);
            File.WriteAllText(f, "debris");
            File.SetLastWriteTimeUtc(f, DateTime.UtcNow.AddHours(-1));
        }
        await using (var hub = await HubApp.StartAsync(data, configure: b => b.Logging.ClearProviders()))
        {
            Assert.False(File.Exists(upload));
            Assert.False(File.Exists(halfCopy));
            Assert.False(File.Exists(orphan));
            var stored = PackageService.BlobPathOf((await hub.Service<IPackageIndex>().GetAsync("xmod-nano", "1.0.0", default))!);
            Assert.True(File.Exists(Path.Combine(data, "packages", stored)));
            // A refused push leaves nothing behind either, and its temp file was under the data directory.
            var key = await hub.Service<ApiKeyService>().CreateAsync("bob", [ApiKeyService.Push], "t", default);
            Assert.Equal(PushStatus.Invalid, (await hub.Service<PackageService>().PushAsync(new MemoryStream("not a zip"u8.ToArray()), key, default)).Status);
            Assert.Empty(Directory.GetFiles(Path.Combine(data, "tmp")));
        }
    }

    [Fact]
    public async Task Item11_AFullDiskAnswers507WithAMessage()
    {
        await using var hub = await HubHost.StartAsync();
        var key = await hub.KeyAsync("alice");
        var packages = TestPackages.Build(_dir, "xmod-nano", "1.0.0", 1, "de_DE");
        var service = new PackageService(hub.Service<IPackageIndex>(), hub.Service<IOwnerStore>(), new FullDisk(), hub.Service<ApiKeyService>(), new PackageLimits(), hub.Service<PushOptions>());
        var outcome = await service.PushAsync(File.OpenRead(packages[0]), key, default);
        Assert.Equal(PushStatus.InsufficientStorage, outcome.Status);
        Assert.Contains("disk", outcome.Message);
        Assert.Empty(await hub.Service<IPackageIndex>().GetVersionsAsync("xmod-nano", true, default));
        // The claim of the new id went with the failed push.
        Assert.Empty(await hub.Service<IOwnerStore>().GetOwnersAsync("xmod-nano", default));
    }

    [Fact]
    public async Task Item11_DownloadCountingNeverBlocksADownload()
    {
        await using var hub = await HubHost.StartAsync();
        var key = await hub.KeyAsync("alice");
        var packages = TestPackages.Build(_dir, "xmod-nano", "1.0.0", 1, "de_DE");
        Assert.Equal(HttpStatusCode.Created, (await hub.PushAsync(File.ReadAllBytes(packages[0]), key)).StatusCode);
        var store = FailingCounter.Wrap(hub.Service<IPackageIndex>());
        var service = new PackageService(store, hub.Service<IOwnerStore>(), hub.Service<IBlobStorage>(), hub.Service<ApiKeyService>(), new PackageLimits(), hub.Service<PushOptions>());
        await using var stream = await service.DownloadAsync("xmod-nano", "1.0.0", default);
        Assert.NotNull(stream);
    }

    private sealed class FullDisk : IBlobStorage
    {
        public Task<Stream?> GetAsync(string path, CancellationToken cancel) => Task.FromResult<Stream?>(null);

        public Task<PutResult> PutAsync(string path, Stream content, bool overwrite, CancellationToken cancel) =>
            throw new IOException("No space left on device", 28);

        public Task<bool> DeleteAsync(string path, CancellationToken cancel) => Task.FromResult(false);

        public async IAsyncEnumerable<BlobEntry> ListAsync(string prefix, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancel)
        {
            await Task.CompletedTask;
            yield break;
        }
    }

    /// <summary>The real index, but counting a download fails as on a full disk.</summary>
    public class FailingCounter : DispatchProxy
    {
        private IPackageIndex _inner = null!;

        public static IPackageIndex Wrap(IPackageIndex inner)
        {
            var proxy = Create<IPackageIndex, FailingCounter>();
            ((FailingCounter)(object)proxy)._inner = inner;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? method, object?[]? args) =>
            method!.Name == nameof(IPackageIndex.AddDownloadAsync)
                ? Task.FromException(new IOException("No space left on device", 28))
                : method.Invoke(_inner, args);
    }
}
