using NuGet.Versioning;
using XMod.Runtime.Serving;
using XModHub.Client.Cache;

namespace Hub.Cli.Tests;

/// <summary>
/// Issue 6 end to end: a real hub process, the real CLI (publish, search, install, offline), the
/// cache's integrity guarantees, and a runtime loading languages while another thread encodes.
/// </summary>
public sealed class HubClientEndToEndTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-e2e-").FullName;
    private string Home => Path.Combine(_dir, "home");

    public void Dispose() => TempDir.Delete(_dir);

    private CliProcess.Result Cli(params string[] args) => CliProcess.RunOk(_dir, args);

    private CliProcess.Result CliAny(Dictionary<string, string>? env, params string[] args) =>
        CliProcess.Run(new Dictionary<string, string>(env ?? []) { ["XMOD_HOME"] = Home }, args);

    [Fact]
    public async Task PublishSearchInstallLoadPredictAgainstARealHub()
    {
        // A nano trunk pre-trained on English, German and French man pages (shared by the test run; a copy, since publish reads it).
        var run = PretrainedNano.CopyRun(PretrainedNano.Get().XModRun, Path.Combine(_dir, "run"));

        var data = Path.Combine(_dir, "hub");
        using var hub = await HubProcess.StartAsync(data);
        var (address, adminKey) = (hub.Address, hub.AdminKey);
        Cli("source", "add", "local", address + "/v3/index.json", "--api-key", adminKey);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(Home, "config.json")));
        }
        var published = Cli("publish", "--model", run, "--trunk-id", "e2e-nano", "--version", "1.0.0");
        Assert.Contains("published e2e-nano 1.0.0 and 3 language packages", published.StdOut);

        var search = Cli("search", "lang");
        Assert.Contains("e2e-nano.lang-de", search.StdOut);
        Assert.Contains("e2e-nano.lang-en", search.StdOut);

        // Offline with nothing cached: a clear error naming what is missing.
        var offlineMiss = CliAny(new() { ["XMOD_OFFLINE"] = "1" }, "install", "e2e-nano");
        Assert.Equal(1, offlineMiss.ExitCode);
        Assert.Contains("offline (XMOD_OFFLINE=1): e2e-nano is not in the cache", offlineMiss.StdErr);

        var installed = Cli("install", "lang-de", "--trunk", "e2e-nano");
        Assert.Contains("installing the trunk first", installed.StdOut);
        Assert.Contains("installed e2e-nano.lang-de 1.0.0", installed.StdOut);
        Cli("install", "lang-en", "--trunk", "e2e-nano");
        Assert.Contains("every installed package is intact", Cli("cache", "verify").StdOut);

        // Offline with the package cached: it works.
        Assert.Equal(0, CliAny(new() { ["XMOD_OFFLINE"] = "1" }, "install", "lang-de", "--trunk", "e2e-nano").ExitCode);

        // A corrupted blob on the hub: refused, the cache unchanged.
        var stored = Directory.GetFiles(Path.Combine(data, "packages"), "e2e-nano.lang-en.1.0.0.*nupkg", SearchOption.AllDirectories).Single(); // blob names are unique per push
        var cacheBefore = Snapshot(Path.Combine(Home, "cache"));
        Cli("uninstall", "lang-en", "--trunk", "e2e-nano");
        var afterUninstall = Snapshot(Path.Combine(Home, "cache"));
        var bytes = File.ReadAllBytes(stored);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(stored, bytes);
        var corrupt = CliAny(null, "install", "lang-en", "--trunk", "e2e-nano");
        Assert.Equal(1, corrupt.ExitCode);
        Assert.Contains("is damaged or invalid, nothing was installed", corrupt.StdErr);
        Assert.Equal(afterUninstall, Snapshot(Path.Combine(Home, "cache")));
        Assert.NotEqual(cacheBefore, afterUninstall);

        // A recipe (modules/lang-yo/recipe.json): publish builds the module first, since build/ lacks it.
        var recipeDir = Path.Combine(_dir, "modules", "lang-yo");
        Directory.CreateDirectory(recipeDir);
        File.WriteAllText(Path.Combine(recipeDir, "recipe.json"), """
            { "kind": "language", "id": "lang-yo", "version": "1.0.0", "trunk": "e2e-nano", "language": "yo",
              "corpus": { "manpages": false, "udhr": true, "max_mb": 0 }, "steps": 4, "batch": 4, "seq": 32, "lr": 0.001, "vocab": 600 }
            """);
        var fromRecipe = Cli("publish", recipeDir);
        Assert.Contains("published e2e-nano.lang-yo.1.0.0", fromRecipe.StdOut);
        Assert.True(File.Exists(Path.Combine(recipeDir, "build", "package", "xmod.json")));
        Assert.Contains("e2e-nano.lang-yo", Cli("search", "yoruba").StdOut);

        // An intact English package again: a new version (versions are never overwritten).
        Cli("publish", "--model", run, "--trunk-id", "e2e-nano", "--version", "1.0.1");
        Cli("install", "lang-en@1.0.1", "--trunk", "e2e-nano");

        // The runtime: the trunk once, languages hot-loaded while another thread encodes.
        using var runtime = XModRuntime.Open(new XModRuntimeOptions { Home = Home, Trunk = "e2e-nano", Languages = ["de"], LoadOnFirstUse = false });
        // (LoadOnFirstUse off: an unloaded language stays unloaded until LoadLanguage, so the unload is observable.)
        var reference = runtime.Encode("Die Datei wird gelesen.", "de_DE");
        var failures = new List<Exception>();
        var mismatches = 0;
        var encodes = 0;
        var attempts = 0;
        using var progressed = new SemaphoreSlim(0);
        using var stop = new CancellationTokenSource();
        var encoder = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var again = runtime.Encode("Die Datei wird gelesen.", "de_DE");
                    if (!again.Zip(reference).All(r => r.First.AsSpan().SequenceEqual(r.Second)))
                    {
                        Interlocked.Increment(ref mismatches);
                    }
                    Interlocked.Increment(ref encodes);
                }
                catch (Exception e)
                {
                    lock (failures)
                    {
                        failures.Add(e);
                    }
                }
                finally
                {
                    Interlocked.Increment(ref attempts);
                    progressed.Release();
                }
            }
        });
        for (var round = 0; round < 3; round++)
        {
            Assert.Equal("en_XX", runtime.LoadLanguage("en"));
            Assert.NotEmpty(runtime.FillMask("The file is <mask>.", "en", 3)[0]);
            runtime.UnloadLanguage("en");
            Assert.Throws<XMod.XModException>(() => runtime.Encode("x", "en"));
        }
        // Let the encoder run past the last unload before stopping it: wait for its progress, not for a time.
        var target = Math.Max(Volatile.Read(ref encodes) + 2, 4);
        while (Volatile.Read(ref encodes) < target && Volatile.Read(ref attempts) < target + 100) // failing attempts end the wait too
        {
            Assert.True(await progressed.WaitAsync(TimeSpan.FromMinutes(1)), "the encoder thread stopped making progress");
        }
        stop.Cancel();
        await encoder;

        // A task fine-tuned on the run's trunk predicts through the runtime, in German.
        var train = Path.Combine(_dir, "train.tsv");
        File.WriteAllLines(train, ["a	Print the file.", "b	The function returns zero.", "a	List the directory.", "b	The call fails with EINVAL."]);
        var task = Path.Combine(_dir, "task");
        Cli("finetune", "--trunk", run, "--train", train, "--lang", "en_XX", "--out", task, "--epochs", "1", "--batch", "2", "--max-length", "32");
        using var taskModel = runtime.OpenTask(task);
        var predicted = taskModel.Classify(["Die Datei wird gelesen."], "de_DE");
        Assert.Contains(predicted[0].Label, new[] { "a", "b" }); // label names, not indices
        Assert.Equal(taskModel.Labels[predicted[0].Index], predicted[0].Label);
        Assert.Empty(failures);
        Assert.Equal(0, mismatches);
        Assert.True(encodes > 3, $"the encoder thread ran {encodes} times");
    }

    [Fact]
    public async Task ADownloadKilledHalfWayLeavesNothingAndTheNextInstallSucceeds()
    {
        var packages = BuildPackages();
        var cache = new PackageCache(Home);
        var bytes = File.ReadAllBytes(packages[0]);
        var before = Snapshot(cache.Root);

        var killed = await Assert.ThrowsAnyAsync<Exception>(() => cache.InstallAsync("half-trunk", NuGetVersion.Parse("1.0.0"),
            _ => Task.FromResult<(Stream, long?)>((new BrokenStream(bytes, bytes.Length / 2), bytes.Length)), "test", null, CancellationToken.None));
        Assert.Contains("connection reset", killed.Message);
        Assert.Equal(before, Snapshot(cache.Root).Where(f => !f.StartsWith("locks", StringComparison.Ordinal)).ToList());
        Assert.Null(cache.Find("half-trunk"));

        var ok = await cache.InstallAsync("half-trunk", NuGetVersion.Parse("1.0.0"),
            _ => Task.FromResult<(Stream, long?)>((new MemoryStream(bytes), bytes.Length)), "test", null, CancellationToken.None);
        Assert.Equal("half-trunk", ok.Id);
        Assert.Empty(cache.Verify());
        Assert.Empty(Directory.GetFiles(cache.Root, "*.incomplete", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task ALockHeldByAnotherInstallTimesOutWithTheHolderNamed()
    {
        var path = Path.Combine(_dir, "x.lock");
        using var held = await CacheLock.AcquireAsync(path, CancellationToken.None);
        var e = await Assert.ThrowsAsync<XMod.XModException>(() => CacheLock.AcquireAsync(path, CancellationToken.None, TimeSpan.FromMilliseconds(300)));
        Assert.Contains($"(pid {Environment.ProcessId})", e.Message);
        held.Dispose();
        using var again = await CacheLock.AcquireAsync(path, CancellationToken.None, TimeSpan.FromSeconds(1));
    }

    private List<string> BuildPackages() => [TestPackages.BuildTrunk(_dir, "half-trunk", "1.0.0", 3, "de_DE")];

    private static List<string> Snapshot(string root) =>
        Directory.Exists(root) ? Directory.GetFiles(root, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(root, f)).Order().ToList() : [];

    /// <summary>A download that breaks after <paramref name="cut"/> bytes, as a killed connection does.</summary>
    private sealed class BrokenStream(byte[] data, int cut) : MemoryStream(data, 0, cut)
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancel = default)
        {
            var n = await base.ReadAsync(buffer, cancel);
            return n > 0 ? n : throw new IOException("connection reset by peer");
        }
    }
}
