using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using XMod;
using XModHub.Server;

namespace XModHub.Plugins.Storage.AzureBlob.Tests;

/// <summary>The hub selects Azure Blob (with PostgreSQL) by configuration, says which it uses, and fails to start in one line.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class HubStartupTests(AzuriteFixture azurite, PostgresFixture postgres) : IClassFixture<PostgresFixture>, IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("xmod-hub-").FullName;

    public void Dispose() => Directory.Delete(_data, recursive: true);

    [Fact]
    public async Task A_hub_on_Azure_Blob_and_PostgreSQL_starts_says_so_and_serves()
    {
        var database = await postgres.CreateDatabaseAsync();
        var log = new ListLogger();
        await using var hub = await HubApp.StartAsync(_data, configure: b =>
        {
            b.Configuration["Storage:Type"] = "AzureBlob";
            b.Configuration["Storage:ConnectionString"] = azurite.ConnectionString;
            b.Configuration["Storage:Container"] = "hub" + Guid.NewGuid().ToString("N")[..8];
            b.Configuration["Database:Type"] = "PostgreSql";
            b.Configuration["Database:ConnectionString"] = database;
            b.Logging.AddProvider(log);
        });
        var line = Assert.Single(log.Lines, l => l.StartsWith("hub providers:", StringComparison.Ordinal));
        Assert.Matches(@"^hub providers: storage AzureBlob \(Azure Blob storage \(container 'hub[0-9a-f]{8}' of devstoreaccount1 at http://127\.0\.0\.1:\d+/devstoreaccount1\)\), metadata PostgreSql \(PostgreSQL at 127\.0\.0\.1:\d+/t[0-9a-f]+\)$", line);
        Assert.DoesNotContain(azurite.ConnectionString.Split("AccountKey=")[1].Split(';')[0], line, StringComparison.Ordinal);

        // The admin key lands in PostgreSQL; search answers from it.
        Assert.NotNull(await HubApp.BootstrapAdminKeyAsync(hub.App));
        using var http = new HttpClient();
        using var search = JsonDocument.Parse(await http.GetStringAsync($"{hub.Address}/v3/search?q=yo"));
        Assert.Equal(0, search.RootElement.GetProperty("totalHits").GetInt32());
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync($"{hub.Address}/")).StatusCode);
    }

    [Fact]
    public async Task A_wrong_account_key_stops_the_hub_with_one_line()
    {
        var e = await Assert.ThrowsAsync<XModException>(() => HubApp.StartAsync(_data, configure: b =>
        {
            b.Configuration["Storage:Type"] = "AzureBlob";
            b.Configuration["Storage:ConnectionString"] = azurite.ConnectionString.Replace("Eby8", "Xby8", StringComparison.Ordinal);
            b.Logging.ClearProviders();
        }));
        Assert.StartsWith($"Azure Blob storage at {azurite.Endpoint} refused the account key", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("check Storage:ConnectionString", e.Message, StringComparison.Ordinal);
    }

    private sealed class ListLogger : ILoggerProvider, ILogger
    {
        public ConcurrentQueue<string> Lines { get; } = new();
        public ILogger CreateLogger(string categoryName) => this;
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Enqueue(formatter(state, exception));
        public void Dispose() { }
    }
}
