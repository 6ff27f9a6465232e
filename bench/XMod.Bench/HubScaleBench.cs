using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using XMod.Packaging.Checkpoints;
using XMod.Packaging.Languages;
using XMod.Packaging.Manifests;
using XMod.Packaging.Nupkg;
using XMod.TestSupport;
using XModHub.Client.Feeds;
using XModHub.Core;
using XModHub.Plugins.Contracts;
using XModHub.Plugins.Metadata.PostgreSql;
using XModHub.Plugins.Storage.AzureBlob;

namespace XMod.Bench;

/// <summary>
/// Issue 13: the hub beyond one machine. One Azurite and one PostgreSQL for the whole run; three
/// Hub.Server processes on them (Azure Blob storage, PostgreSQL metadata) behind nginx, the index
/// seeded with a few thousand language packages over several trunks plus real pushes. Measured:
/// (a) search requests/s with wrk against one instance directly, one behind nginx and three behind
/// nginx; (b) download ("install") throughput of a mid-size package, concurrent clients, same three
/// targets; (c) push throughput of a large package into a hub on Azurite vs a hub on the file-system
/// provider (both on PostgreSQL), rounds alternated, medians. Every ratio is to a baseline in this run.
/// </summary>
internal static partial class HubScaleBench
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    public sealed record Options(string Nginx, int Rounds, int Trunks, int LanguagesPerTrunk, int Seconds, int Clients, int PushLayers);

    public static async Task<int> RunAsync(Options o)
    {
        if (!File.Exists("/usr/bin/wrk"))
        {
            Console.Error.WriteLine("hub-scale: wrk is missing (/usr/bin/wrk): run scripts/install-deps (Debian: apt-get install wrk)");
            return 2;
        }
        using var cancel = new CancellationTokenSource();
        // Ctrl-C and SIGTERM cancel the run; the finally blocks below stop every process and delete every folder.
        void Interrupt()
        {
            Log("interrupted: stopping the hubs, nginx, Azurite and PostgreSQL, deleting the work folder");
            // Not inline: Cancel runs the unwinding (which waits for child processes to exit) on the
            // calling thread; a signal handler should return at once.
            _ = Task.Run(cancel.Cancel);
        }
        ConsoleCancelEventHandler onCtrlC = (_, e) => { e.Cancel = true; Interrupt(); };
        Console.CancelKeyPress += onCtrlC;
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; Interrupt(); });
        var work = Directory.CreateTempSubdirectory("xmod-hub-scale-").FullName;
        try
        {
            return await RunInAsync(o, work, cancel.Token);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            Console.Error.WriteLine("hub-scale: interrupted; cleaned up");
            return 130;
        }
        finally
        {
            Console.CancelKeyPress -= onCtrlC;
            Directory.Delete(work, recursive: true);
        }
    }

    private static async Task<int> RunInAsync(Options o, string work, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        Log("starting Azurite and a throw-away PostgreSQL cluster");
        await using var azurite = await AzuriteServer.StartAsync();
        await using var postgres = await PostgresCluster.StartAsync();
        var owned = new List<IDisposable>();
        T Own<T>(T d) where T : IDisposable
        {
            owned.Add(d);
            return d;
        }
        try
        {
            // ---- the cluster: three hubs on Azurite + PostgreSQL, nginx over one and over all three ----
            var database = await postgres.CreateDatabaseAsync();
            var container = "scale" + Guid.NewGuid().ToString("N")[..12];
            int front1Port = TestEnv.FreePort(), front3Port = TestEnv.FreePort();
            var hubs = Enumerable.Range(0, 3).Select(i => Own(HubServerProcess.Start(new Dictionary<string, string>
            {
                ["XMODHUB__Hub__DataDir"] = Path.Combine(work, $"hub{i}"),
                ["XMODHUB__Hub__PublicBaseUrl"] = $"http://127.0.0.1:{front3Port}",
                ["XMODHUB__Storage__Type"] = "AzureBlob",
                ["XMODHUB__Storage__ConnectionString"] = azurite.ConnectionString,
                ["XMODHUB__Storage__Container"] = container,
                ["XMODHUB__Database__Type"] = "PostgreSql",
                ["XMODHUB__Database__ConnectionString"] = database,
            }))).ToList();
            foreach (var hub in hubs)
            {
                await hub.WaitHealthyAsync();
            }
            var workers = Math.Max(1, Environment.ProcessorCount);
            var nginx1 = Own(await NginxProcess.StartProxyAsync(Path.Combine(work, "nginx1"), [hubs[0].Port], o.Nginx, workers, front1Port));
            var nginx3 = Own(await NginxProcess.StartProxyAsync(Path.Combine(work, "nginx3"), hubs.Select(h => h.Port), o.Nginx, workers, front3Port));
            Log($"3 hubs (Azure Blob on Azurite, PostgreSQL) healthy, nginx in front ({clock.Elapsed.TotalSeconds:F0} s)");

            using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(30) };
            await using var store = new PostgreSqlMetadataStore(new PostgreSqlMetadataOptions { ConnectionString = database });
            var key = await new ApiKeyService(store).CreateAsync("bench", [ApiKeyService.Push], "hub-scale", cancel);
            var feed = new FeedClient(http, new FeedSource("bench", nginx3.Address + "/v3/index.json", key));

            // ---- real pushes (through nginx): a nano trunk with three languages, and the mid-size package ----
            var languages = LanguageCatalog.All.Take(3).Select(l => l.Code).ToArray();
            foreach (var nupkg in TestPackages.Build(Path.Combine(work, "nano"), "xmod-nano", "1.0.0", 1, languages))
            {
                await feed.PushAsync(nupkg, cancel);
            }
            var mid = Pack(work, "bench-mini", XModConfig.Preset("mini") with { Languages = ["en_XX"] });
            var midSize = new FileInfo(mid).Length;
            await feed.PushAsync(mid, cancel);
            var midSha = SHA256.HashData(File.ReadAllBytes(mid));
            File.Delete(mid);
            Log($"pushed xmod-nano + {languages.Length} languages and bench-mini ({midSize / 1e6:F1} MB) through nginx");

            // ---- seed: trunks x languages, rows cloned from the real ones, straight into the index ----
            var seeded = await SeedAsync(store, o.Trunks, o.LanguagesPerTrunk, languages[0], cancel);
            Log($"seeded {seeded:N0} packages ({o.Trunks} trunks x {o.LanguagesPerTrunk} languages) in {clock.Elapsed.TotalSeconds:F0} s total");

            // ---- (a) search requests/s with wrk ----
            var targets = new (string Name, string Address)[]
            {
                ("1 instance, direct", hubs[0].Address),
                ("1 instance behind nginx", nginx1.Address),
                ("3 instances behind nginx", nginx3.Address),
            };
            // Under wrk: the search API, and a package's registration index (what every install reads first).
            // The languages page of one trunk is timed alone only: it reads every language row of the
            // index with one more query per row, seconds per request at this size, so a 10 s wrk run
            // completes none.
            var languagesPage = $"/api/languages?trunk=bench-trunk{o.Trunks / 2}";
            var queries = new (string Path, int Connections)[] { ("/v3/search?q=de", 16), ("/v3/registration/bench-mini/index.json", 16) };
            var single = new Dictionary<string, double>();
            foreach (var q in queries.Select(x => x.Path).Append(languagesPage))
            {
                // JIT and connection pools warm on every instance (nginx3 reaches hubs 1 and 2 only).
                foreach (var hub in hubs)
                {
                    for (var i = 0; i < 3; i++)
                    {
                        (await http.GetAsync(hub.Address + q, cancel)).EnsureSuccessStatusCode();
                    }
                }
                var times = new List<double>();
                for (var i = 0; i < (q == languagesPage ? 3 : 5); i++)
                {
                    var sw = Stopwatch.StartNew();
                    (await http.GetAsync(hubs[0].Address + q, cancel)).EnsureSuccessStatusCode();
                    times.Add(sw.Elapsed.TotalMilliseconds);
                }
                single[q] = Measure.Median(times);
                Log(string.Create(s_inv, $"{q}: {single[q]:F1} ms for one request alone (median)"));
            }
            var search = new Dictionary<(string Query, string Target), List<Wrk>>();
            for (var r = 0; r < o.Rounds; r++)
            {
                foreach (var (q, connections) in queries)
                {
                    // Alternate the order each round so no target always runs first.
                    foreach (var (name, address) in Alternate(targets, r))
                    {
                        var result = await RunWrkAsync(address + q, connections, o.Seconds, cancel);
                        (search.TryGetValue((q, name), out var list) ? list : search[(q, name)] = []).Add(result);
                        Log(string.Create(s_inv, $"round {r + 1} search {q} via {name}: {result.RequestsPerSecond:F0} req/s, p50 {result.P50Ms:F1} ms, p99 {result.P99Ms:F1} ms{(result.Errors > 0 ? $", {result.Errors} errors" : "")}"));
                    }
                }
            }

            // ---- (b) download ("install") throughput of the mid-size package ----
            var midUrl = "/v3/package/bench-mini/1.0.0/bench-mini.1.0.0.nupkg";
            foreach (var (_, address) in targets)
            {
                var bytes = await http.GetByteArrayAsync(address + midUrl, cancel);
                if (!SHA256.HashData(bytes).AsSpan().SequenceEqual(midSha))
                {
                    throw new InvalidOperationException($"{address}{midUrl} served other bytes than were pushed");
                }
            }
            var downloads = new Dictionary<string, List<(double MBps, double PerSecond)>>();
            for (var r = 0; r < o.Rounds; r++)
            {
                foreach (var (name, address) in Alternate(targets, r))
                {
                    var d = await DownloadLoadAsync(address + midUrl, o.Clients, o.Seconds, cancel);
                    (downloads.TryGetValue(name, out var list) ? list : downloads[name] = []).Add(d);
                    Log(string.Create(s_inv, $"round {r + 1} downloads via {name}: {d.MBps:F0} MB/s, {d.PerSecond:F1} packages/s ({o.Clients} clients)"));
                }
            }
            foreach (var d in owned)
            {
                d.Dispose();
            }
            owned.Clear();

            // ---- (c) push of a large package: Azurite vs the file system, both on PostgreSQL ----
            var big = Pack(work, "bench-big", XModConfig.Preset("base") with { NumLayers = o.PushLayers, VocabSize = 25000, MaskTokenId = 24999, Languages = ["en_XX"] });
            var bigSize = new FileInfo(big).Length;
            Log($"large package: {bigSize / 1e6:F0} MB");
            var pushes = new Dictionary<string, List<double>> { ["Azure Blob (Azurite)"] = [], ["file system"] = [] };
            for (var r = 0; r < o.Rounds; r++)
            {
                foreach (var target in Alternate(pushes.Keys.ToArray(), r))
                {
                    var mbps = await PushOnceAsync(target == "file system", azurite, postgres, Path.Combine(work, $"push-{r}"), big, bigSize, cancel);
                    pushes[target].Add(mbps);
                    Log(string.Create(s_inv, $"round {r + 1} push into {target}: {mbps:F0} MB/s"));
                }
            }
            File.Delete(big);

            // ---- the report ----
            Console.WriteLine($"machine: {Measure.Machine()} (shared: other sessions were building and testing)");
            Console.WriteLine(string.Create(s_inv, $"date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; {o.Rounds} rounds, targets alternated each round; medians; run took {clock.Elapsed.TotalMinutes:F0} min"));
            Console.WriteLine(string.Create(s_inv, $"index: {seeded + 1 + languages.Length + 1:N0} packages ({o.Trunks} seeded trunks x {o.LanguagesPerTrunk} languages, plus xmod-nano with {languages.Length} languages and bench-mini pushed); Azurite 3 and PostgreSQL 15 (fsync off) on loopback"));
            Console.WriteLine();
            Console.WriteLine(string.Create(s_inv, $"search, wrk -t2 -cN -d{o.Seconds}s --timeout 60s (requests/s; latency p50 / p99 ms; one request alone on 1 instance: median of 5):"));
            Console.WriteLine();
            Console.WriteLine("| query | connections | one request alone, ms | target | req/s | p50 ms | p99 ms | vs 1 instance direct |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|");
            foreach (var (q, connections) in queries)
            {
                var baseline = Measure.Median(search[(q, targets[0].Name)].Select(w => w.RequestsPerSecond));
                foreach (var (name, _) in targets)
                {
                    var runs = search[(q, name)];
                    var rps = Measure.Median(runs.Select(w => w.RequestsPerSecond));
                    var errors = runs.Sum(w => w.Errors);
                    Console.WriteLine(string.Create(s_inv, $"| `{q}` | {connections} | {single[q]:F0} | {name} | {rps:F1}{(errors > 0 ? $" ({errors} errors)" : "")} | {Measure.Median(runs.Select(w => w.P50Ms)):F1} | {Measure.Median(runs.Select(w => w.P99Ms)):F1} | {Ratio(rps, baseline)} |"));
                }
            }
            Console.WriteLine();
            Console.WriteLine(string.Create(s_inv, $"`{languagesPage}` (one trunk's {o.LanguagesPerTrunk} languages), one request alone on 1 instance: {single[languagesPage]:F0} ms (median of 3); not under wrk."));
            Console.WriteLine();
            Console.WriteLine(string.Create(s_inv, $"downloads of bench-mini 1.0.0 ({midSize / 1e6:F1} MB, incompressible), {o.Clients} concurrent clients for {o.Seconds} s:"));
            Console.WriteLine();
            Console.WriteLine("| target | MB/s | packages/s | vs 1 instance direct |");
            Console.WriteLine("|---|---|---|---|");
            var downloadBase = Measure.Median(downloads[targets[0].Name].Select(d => d.MBps));
            foreach (var (name, _) in targets)
            {
                var mbps = Measure.Median(downloads[name].Select(d => d.MBps));
                Console.WriteLine(string.Create(s_inv, $"| {name} | {mbps:F0} | {Measure.Median(downloads[name].Select(d => d.PerSecond)):F1} | {Ratio(mbps, downloadBase)} |"));
            }
            Console.WriteLine();
            Console.WriteLine(string.Create(s_inv, $"push of bench-big 1.0.0 ({bigSize / 1e6:F0} MB, incompressible) to a fresh hub per push, PostgreSQL metadata for both:"));
            Console.WriteLine();
            Console.WriteLine("| storage | MB/s (median) | rounds | vs file system |");
            Console.WriteLine("|---|---|---|---|");
            var fs = Measure.Median(pushes["file system"]);
            foreach (var (name, list) in pushes)
            {
                var m = Measure.Median(list);
                Console.WriteLine(string.Create(s_inv, $"| {name} | {m:F0} | {string.Join(", ", list.Select(v => v.ToString("F0", s_inv)))} | {Ratio(m, fs)} |"));
            }
            return 0;
        }
        finally
        {
            foreach (var d in Enumerable.Reverse(owned))
            {
                d.Dispose();
            }
        }
    }

    private static string Ratio(double value, double baseline) => baseline > 0 ? (value / baseline).ToString("F2", s_inv) + "x" : "n/a";

    /// <summary>Round <paramref name="round"/>'s order: as given on even rounds, reversed on odd ones, so no target always goes first.</summary>
    private static IEnumerable<T> Alternate<T>(T[] items, int round) => round % 2 == 0 ? items : Enumerable.Reverse(items);

    /// <summary>A trunk package of <paramref name="config"/>'s shape with random (incompressible) weights; the model folder is deleted.</summary>
    private static string Pack(string work, string id, XModConfig config)
    {
        var model = SyntheticCheckpoint.Write(Path.Combine(work, "model-" + id), config, 7);
        var nupkg = NupkgWriter.Pack(ModelPackages.Trunk(model, id, "1.0.0", Path.Combine(work, "pkg-" + id)), Path.Combine(work, "out"));
        Directory.Delete(model, recursive: true);
        Directory.Delete(Path.Combine(work, "pkg-" + id), recursive: true);
        return nupkg;
    }

    /// <summary>
    /// Rows for <paramref name="trunks"/> trunks with <paramref name="perTrunk"/> languages each, cloned
    /// from the real xmod-nano rows (so manifests parse), added through the store as a hub adds them.
    /// </summary>
    private static async Task<int> SeedAsync(PostgreSqlMetadataStore store, int trunks, int perTrunk, string realLanguage, CancellationToken cancel)
    {
        var trunk = await store.GetAsync("xmod-nano", "1.0.0", cancel) ?? throw new InvalidOperationException("the pushed trunk is not in the index");
        var realId = $"xmod-nano.lang-{LanguageCatalog.All.First(l => l.Code == realLanguage).Bcp47}";
        var language = await store.GetAsync(realId, "1.0.0", cancel) ?? throw new InvalidOperationException($"the pushed {realId} is not in the index");
        // The catalogue's languages, then codes from ISO 639's local-use range (qaa-qtz).
        var codes = LanguageCatalog.All.Select(l => (l.Code, l.Bcp47, l.EnglishName, l.Autonym, l.Script, l.Family))
            .Concat(Enumerable.Range(0, 520).Select(i => $"q{(char)('a' + i / 26 % 20)}{(char)('a' + i % 26)}{(i >= 260 ? "x" : "")}")
                .Select(c => ($"{c}_XX", c, $"Synthetic {c}", c, "Latn", "Synthetic")))
            .Take(perTrunk).ToList();
        var random = new Random(13);
        var added = 0;
        for (var t = 0; t < trunks; t++)
        {
            var trunkId = $"bench-trunk{t}";
            await AddAsync(trunk with { Id = trunkId, Published = DateTimeOffset.UtcNow, Description = $"synthetic trunk {t}" });
            added++;
            foreach (var (code, bcp47, english, autonym, script, family) in codes)
            {
                await AddAsync(language with
                {
                    Id = $"{trunkId}.lang-{bcp47}", TrunkId = trunkId, LanguageCode = code, Bcp47 = bcp47, EnglishName = english,
                    Autonym = autonym, Script = script, Family = family, Published = DateTimeOffset.UtcNow,
                    Description = $"{english} module for {trunkId}", Perplexity = 5 + random.NextDouble() * 40,
                });
                added++;
            }
        }
        return added;

        async Task AddAsync(PackageRecord record)
        {
            if (await store.AddAsync(record, cancel) != AddResult.Added)
            {
                throw new InvalidOperationException($"seeding: {record.Id} {record.Version} was in the index already");
            }
        }
    }

    private sealed record Wrk(double RequestsPerSecond, double P50Ms, double P99Ms, long Errors);

    private static async Task<Wrk> RunWrkAsync(string url, int connections, int seconds, CancellationToken cancel)
    {
        using var p = Process.Start(ProcessRunner.StartInfo("wrk", ["-t2", $"-c{connections}", $"-d{seconds}s", "--timeout", "60s", "--latency", url]))!;
        var stderr = p.StandardError.ReadToEndAsync(CancellationToken.None);
        var output = p.StandardOutput.ReadToEndAsync(CancellationToken.None);
        try
        {
            await p.WaitForExitAsync(cancel);
        }
        finally
        {
            if (!p.HasExited)
            {
                p.Kill();
                p.WaitForExit();
            }
        }
        var text = await output;
        if (p.ExitCode != 0 || RequestsPerSec().Match(text) is not { Success: true } rps)
        {
            throw new InvalidOperationException($"wrk {url} failed ({p.ExitCode}): {text}{await stderr}");
        }
        long errors = 0;
        if (Non2xx().Match(text) is { Success: true } bad)
        {
            errors += long.Parse(bad.Groups[1].Value, s_inv);
        }
        if (SocketErrors().Match(text) is { Success: true } socket)
        {
            errors += Enumerable.Range(1, 4).Sum(i => long.Parse(socket.Groups[i].Value, s_inv));
        }
        return new Wrk(double.Parse(rps.Groups[1].Value, s_inv), Percentile(text, "50"), Percentile(text, "99"), errors);
    }

    /// <summary>wrk's --latency distribution line ("50%  1.23ms") in milliseconds.</summary>
    private static double Percentile(string wrk, string percent)
    {
        var m = Regex.Match(wrk, $@"^\s*{percent}(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
        if (!m.Success)
        {
            return double.NaN;
        }
        var v = double.Parse(m.Groups[1].Value, s_inv);
        return m.Groups[2].Value switch { "us" => v / 1000, "s" => v * 1000, _ => v };
    }

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RequestsPerSec();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex Non2xx();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex SocketErrors();

    /// <summary><paramref name="clients"/> loops downloading <paramref name="url"/> whole for <paramref name="seconds"/> s; bytes and completed downloads per second.</summary>
    private static async Task<(double MBps, double PerSecond)> DownloadLoadAsync(string url, int clients, int seconds, CancellationToken cancel)
    {
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = clients, PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromMinutes(5) };
        long bytes = 0, done = 0;
        var clock = Stopwatch.StartNew();
        var until = TimeSpan.FromSeconds(seconds);
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            var buffer = new byte[1 << 16];
            while (clock.Elapsed < until)
            {
                using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancel);
                response.EnsureSuccessStatusCode();
                await using var body = await response.Content.ReadAsStreamAsync(cancel);
                int n;
                while ((n = await body.ReadAsync(buffer, cancel)) > 0)
                {
                    Interlocked.Add(ref bytes, n);
                }
                Interlocked.Increment(ref done);
            }
        }, cancel)));
        var elapsed = clock.Elapsed.TotalSeconds;
        return (bytes / elapsed / 1e6, done / elapsed);
    }

    /// <summary>One push into a fresh hub (its own database, container or data folder), deleted after.</summary>
    private static async Task<double> PushOnceAsync(bool fileSystem, AzuriteServer azurite, PostgresCluster postgres, string dir, string nupkg, long size, CancellationToken cancel)
    {
        var database = await postgres.CreateDatabaseAsync();
        var container = "push" + Guid.NewGuid().ToString("N")[..12];
        var settings = new Dictionary<string, string>
        {
            ["XMODHUB__Hub__DataDir"] = Path.Combine(dir, fileSystem ? "fs" : "azure"),
            ["XMODHUB__Database__Type"] = "PostgreSql",
            ["XMODHUB__Database__ConnectionString"] = database,
        };
        if (!fileSystem)
        {
            settings["XMODHUB__Storage__Type"] = "AzureBlob";
            settings["XMODHUB__Storage__ConnectionString"] = azurite.ConnectionString;
            settings["XMODHUB__Storage__Container"] = container;
        }
        try
        {
            using var hub = HubServerProcess.Start(settings);
            await hub.WaitHealthyAsync();
            await using var store = new PostgreSqlMetadataStore(new PostgreSqlMetadataOptions { ConnectionString = database });
            var key = await new ApiKeyService(store).CreateAsync("bench", [ApiKeyService.Push], "hub-scale", cancel);
            using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(30) };
            var clock = Stopwatch.StartNew();
            await new FeedClient(http, new FeedSource("bench", hub.Address + "/v3/index.json", key)).PushAsync(nupkg, cancel);
            return size / clock.Elapsed.TotalSeconds / 1e6;
        }
        finally
        {
            if (!fileSystem)
            {
                // The pushed blob and anything a failed push left: Azurite keeps its data on this disk.
                var storage = new AzureBlobStorage(new AzureBlobStorageOptions { ConnectionString = azurite.ConnectionString, Container = container });
                await foreach (var blob in storage.ListAsync("", CancellationToken.None))
                {
                    await storage.DeleteAsync(blob.Path, CancellationToken.None);
                }
            }
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    private static void Log(string line) => Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {line}");
}
