using System.Net;
using System.Text;
using XMod;
using XModHub.Core;

namespace XModHub.Plugins.Storage.AzureBlob.Tests;

/// <summary>What only the Azure Blob provider has: connection strings, Shared Key, blocks, start-up errors.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureBlobTests(AzuriteFixture azurite)
{
    [Theory]
    [InlineData("", "is required")]
    [InlineData("garbage", "Name=Value pairs")]
    [InlineData("AccountName=a", "no AccountKey")]
    [InlineData("AccountKey=AAAA", "no AccountName")]
    [InlineData("AccountName=a;AccountKey=not*base64!", "not base64")]
    [InlineData("AccountName=a;AccountKey=AAAA;BlobEndpoint=file:///etc/passwd", "not an http(s) address")]
    [InlineData("AccountName=a;AccountKey=AAAA;BlobEndpoint=http://h/x?sig=1", "not an http(s) address")]
    [InlineData("AccountName=a;AccountKey=AAAA;DefaultEndpointsProtocol=ftp", "must be https or http")]
    public void Wrong_connection_strings_are_one_clear_line_without_the_key(string connectionString, string expected)
    {
        var e = Assert.Throws<XModException>(() => BlobAccount.Parse(connectionString));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains("Storage:ConnectionString", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not*base64", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Connection_strings_give_the_account_and_endpoint()
    {
        var cloud = BlobAccount.Parse("DefaultEndpointsProtocol=https;AccountName=hubpkgs;AccountKey=AAAA;EndpointSuffix=core.windows.net");
        Assert.Equal(("hubpkgs", "https://hubpkgs.blob.core.windows.net/"), (cloud.Name, cloud.Endpoint.ToString()));
        var dev = BlobAccount.Parse("UseDevelopmentStorage=true");
        Assert.Equal(("devstoreaccount1", "http://127.0.0.1:10000/devstoreaccount1"), (dev.Name, dev.Endpoint.ToString()));
        var custom = BlobAccount.Parse($"AccountName=x;AccountKey=AAAA;BlobEndpoint=http://127.0.0.1:1234/x/");
        Assert.Equal("http://127.0.0.1:1234/x", custom.Endpoint.ToString());
        Assert.DoesNotContain("AAAA", custom.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_canonicalized_resource_is_the_documented_one()
    {
        // From the Shared Key documentation: path-style (emulator) endpoints name the account twice;
        // query parameters are lower-cased, sorted, decoded, and multiple values comma-joined.
        var uri = new Uri("http://127.0.0.1:10000/devstoreaccount1/c/a%20b?restype=container&comp=list&Prefix=x%2Fy&include=b&include=a");
        Assert.Equal("/devstoreaccount1/devstoreaccount1/c/a%20b\ncomp:list\ninclude:a,b\nprefix:x/y\nrestype:container",
            SharedKeySigner.CanonicalizedResource(uri, "devstoreaccount1"));
    }

    [Fact]
    public async Task A_wrong_account_key_is_one_line_at_start()
    {
        var wrongKey = Convert.ToBase64String(Encoding.ASCII.GetBytes("not the key of this account at all, 64 bytes long ............."));
        var storage = new AzureBlobStorage(new AzureBlobStorageOptions
        {
            ConnectionString = $"AccountName=devstoreaccount1;AccountKey={wrongKey};BlobEndpoint={azurite.Endpoint}",
        });
        var e = await Assert.ThrowsAsync<XModException>(() => storage.InitializeAsync(default));
        Assert.Equal($"Azure Blob storage at {azurite.Endpoint} refused the account key (AuthorizationFailure): check Storage:ConnectionString",
            e.Message.Replace("(AuthenticationFailed)", "(AuthorizationFailure)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unreachable_endpoint_is_one_line_at_start()
    {
        var port = TestEnv.FreePort();
        var storage = new AzureBlobStorage(new AzureBlobStorageOptions
        {
            ConnectionString = $"AccountName=devstoreaccount1;AccountKey={BlobAccount.DevelopmentAccountKey};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1",
        });
        var e = await Assert.ThrowsAsync<XModException>(() => storage.InitializeAsync(default));
        Assert.StartsWith($"Azure Blob storage at http://127.0.0.1:{port}/devstoreaccount1 is unreachable (ConnectionRefused)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Creating_the_container_twice_is_fine()
    {
        var storage = await azurite.CreateStorageAsync();
        await storage.InitializeAsync(default);
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => storage.InitializeAsync(default)));
    }

    [Theory]
    [InlineData("Bad_Container")]
    [InlineData("ab")]
    [InlineData("a--b")]
    [InlineData("../x")]
    public void Invalid_container_names_are_refused(string name)
    {
        var e = Assert.Throws<XModException>(() => new AzureBlobStorage(new AzureBlobStorageOptions { ConnectionString = azurite.ConnectionString, Container = name }));
        Assert.Contains("Storage:Container", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a/b?comp=list")]
    [InlineData("a/b#frag")]
    [InlineData("a//b")]
    [InlineData("a/b\n")]
    [InlineData("a/%2e%2e/b")]
    public async Task Blob_paths_that_would_change_the_request_are_refused(string path)
    {
        var storage = await azurite.CreateStorageAsync();
        await Assert.ThrowsAsync<ArgumentException>(() => storage.PutAsync(path, new MemoryStream([1]), false, default));
    }

    [Fact]
    public async Task Large_content_is_sent_as_blocks_one_at_a_time_then_committed_conditionally()
    {
        var counter = new CountingHandler();
        var storage = await azurite.CreateStorageAsync(blockSize: 64 << 10, handler: counter);
        var data = new byte[(300 << 10) + 5];
        new Random(4).NextBytes(data);
        Assert.Equal(PutResult.Success, await storage.PutAsync("big/1.0.0/big.nupkg", new MemoryStream(data), false, default));
        Assert.Equal(5, counter.Requests.Count(r => r.Contains("comp=block&", StringComparison.Ordinal)));
        var commit = Assert.Single(counter.Requests, r => r.Contains("comp=blocklist", StringComparison.Ordinal));
        Assert.Contains("If-None-Match: *", commit, StringComparison.Ordinal);
        Assert.True(counter.LargestBody <= 64 << 10);

        counter.Requests.Clear();
        Assert.Equal(PutResult.Success, await storage.PutAsync("small/1.0.0/small.nupkg", new MemoryStream(data[..1000]), false, default));
        Assert.DoesNotContain(counter.Requests, r => r.Contains("comp=block", StringComparison.Ordinal));
    }

    private sealed class CountingHandler() : DelegatingHandler(new SocketsHttpHandler())
    {
        public List<string> Requests { get; } = [];

        public long LargestBody { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancel)
        {
            lock (Requests)
            {
                Requests.Add($"{request.Method} {request.RequestUri!.PathAndQuery} If-None-Match: {request.Headers.IfNoneMatch}");
                LargestBody = Math.Max(LargestBody, request.Content?.Headers.ContentLength ?? 0);
            }
            return base.SendAsync(request, cancel);
        }
    }

    [Fact]
    public async Task Requests_are_refused_without_a_valid_signature()
    {
        // The signature is what admits a request: the same request unsigned is refused by the service.
        using var http = new HttpClient();
        var response = await http.GetAsync($"{azurite.Endpoint}?comp=list");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }
}
