using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using XMod.Packaging.Checkpoints;
using XMod.Packaging.Manifests;
using XMod.Packaging.Nupkg;
using XModHub.Core;
using XModHub.Server;

namespace XMod.Bench;

/// <summary>
/// Issue 5: push and download throughput of a ~100 MB package through the hub on loopback, against
/// nginx serving the same file (this machine's physical limit), in one run; search latency p50/p99
/// with 1,000 packages indexed.
/// </summary>
internal static class HubBench
{
    public static async Task<int> RunAsync(string nginx, int rounds)
    {
        var inv = CultureInfo.InvariantCulture;
        var work = Directory.CreateTempSubdirectory("xmod-hub-bench-").FullName;
        try
        {
            // A trunk of ~100 MB (vocabulary 95k x 256), random bytes so nothing compresses.
            var config = XModConfig.Preset("mini") with { VocabSize = 95_000, Languages = ["de_DE"] };
            var model = SyntheticCheckpoint.Write(Path.Combine(work, "model"), config, 1);
            var nupkgs = Enumerable.Range(0, rounds).Select(r =>
                NupkgWriter.Pack(ModelPackages.Trunk(model, "bench-trunk", $"1.0.{r}", Path.Combine(work, $"pkg{r}")), Path.Combine(work, "out"))).ToList();
            var size = new FileInfo(nupkgs[0]).Length;

            await using var hub = await HubApp.StartAsync(Path.Combine(work, "hub"), configure: b => b.Logging.ClearProviders());
            var key = await hub.Service<ApiKeyService>().CreateAsync("bench", [ApiKeyService.Push], "bench", default);
            using var http = new HttpClient { BaseAddress = new Uri(hub.Address + "/"), Timeout = TimeSpan.FromMinutes(5) };

            // nginx serving the very same file.
            var nginxRoot = Path.Combine(work, "nginx");
            Directory.CreateDirectory(Path.Combine(nginxRoot, "logs"));
            File.Copy(nupkgs[0], Path.Combine(nginxRoot, "package.nupkg"));
            var port = 18000 + Environment.ProcessId % 1000;
            File.WriteAllText(Path.Combine(nginxRoot, "nginx.conf"), $$"""
                daemon off; worker_processes 1; pid {{nginxRoot}}/nginx.pid; error_log {{nginxRoot}}/logs/error.log;
                events { worker_connections 64; }
                http { access_log off; sendfile on; server { listen 127.0.0.1:{{port}}; root {{nginxRoot}}; } }
                """);
            // nginx's workers run as an unprivileged user: the files they serve must be readable to all.
            if (!OperatingSystem.IsWindows())
            {
                foreach (var d in new[] { work, nginxRoot })
                {
                    File.SetUnixFileMode(d, (UnixFileMode)0b111_101_101);
                }
                File.SetUnixFileMode(Path.Combine(nginxRoot, "package.nupkg"), (UnixFileMode)0b110_100_100);
            }
            using var nginxProcess = Process.Start(new ProcessStartInfo(nginx, ["-c", Path.Combine(nginxRoot, "nginx.conf"), "-p", nginxRoot])
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            await Task.Delay(500);
            var push = new List<double>();
            var download = new List<double>();
            var reference = new List<double>();
            try
            {
                for (var r = 0; r < rounds; r++)
                {
                    var bytes = File.ReadAllBytes(nupkgs[r]);
                    var sw = Stopwatch.StartNew();
                    using (var content = new MultipartFormDataContent { { new ByteArrayContent(bytes), "package", "p.nupkg" } })
                    using (var req = new HttpRequestMessage(HttpMethod.Put, "api/v2/package") { Content = content })
                    {
                        req.Headers.Add("X-NuGet-ApiKey", key);
                        var resp = await http.SendAsync(req);
                        if ((int)resp.StatusCode != 201)
                        {
                            throw new InvalidOperationException($"push failed: {resp.StatusCode} {await resp.Content.ReadAsStringAsync()}");
                        }
                    }
                    push.Add(size / sw.Elapsed.TotalSeconds / 1e6);
                    download.Add(size / await TimeGet(http, $"v3/package/bench-trunk/1.0.{r}/bench-trunk.1.0.{r}.nupkg") / 1e6);
                    reference.Add(size / await TimeGet(http, $"http://127.0.0.1:{port}/package.nupkg") / 1e6);
                    Console.Error.WriteLine($"round {r + 1}/{rounds}: push {push[^1]:F0} MB/s, download {download[^1]:F0} MB/s, nginx {reference[^1]:F0} MB/s");
                }
            }
            finally
            {
                nginxProcess.Kill(entireProcessTree: true);
            }

            // Search latency over 1,000 indexed language packages.
            var store = hub.Service<IPackageIndex>();
            var names = XMod.Packaging.Languages.LanguageCatalog.All;
            for (var i = 0; i < 1000; i++)
            {
                var l = names[i % names.Count];
                await store.AddAsync(new PackageRecord
                {
                    Id = $"trunk{i / names.Count}.lang-{l.Bcp47.ToLowerInvariant()}", Version = "1.0.0", Kind = PackageKind.Language, Published = DateTimeOffset.UtcNow,
                    ManifestJson = "{}", Size = 1, Sha256 = new string('0', 64), Publisher = "bench", TrunkId = $"trunk{i / names.Count}",
                    LanguageCode = l.Code, Bcp47 = l.Bcp47, EnglishName = l.EnglishName, Autonym = l.Autonym, Script = l.Script, Family = l.Family,
                    Description = $"{l.EnglishName} module", Tags = $"xmod language {l.Code}",
                }, default);
            }
            string[] queries = ["v3/search?q=lang-de", "v3/search?q=german&take=20", "api/languages?trunk=trunk7", "api/languages?script=Cyrl", "v3/search?q=&take=20"];
            var latencies = new List<double>();
            for (var i = 0; i < 400; i++)
            {
                var sw = Stopwatch.StartNew();
                (await http.GetAsync(queries[i % queries.Length])).EnsureSuccessStatusCode();
                if (i >= 20)
                {
                    latencies.Add(sw.Elapsed.TotalMilliseconds);
                }
            }
            latencies.Sort();

            double mp = Measure.Median(push), md = Measure.Median(download), mr = Measure.Median(reference);
            Console.WriteLine($"machine: {Measure.Machine()}");
            Console.WriteLine($"date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; medians of {rounds} rounds; package {size / 1e6:F1} MB (random weights, incompressible)");
            Console.WriteLine();
            Console.WriteLine("| transfer on loopback | MB/s | vs nginx |");
            Console.WriteLine("|---|---|---|");
            Console.WriteLine(string.Create(inv, $"| nginx serving the same file (physical limit) | {mr:F0} | 100% |"));
            Console.WriteLine(string.Create(inv, $"| hub download (dotnet's HttpClient) | {md:F0} | {md / mr:P0} |"));
            Console.WriteLine(string.Create(inv, $"| hub push: upload, full validation (every sha256, headers, shapes), store | {mp:F0} | {mp / mr:P0} |"));
            Console.WriteLine();
            Console.WriteLine(string.Create(inv, $"search with 1,000 packages indexed ({latencies.Count} requests, 5 query shapes): p50 {latencies[latencies.Count / 2]:F1} ms, p99 {latencies[(int)(latencies.Count * 0.99)]:F1} ms"));
            return 0;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>Seconds to GET <paramref name="url"/> to the end, reading as a client would.</summary>
    internal static async Task<double> TimeGet(HttpClient http, string url)
    {
        var sw = Stopwatch.StartNew();
        using var resp = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
        resp.EnsureSuccessStatusCode();
        await using var s = await resp.Content.ReadAsStreamAsync();
        var buffer = new byte[1 << 20];
        while (await s.ReadAsync(buffer) > 0)
        {
        }
        return sw.Elapsed.TotalSeconds;
    }
}
