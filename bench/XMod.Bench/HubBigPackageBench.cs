using System.Diagnostics;
using System.Globalization;
using NuGet.Versioning;
using XMod.Packaging.Checkpoints;
using XMod.Packaging.Languages;
using XMod.Packaging.Manifests;
using XMod.Packaging.Nupkg;
using XModHub.Client;
using XModHub.Client.Cache;
using XModHub.Client.Feeds;
using XModHub.Client.Packages;
using XMod.TestSupport;

namespace XMod.Bench;

/// <summary>
/// Issue 11: packages of real size. A trunk shaped like xmod-base (12 x 768, vocabulary 250,002;
/// ~1.1 GB, random weights so nothing compresses) pushed to a hub process and downloaded back, on
/// loopback, against nginx serving (and receiving, WebDAV PUT) the same file in the same run; the
/// hub's peak RSS while receiving; the real `dotnet nuget push` of it; a resumed install; then
/// `publish --model` of the trunk and its 81 languages.
/// </summary>
internal static class HubBigPackageBench
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(string nginx, int rounds, int languages, string? workDir)
    {
        var loadAtStart = Measure.Load();
        var work = workDir ?? Directory.CreateTempSubdirectory("xmod-hub-bigpkg-").FullName;
        Directory.CreateDirectory(work);
        // A kept --work directory keeps its model; hubs, homes and nginx folders start afresh (a hub
        // that has keys already prints no admin key, and its versions exist).
        foreach (var d in Directory.GetDirectories(work).Where(d => Path.GetFileName(d) != "model"))
        {
            Directory.Delete(d, recursive: true);
        }
        try
        {
            // xmod-base's own language codes (all in the catalogue), then codes from ISO 639's local-use range (qaa-qtz) for more.
            var codes = XmodBase.Languages.Concat(Enumerable.Range(0, 260).Select(i => $"q{(char)('a' + i / 26)}{(char)('a' + i % 26)}_XX"))
                .Take(languages).ToList();
            var config = XModConfig.Preset("base") with { Languages = codes };
            var large = XModConfig.Preset("large-prenorm") with { Languages = ["en_XX"] };
            long trunkParams = XModLayout.Count(XModLayout.Trunk(config)), moduleParams = XModLayout.Count(XModLayout.Module(config, codes[0]));
            Log($"base-shaped model: trunk {trunkParams:N0} parameters, {languages} modules of {moduleParams:N0}; total {trunkParams + languages * moduleParams:N0}");
            Log($"xmod-large (pre-norm 24 x 1024) trunk: {XModLayout.Count(XModLayout.Trunk(large)):N0} parameters = {XModLayout.Count(XModLayout.Trunk(large)) * 4:N0} bytes in float32");

            var clock = Stopwatch.StartNew();
            var model = Path.Combine(work, "model");
            if (!File.Exists(Path.Combine(model, ModelFiles.Trunk)))
            {
                SyntheticCheckpoint.Write(model, config, 1);
            }
            Log($"model written in {clock.Elapsed.TotalSeconds:F0} s");
            clock.Restart();
            var nupkg = NupkgWriter.Pack(ModelPackages.Trunk(model, "bench-base", "1.0.0", Path.Combine(work, "trunk-pkg")), Path.Combine(work, "out"));
            Directory.Delete(Path.Combine(work, "trunk-pkg"), recursive: true);
            var size = new FileInfo(nupkg).Length;
            var packSeconds = clock.Elapsed.TotalSeconds;
            Log($"trunk package {size:N0} bytes, packed in {packSeconds:F0} s");

            using var ng = await NginxProcess.StartStaticAsync(Path.Combine(work, "nginx"), nupkg, nginx);
            using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(30) };

            var push = new List<double>();
            var pushRss = new List<long>();
            var nginxPut = new List<double>();
            var download = new List<double>();
            var sha = new List<double>();
            var reference = new List<double>();
            string? feedUrl = null;
            HubProcess? hub = null;
            try
            {
                for (var r = 0; r < rounds; r++)
                {
                    // A fresh hub process per round: its peak RSS is this push's.
                    hub?.Dispose();
                    hub = await HubProcess.StartAsync(Path.Combine(work, $"hub{r}"), TimeSpan.FromMinutes(3));
                    feedUrl = hub.Address + "/v3/index.json";
                    var feed = new FeedClient(http, new FeedSource("bench", feedUrl, hub.AdminKey));
                    var before = hub.PeakRssBytes();
                    clock.Restart();
                    await feed.PushAsync(nupkg, default);
                    push.Add(size / clock.Elapsed.TotalSeconds / 1e6);
                    pushRss.Add(hub.PeakRssBytes());
                    Log($"round {r + 1}: push {push[^1]:F0} MB/s (hub peak RSS {before / 1e6:F0} MB at start, {pushRss[^1] / 1e6:F0} MB after)");

                    // The push's floor on this CPU, measured beside it: a full validation is two SHA-256 passes (the
                    // package while receiving, every entry while validating), and this vCPU's speed drifts 2x within minutes.
                    clock.Restart();
                    await using (var file = new FileStream(nupkg, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20))
                    {
                        await System.Security.Cryptography.SHA256.HashDataAsync(file);
                    }
                    sha.Add(size / clock.Elapsed.TotalSeconds / 1e6);

                    clock.Restart();
                    await using (var file = File.OpenRead(nupkg))
                    using (var put = await http.PutAsync(ng.PutUrl($"r{r}.nupkg"), new StreamContent(file, 1 << 20)))
                    {
                        put.EnsureSuccessStatusCode();
                    }
                    nginxPut.Add(size / clock.Elapsed.TotalSeconds / 1e6);

                    for (var d = 0; d < 2; d++)
                    {
                        download.Add(size / await HubBench.TimeGet(http, $"{hub.Address}/v3/package/bench-base/1.0.0/bench-base.1.0.0.nupkg") / 1e6);
                        reference.Add(size / await HubBench.TimeGet(http, ng.StaticUrl) / 1e6);
                    }
                    Log($"round {r + 1}: nginx PUT {nginxPut[^1]:F0} MB/s; download {download[^2]:F0}/{download[^1]:F0} MB/s, nginx {reference[^2]:F0}/{reference[^1]:F0} MB/s");
                }

                // The hub behind nginx, handing downloads to it (X-Accel-Redirect, the README's setup): the
                // hub still authorises, counts and sets the ETag; nginx sends the file with sendfile.
                var accel = new List<double>();
                using (var accelHub = await HubProcess.StartAsync(Path.Combine(work, "hub-accel"), TimeSpan.FromMinutes(3),
                    new Dictionary<string, string> { ["Hub:AccelRedirectPrefix"] = NginxProcess.AccelPrefix }))
                {
                    await new FeedClient(http, new FeedSource("bench", accelHub.FeedUrl, accelHub.AdminKey)).PushAsync(nupkg, default);
                    using var proxy = await NginxProcess.StartProxyAsync(Path.Combine(work, "nginx-accel"), [new Uri(accelHub.Address).Port], nginx,
                        accelStorage: Path.Combine(accelHub.DataDir, "packages"));
                    for (var d = 0; d < 2 * rounds; d++)
                    {
                        accel.Add(size / await HubBench.TimeGet(http, $"{proxy.Address}/v3/package/bench-base/1.0.0/bench-base.1.0.0.nupkg") / 1e6);
                        reference.Add(size / await HubBench.TimeGet(http, ng.StaticUrl) / 1e6);
                    }
                    Log($"download through nginx with X-Accel-Redirect: {string.Join("/", accel.Select(a => a.ToString("F0", s_inv)))} MB/s");
                }

                // An install as a user runs it (download, hash, validation, unpack), killed at 60% and run again.
                var home = Path.Combine(work, "user");
                var cache = new PackageCache(home);
                var reader = new FeedClient(http, new FeedSource("bench", feedUrl!, null));
                var v1 = NuGetVersion.Parse("1.0.0");
                try
                {
                    await cache.InstallAsync("bench-base", v1, async (offset, etag, c) =>
                    {
                        var d = await reader.DownloadAsync("bench-base", v1, offset, etag, c);
                        return d with { Content = new BreaksOffStream(d.Content, size * 6 / 10) };
                    }, "bench", null, default);
                }
                catch (XModException e)
                {
                    Log("first install: " + e.Message);
                }
                clock.Restart();
                await cache.InstallAsync("bench-base", v1, (offset, etag, c) => reader.DownloadAsync("bench-base", v1, offset, etag, c), "bench", null, default);
                var resumeSeconds = clock.Elapsed.TotalSeconds;
                Log($"resumed install (the last 40%, hash of all, validation, unpack) in {resumeSeconds:F1} s");
                Directory.Delete(home, recursive: true);

                // The real dotnet CLI, as a NuGet user pushes.
                hub!.Dispose();
                hub = await HubProcess.StartAsync(Path.Combine(work, "hub-dotnet"), TimeSpan.FromMinutes(3));
                clock.Restart();
                var cli = DotnetPush(work, hub.Address + "/v3/index.json", hub.AdminKey, nupkg);
                var dotnetPush = size / clock.Elapsed.TotalSeconds / 1e6;
                var dotnetRss = hub.PeakRssBytes();
                Log($"dotnet nuget push: {dotnetPush:F0} MB/s, hub peak RSS {dotnetRss / 1e6:F0} MB; {cli}");

                // publish --model: the trunk and every language, packed and pushed by the client.
                hub.Dispose();
                hub = await HubProcess.StartAsync(Path.Combine(work, "hub-model"), TimeSpan.FromMinutes(3));
                var publisherHome = Path.Combine(work, "publisher");
                var manager = new PackageManager(new ClientConfig { Sources = [new FeedSource("bench", hub.Address + "/v3/index.json", hub.AdminKey)] },
                    new PackageCache(publisherHome), http, new BufferReporter());
                clock.Restart();
                await manager.PublishModelAsync(model, "bench-model", "1.0.0", "bench", default);
                var publishSeconds = clock.Elapsed.TotalSeconds;
                var publishRss = hub.PeakRssBytes();
                using var languagesDoc = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync(hub.Address + "/api/languages?trunk=bench-model"));
                var published = languagesDoc.RootElement.GetProperty("total").GetInt32();
                Log($"publish --model: trunk + {published} languages in {publishSeconds:F0} s, hub peak RSS {publishRss / 1e6:F0} MB");

                double mp = Measure.Median(push), md = Measure.Median(download), mr = Measure.Median(reference), mput = Measure.Median(nginxPut);
                Console.WriteLine($"machine: {Measure.Machine()}; load average {loadAtStart} at the start, {Measure.Load()} at the end");
                Console.WriteLine($"date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; {rounds} push rounds (a fresh hub process each), {download.Count} downloads; medians");
                Console.WriteLine(string.Create(s_inv, $"package: bench-base 1.0.0, {size:N0} bytes (trunk {trunkParams:N0} float32 parameters, random: incompressible); packed in {packSeconds:F0} s"));
                Console.WriteLine();
                Console.WriteLine("| transfer on loopback | MB/s | vs nginx serving |");
                Console.WriteLine("|---|---|---|");
                Console.WriteLine(string.Create(s_inv, $"| nginx serving the file (sendfile) | {mr:F0} | 100% |"));
                Console.WriteLine(string.Create(s_inv, $"| hub download (HttpClient) | {md:F0} | {md / mr:P0} |"));
                Console.WriteLine(string.Create(s_inv, $"| hub download behind nginx, X-Accel-Redirect (HttpClient) | {Measure.Median(accel):F0} | {Measure.Median(accel) / mr:P0} |"));
                Console.WriteLine(string.Create(s_inv, $"| nginx receiving it (WebDAV PUT, no checks) | {mput:F0} | {mput / mr:P0} |"));
                Console.WriteLine(string.Create(s_inv, $"| hub push (`xmod-hub publish` client): receive + sha256, full validation, store | {mp:F0} | {mp / mr:P0} ({mp / mput:P0} of nginx's PUT) |"));
                Console.WriteLine(string.Create(s_inv, $"| hub push through `dotnet nuget push` | {dotnetPush:F0} | {dotnetPush / mr:P0} |"));
                var ms = Measure.Median(sha);
                Console.WriteLine(string.Create(s_inv, $"| sha256 of the file, one core (the push's floor: two passes = {ms / 2:F0} MB/s) | {ms:F0} | {ms / mr:P0} |"));
                Console.WriteLine();
                Console.WriteLine(string.Create(s_inv, $"push vs its floor of two SHA-256 passes on this CPU: {mp / (ms / 2):P0}"));
                Console.WriteLine();
                Console.WriteLine(string.Create(s_inv, $"hub peak RSS (VmHWM, whole process life) after receiving {size / 1e9:F2} GB: {string.Join(", ", pushRss.Select(p => $"{p / 1e6:F0} MB"))}; dotnet nuget push {dotnetRss / 1e6:F0} MB; after publish --model {publishRss / 1e6:F0} MB"));
                Console.WriteLine(string.Create(s_inv, $"install killed at 60% then run again: resumed with a Range request, {resumeSeconds:F1} s for the rest (download 40%, sha256 of all, validation, unpack)"));
                Console.WriteLine(string.Create(s_inv, $"publish --model (pack + local validation + push, {languages} languages): trunk + {published} language packages in {publishSeconds:F0} s"));
                return 0;
            }
            finally
            {
                hub?.Dispose();
            }
        }
        finally
        {
            if (workDir is null)
            {
                Directory.Delete(work, recursive: true);
            }
        }
    }

    private static void Log(string line) => Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {line}");

    private static string DotnetPush(string work, string feedUrl, string key, string nupkg)
    {
        var dir = Directory.CreateDirectory(Path.Combine(work, "dotnet-cli")).FullName;
        File.WriteAllText(Path.Combine(dir, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration><packageSources><clear /><add key="hub" value="{feedUrl}" allowInsecureConnections="true" /></packageSources></configuration>
            """);
        var start = new ProcessStartInfo("dotnet", ["nuget", "push", nupkg, "--source", "hub", "--api-key", key, "--timeout", "1800"])
        {
            WorkingDirectory = dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(start)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet nuget push failed ({p.ExitCode}): {output} {stderr.Result}");
        }
        return output.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.Length > 0) ?? "";
    }
}
