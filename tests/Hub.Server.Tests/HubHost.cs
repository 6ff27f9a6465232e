using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using XModHub.Core;

namespace XModHub.Server.Tests;

/// <summary>The hub on a real Kestrel listener at 127.0.0.1 on a free port, with its own data directory.</summary>
public sealed class HubHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private HubHost(WebApplication app, Uri baseAddress, string dataDir)
    {
        _app = app;
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
        var app = HubApp.Build([], b =>
        {
            b.WebHost.UseUrls("http://127.0.0.1:0");
            b.Logging.ClearProviders();
            b.Configuration["Hub:DataDir"] = dataDir;
            foreach (var (k, v) in settings ?? new Dictionary<string, string?>())
            {
                b.Configuration[k] = v;
            }
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new HubHost(app, new Uri(address + "/"), dataDir);
    }

    public T Service<T>() where T : notnull => _app.Services.GetRequiredService<T>();

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
        await _app.StopAsync();
        await _app.DisposeAsync();
        Directory.Delete(DataDir, recursive: true);
    }
}
