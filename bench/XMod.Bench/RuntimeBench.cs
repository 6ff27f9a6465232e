using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using XMod.Packaging.Checkpoints;
using XMod.Packaging.Manifests;
using XMod.Packaging.Nupkg;
using XMod.Runtime.Serving;
using XModHub.Client;
using XModHub.Client.Cache;
using XModHub.Client.Feeds;
using XModHub.Client.Packages;
using XModHub.Core;
using XModHub.Server;

namespace XMod.Bench;

/// <summary>
/// Issue 6: cold install of a language package (its trunk already installed, and the trunk
/// itself), and the time to hot-load a language into a running model: the mini preset's module
/// and a base-sized one (12 x (2 x 768 x 384 + 384 + 768) = 7.1M parameters).
/// </summary>
internal static class RuntimeBench
{
    public static async Task<int> RunAsync(int rounds)
    {
        var inv = CultureInfo.InvariantCulture;
        var work = Directory.CreateTempSubdirectory("xmod-runtime-bench-").FullName;
        try
        {
            var results = new List<string>();
            foreach (var preset in new[] { "mini", "base" })
            {
                var config = XModConfig.Preset(preset) with { Languages = ["de_DE", "fr_XX"], VocabSize = preset == "mini" ? 16001 : 250002 };
                // The trunk's values do not matter for loading speed: zeros keep a 1 GB base trunk cheap to make.
                var model = SyntheticCheckpoint.Write(Path.Combine(work, preset), config, 1, zeroTrunk: true);
                var trunkId = $"bench-{preset}";
                var nupkgs = new List<string> { NupkgWriter.Pack(ModelPackages.Trunk(model, trunkId, "1.0.0", Path.Combine(work, $"{preset}-trunk")), Path.Combine(work, "out")) };
                nupkgs.AddRange(config.Languages.Select(l => NupkgWriter.Pack(ModelPackages.Language(model, trunkId, l, "1.0.0", Path.Combine(work, $"{preset}-{l}")), Path.Combine(work, "out"))));

                var hub = await HubApp.StartAsync(Path.Combine(work, $"hub-{preset}"), configure: b => b.Logging.ClearProviders());
                var address = hub.Address;
                var key = await hub.Service<ApiKeyService>().CreateAsync("bench", [ApiKeyService.Push], "bench", default);
                var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
                var feed = new FeedClient(http, new FeedSource("bench", address + "/v3/index.json", key));
                foreach (var n in nupkgs)
                {
                    await feed.PushAsync(n, default);
                }

                var trunkInstall = new List<double>();
                var languageInstall = new List<double>();
                var hotLoad = new List<double>();
                for (var r = 0; r < rounds; r++)
                {
                    var home = Path.Combine(work, $"user-{preset}-{r}");
                    var user = new PackageManager(new ClientConfig { Sources = [new FeedSource("bench", address + "/v3/index.json", null)], DefaultTrunk = trunkId },
                        new PackageCache(home), http, new BufferReporter());
                    var sw = Stopwatch.StartNew();
                    await user.InstallAsync(trunkId, null, default);
                    trunkInstall.Add(sw.Elapsed.TotalSeconds);
                    sw.Restart();
                    await user.InstallAsync("lang-de", null, default);
                    languageInstall.Add(sw.Elapsed.TotalSeconds);
                    await user.InstallAsync("lang-fr", null, default);

                    using var runtime = XModRuntime.Open(new XModRuntimeOptions { Home = home, Trunk = trunkId, Languages = ["fr"] });
                    sw.Restart();
                    runtime.LoadLanguage("de");
                    hotLoad.Add(sw.Elapsed.TotalMilliseconds);
                    Console.Error.WriteLine($"{preset} round {r + 1}: trunk install {trunkInstall[^1]:F2} s, lang-de install {languageInstall[^1]:F2} s, hot-load {hotLoad[^1]:F0} ms");
                    Directory.Delete(home, recursive: true);
                }
                await hub.DisposeAsync();
                var moduleParams = XModLayout.Count(XModLayout.Module(config, "de_DE"));
                var trunkMb = new FileInfo(nupkgs[0]).Length / 1e6;
                var moduleMb = new FileInfo(nupkgs[1]).Length / 1e6;
                results.Add(string.Create(inv,
                    $"| {preset} | {trunkMb:F1} MB | {Measure.Median(trunkInstall):F2} s | {moduleParams / 1e6:F2} M ({moduleMb:F1} MB) | {Measure.Median(languageInstall):F2} s | {Measure.Median(hotLoad):F0} ms |"));
                Directory.Delete(model, recursive: true);
            }
            Console.WriteLine($"machine: {Measure.Machine()}");
            Console.WriteLine($"date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; medians of {rounds} rounds; hub on loopback, empty cache each round");
            Console.WriteLine();
            Console.WriteLine("| preset | trunk package | cold install of the trunk | language module | cold install of lang-de | hot-load into a running model |");
            Console.WriteLine("|---|---|---|---|---|---|");
            foreach (var r in results)
            {
                Console.WriteLine(r);
            }
            return 0;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
