using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using XModHub.Client;
using XModHub.Client.Cache;
using XModHub.Client.Feeds;
using XModHub.Client.Packages;
using XModHub.Core;
using XModHub.Plugins.Metadata.PostgreSql;

namespace XModHub.Plugins.Storage.AzureBlob.Tests;

/// <summary>
/// Issue 13, item 5: three hub processes sharing one Azurite and one PostgreSQL behind nginx on
/// loopback, as the README's community set-up runs them. One test, in phases, so the cluster starts
/// once: concurrent pushes of one version over all instances, publish on one and install from
/// another, search alike everywhere, an instance killed mid-push, the orphan sweeper.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class HubClusterTests(AzuriteFixture azurite, PostgresFixture postgres) : IClassFixture<PostgresFixture>, IDisposable
{
    private readonly TempDir _dir = new("xmod-hub-cluster-");
    private readonly List<IDisposable> _processes = [];

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            p.Dispose();
        }
        _dir.Dispose();
    }

    [Fact]
    public async Task Three_instances_behind_nginx_share_one_hub()
    {
        var database = await postgres.CreateDatabaseAsync();
        var container = "cluster" + Guid.NewGuid().ToString("N")[..8];
        // The public address is nginx's, known before it starts: the hubs advertise it.
        var proxyPort = TestEnv.FreePort();
        var front = $"http://127.0.0.1:{proxyPort}";
        var hubs = new List<HubServerProcess>();
        for (var i = 0; i < 3; i++)
        {
            hubs.Add(StartHub(i, database, container, front));
        }
        // Started together: the migrations run once under the advisory lock, the container is created once.
        foreach (var hub in hubs)
        {
            await hub.WaitHealthyAsync();
        }
        var nginx = await NginxProcess.StartProxyAsync(_dir["nginx"], hubs.Select(h => h.Port), port: proxyPort);
        _processes.Add(nginx);
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        await hubs[0].WaitHealthyAsync(front);

        // Keys live in the shared database: one made anywhere works on every instance.
        await using var store = new PostgreSqlMetadataStore(new PostgreSqlMetadataOptions { ConnectionString = database });
        var keys = new ApiKeyService(store);
        var alice = await keys.CreateAsync("alice", [ApiKeyService.Push], "cluster", default);
        var packages = TestPackages.Build(_dir["packages"], "xmod-nano", "1.0.0", 1, "de_DE", "fr_XX");

        // Publish through one instance ...
        Assert.Equal(HttpStatusCode.Created, (await PushAsync(http, hubs[0].Address, File.ReadAllBytes(packages[0]), alice)).StatusCode);

        // ... 20 concurrent pushes of one version, spread over the three: exactly one 201, the rest 409.
        var language = File.ReadAllBytes(packages[1]);
        var statuses = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(async () =>
        {
            using var response = await PushAsync(http, hubs[i % 3].Address, language, alice);
            return response.StatusCode;
        })));
        Assert.Equal(1, statuses.Count(s => s == HttpStatusCode.Created));
        Assert.Equal(19, statuses.Count(s => s == HttpStatusCode.Conflict));
        // Every losing push deleted the blob it wrote: one blob is left, the row's.
        var storage = new AzureBlobStorage(new AzureBlobStorageOptions { ConnectionString = azurite.ConnectionString, Container = container });
        var row = await store.GetAsync("xmod-nano.lang-de", "1.0.0", default);
        Assert.Equal([row!.BlobPath!], await BlobsAsync(storage, "packages/xmod-nano.lang-de/"));

        // ... browse and install through another (and through nginx).
        var page = await http.GetStringAsync($"{hubs[1].Address}/packages/xmod-nano.lang-de");
        Assert.Contains("xmod-hub install lang-de --trunk xmod-nano", page, StringComparison.Ordinal);
        foreach (var via in new[] { hubs[2].Address, front })
        {
            var user = new PackageManager(new ClientConfig { Sources = [new FeedSource("hub", via + "/v3/index.json", null)] },
                new PackageCache(_dir[$"user-{new Uri(via).Port}"]), new HttpClient(), new BufferReporter());
            var installed = await user.InstallAsync("lang-de", "xmod-nano", default);
            Assert.Equal(("xmod-nano.lang-de", "1.0.0"), (installed.Id, installed.Version));
        }

        // Search answers the same on every instance, byte for byte (all advertise the public address).
        foreach (var query in new[] { "/v3/search?q=de", "/v3/search?q=&take=5", "/api/languages?trunk=xmod-nano", "/v3/registration/xmod-nano.lang-de/index.json" })
        {
            var answers = await Task.WhenAll(hubs.Select(h => http.GetStringAsync(h.Address + query)));
            Assert.All(answers, a => Assert.Equal(answers[0], a));
            Assert.Contains("xmod-nano", answers[0], StringComparison.Ordinal);
        }

        // An instance killed with SIGKILL in the middle of a push: nothing of it is visible, the others serve on.
        var victim = hubs[2];
        var french = File.ReadAllBytes(packages[2]);
        var halfSent = new TaskCompletionSource();
        var stop = new TaskCompletionSource();
        var push = Task.Run(async () =>
        {
            try
            {
                using var content = new StalledContent(french, halfSent, stop.Task);
                using var request = new HttpRequestMessage(HttpMethod.Put, victim.Address + "/api/v2/package") { Content = content };
                request.Headers.Add("X-NuGet-ApiKey", alice);
                using var response = await http.SendAsync(request);
                return (HttpStatusCode?)response.StatusCode;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
            {
                return null;
            }
        });
        await halfSent.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await Task.Delay(300);
        victim.Process.Kill(); // SIGKILL
        await victim.Process.WaitForExitAsync();
        stop.TrySetResult();
        Assert.Null(await push.WaitAsync(TimeSpan.FromSeconds(30)));
        foreach (var via in new[] { hubs[0].Address, hubs[1].Address, front, front, front })
        {
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(via + "/v3/registration/xmod-nano.lang-fr/index.json")).StatusCode);
            using var search = JsonDocument.Parse(await http.GetStringAsync(via + "/v3/search?q=lang-fr"));
            Assert.Equal(0, search.RootElement.GetProperty("totalHits").GetInt32());
            // nginx moves on to a living instance; the package published before is served everywhere.
            var nupkg = await http.GetByteArrayAsync(via + "/v3/package/xmod-nano.lang-de/1.0.0/xmod-nano.lang-de.1.0.0.nupkg");
            Assert.Equal(SHA256.HashData(language), SHA256.HashData(nupkg));
        }
        Assert.Empty(await BlobsAsync(storage, "packages/xmod-nano.lang-fr/"));

        // What a kill between storing the blob and adding its row leaves (a blob without a row) is
        // never served, and the running instances' sweeper removes it once it is older than the minimum age.
        var orphan = PackageService.UniqueBlobPath("xmod-nano.lang-fr", "1.0.0");
        await storage.PutAsync(orphan, new MemoryStream(french), overwrite: false, default);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(front + "/v3/package/xmod-nano.lang-fr/1.0.0/xmod-nano.lang-fr.1.0.0.nupkg")).StatusCode);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((await BlobsAsync(storage, "packages/xmod-nano.lang-fr/")).Count > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the orphan blob {orphan} was not swept within 30 s");
            await Task.Delay(500);
        }
        // The sweep kept every blob that has its row.
        Assert.Equal([row.BlobPath!], await BlobsAsync(storage, "packages/xmod-nano.lang-de/"));

        // A push after the kill works through nginx, which skips the dead instance.
        using var after = await PushAsync(http, front, french, alice);
        Assert.True(after.StatusCode == HttpStatusCode.Created, $"{(int)after.StatusCode}: {await after.Content.ReadAsStringAsync()}");
    }

    /// <summary>The hub as operators start it (the Hub.Server executable, configured by XMODHUB__ variables): a wrong connection string is one line on stderr and exit code 1.</summary>
    [Theory]
    [InlineData("PostgreSql", "Host=127.0.0.1;Port={port};Username=hub;Password=s3cret;Database=hub", "xmod-hub: PostgreSQL at 127.0.0.1:{port}/hub is unreachable")]
    [InlineData("PostgreSql", "Host=127.0.0.1;Bogus=1", "xmod-hub: Database:ConnectionString is not a PostgreSQL connection string")]
    [InlineData("AzureBlob", "wrong-key", "xmod-hub: Azure Blob storage at {endpoint} refused the account key")]
    [InlineData("AzureBlob", "AccountName=x", "xmod-hub: Storage:ConnectionString")]
    public async Task A_wrong_connection_string_stops_the_hub_with_one_line(string provider, string connection, string expected)
    {
        var port = TestEnv.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        connection = connection.Replace("{port}", port, StringComparison.Ordinal);
        if (connection == "wrong-key")
        {
            connection = azurite.ConnectionString.Replace("Eby8", "Xby8", StringComparison.Ordinal);
        }
        expected = expected.Replace("{port}", port, StringComparison.Ordinal).Replace("{endpoint}", azurite.Endpoint, StringComparison.Ordinal);
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Hub.Server.dll"), "--urls", "http://127.0.0.1:0" })
        {
            info.ArgumentList.Add(a);
        }
        info.Environment["XMODHUB__Hub__DataDir"] = _dir["data"];
        info.Environment[provider == "PostgreSql" ? "XMODHUB__Database__Type" : "XMODHUB__Storage__Type"] = provider;
        info.Environment[provider == "PostgreSql" ? "XMODHUB__Database__ConnectionString" : "XMODHUB__Storage__ConnectionString"] = connection;
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(1, p.ExitCode);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", stderr + await stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr + await stdout, StringComparison.Ordinal);
    }

    private HubServerProcess StartHub(int n, string database, string container, string publicUrl)
    {
        var hub = HubServerProcess.Start(new Dictionary<string, string>
        {
            ["XMODHUB__Hub__DataDir"] = _dir[$"hub{n}"],
            ["XMODHUB__Hub__PublicBaseUrl"] = publicUrl,
            ["XMODHUB__Hub__OrphanMinAgeSeconds"] = "2",
            ["XMODHUB__Hub__SweepIntervalSeconds"] = "1",
            ["XMODHUB__Storage__Type"] = "AzureBlob",
            ["XMODHUB__Storage__ConnectionString"] = azurite.ConnectionString,
            ["XMODHUB__Storage__Container"] = container,
            ["XMODHUB__Database__Type"] = "PostgreSql",
            ["XMODHUB__Database__ConnectionString"] = database,
        });
        _processes.Add(hub);
        return hub;
    }

    private static async Task<HttpResponseMessage> PushAsync(HttpClient http, string hub, byte[] nupkg, string key)
    {
        var content = new MultipartFormDataContent { { new ByteArrayContent(nupkg), "package", "package.nupkg" } };
        var request = new HttpRequestMessage(HttpMethod.Put, hub + "/api/v2/package") { Content = content };
        request.Headers.Add("X-NuGet-ApiKey", key);
        return await http.SendAsync(request);
    }

    private static async Task<List<string>> BlobsAsync(AzureBlobStorage storage, string prefix)
    {
        var paths = new List<string>();
        await foreach (var entry in storage.ListAsync(prefix, default))
        {
            paths.Add(entry.Path);
        }
        return paths;
    }

    /// <summary>A multipart upload that sends the first half of the package, then stalls (a push in flight) until told to fail.</summary>
    private sealed class StalledContent : HttpContent
    {
        private const string Boundary = "stalled-boundary";
        private readonly byte[] _nupkg;
        private readonly TaskCompletionSource _halfSent;
        private readonly Task _stop;

        public StalledContent(byte[] nupkg, TaskCompletionSource halfSent, Task stop)
        {
            (_nupkg, _halfSent, _stop) = (nupkg, halfSent, stop);
            Headers.ContentType = MediaTypeHeaderValue.Parse($"multipart/form-data; boundary={Boundary}");
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var head = System.Text.Encoding.ASCII.GetBytes(
                $"--{Boundary}\r\nContent-Disposition: form-data; name=\"package\"; filename=\"package.nupkg\"\r\nContent-Type: application/octet-stream\r\n\r\n");
            await stream.WriteAsync(head);
            await stream.WriteAsync(_nupkg.AsMemory(0, _nupkg.Length / 2));
            await stream.FlushAsync();
            _halfSent.TrySetResult();
            await _stop;
            throw new IOException("the upload was stopped");
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
