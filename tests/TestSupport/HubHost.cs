using Microsoft.Extensions.Logging;
using XModHub.Core;
using XModHub.Server;

namespace XMod.TestSupport;

/// <summary>The hub in this process on a real Kestrel listener at 127.0.0.1 on a free port, with its own data directory.</summary>
public sealed class HubHost : IAsyncDisposable
{
    private readonly RunningHub _hub;

    private HubHost(RunningHub hub, Uri baseAddress, string dataDir)
    {
        _hub = hub;
        BaseAddress = baseAddress;
        DataDir = dataDir;
        Client = new HttpClient { BaseAddress = baseAddress };
    }

    public Uri BaseAddress { get; }

    public string DataDir { get; }

    public HttpClient Client { get; }

    public string FeedUrl => new Uri(BaseAddress, "v3/index.json").ToString();

    public static async Task<HubHost> StartAsync(Dictionary<string, string?>? settings = null)
    {
        var dataDir = Directory.CreateTempSubdirectory("xmod-hub-data-").FullName;
        try
        {
            var hub = await HubApp.StartAsync(dataDir, configure: b =>
            {
                b.Logging.ClearProviders();
                foreach (var (k, v) in settings ?? new Dictionary<string, string?>())
                {
                    b.Configuration[k] = v;
                }
            });
            return new HubHost(hub, new Uri(hub.Address + "/"), dataDir);
        }
        catch
        {
            TempDir.Delete(dataDir);
            throw;
        }
    }

    public T Service<T>() where T : notnull => _hub.Service<T>();

    public Task<string> KeyAsync(string user, params string[] scopes) =>
        Service<ApiKeyService>().CreateAsync(user, scopes.Length == 0 ? [ApiKeyService.Push] : scopes, "test", CancellationToken.None);

    /// <summary>Every file the hub's storage holds (relative paths), to show a refused push stored nothing.</summary>
    public IReadOnlyList<string> StoredFiles() =>
        Directory.Exists(Path.Combine(DataDir, "packages"))
            ? Directory.GetFiles(Path.Combine(DataDir, "packages"), "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(DataDir, f)).Order().ToList()
            : [];

    public async Task<HttpResponseMessage> PushAsync(byte[] nupkg, string? key)
    {
        using var content = new MultipartFormDataContent { { new ByteArrayContent(nupkg), "package", "package.nupkg" } };
        using var request = new HttpRequestMessage(HttpMethod.Put, "api/v2/package") { Content = content };
        if (key is not null)
        {
            request.Headers.Add("X-NuGet-ApiKey", key);
        }
        return await Client.SendAsync(request);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _hub.DisposeAsync();
        TempDir.Delete(DataDir);
    }
}
