using System.Net;
using System.Net.Http.Json;

namespace XModHub.Server.Tests;

public sealed class HealthTests
{
    [Fact]
    public async Task RealHostAnswersOnLoopback()
    {
        await using var host = await HubHost.StartAsync();
        Assert.Equal("127.0.0.1", host.BaseAddress.Host);
        var response = await host.Client.GetAsync("health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<Dictionary<string, string>>();
        Assert.Equal("ok", body!["status"]);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Client.GetAsync("no-such-route")).StatusCode);
    }
}
