namespace XModHub.Server;

/// <summary>A hub running in this process, and the address it listens on.</summary>
public sealed class RunningHub(WebApplication app, string address) : IAsyncDisposable
{
    public WebApplication App { get; } = app;

    /// <summary>http://host:port, as bound (a requested port 0 is resolved).</summary>
    public string Address { get; } = address;

    public string FeedUrl => Address + "/v3/index.json";

    public T Service<T>() where T : notnull => App.Services.GetRequiredService<T>();

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
