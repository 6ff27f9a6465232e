using Microsoft.Extensions.Logging;
using XMod;
using XModHub.Server;

namespace XModHub.Plugins.Metadata.PostgreSql.Tests;

/// <summary>A hub configured for PostgreSQL fails to start in one line when the configuration is incomplete.</summary>
public sealed class HubStartupTests : IDisposable
{
    private readonly TempDir _data = new("xmod-hub-");

    public void Dispose() => _data.Dispose();

    [Fact]
    public async Task PostgreSql_without_a_connection_string_is_one_line()
    {
        var e = await Assert.ThrowsAsync<XModException>(() => HubApp.StartAsync(_data.Path, configure: b =>
        {
            b.Configuration["Database:Type"] = "PostgreSql";
            b.Logging.ClearProviders();
        }));
        Assert.StartsWith("Database:ConnectionString is required for the PostgreSql metadata store", e.Message, StringComparison.Ordinal);
    }
}
