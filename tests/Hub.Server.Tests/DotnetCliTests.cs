using System.Net;
using System.Text.Json;

namespace XModHub.Server.Tests;

/// <summary>The standard dotnet CLI against a real hub process on loopback: push, search, download, unlist, relist.</summary>
public sealed class DotnetCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-hub-cli-").FullName;

    public void Dispose() => TempDir.Delete(_dir);

    private (int Code, string Output) Dotnet(HubHost hub, params string[] args)
    {
        // NuGet 6.12+ refuses plain-HTTP sources unless marked allowInsecureConnections.
        File.WriteAllText(Path.Combine(_dir, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration><packageSources><clear /><add key="hub" value="{hub.FeedUrl}" allowInsecureConnections="true" /></packageSources></configuration>
            """);
        var r = ProcessRunner.Run("dotnet", args, new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(_dir, "global-packages") }, _dir);
        return (r.ExitCode, r.StdOut + r.StdErr);
    }

    [Fact]
    public async Task PushSearchDownloadUnlistRelistThroughTheRealDotnetCli()
    {
        await using var hub = await HubHost.StartAsync();
        var key = await hub.KeyAsync("alice");
        var packages = TestPackages.Build(_dir, "xmod-nano", "1.0.0", 1, "de_DE", "fr_XX");

        foreach (var nupkg in packages)
        {
            var (code, pushed) = Dotnet(hub, "nuget", "push", nupkg, "--source", "hub", "--api-key", key);
            Assert.True(code == 0, pushed);
            Assert.Contains("Your package was pushed", pushed);
        }
        var (again, againOutput) = Dotnet(hub, "nuget", "push", packages[1], "--source", "hub", "--api-key", key);
        Assert.NotEqual(0, again);
        Assert.Contains("409", againOutput);

        var (searchCode, searchOutput) = Dotnet(hub, "package", "search", "lang-de", "--source", "hub", "--format", "json");
        Assert.True(searchCode == 0, searchOutput);
        using (var doc = JsonDocument.Parse(searchOutput[searchOutput.IndexOf('{')..]))
        {
            var ids = doc.RootElement.GetProperty("searchResult").EnumerateArray().SelectMany(r => r.GetProperty("packages").EnumerateArray()).Select(p => p.GetProperty("id").GetString()).ToList();
            Assert.Contains("xmod-nano.lang-de", ids);
            Assert.DoesNotContain("xmod-nano.lang-fr", ids);
        }

        var output = Path.Combine(_dir, "downloaded");
        var (dl, dlOutput) = Dotnet(hub, "package", "download", "xmod-nano.lang-de@1.0.0", "--source", "hub", "--output", output);
        Assert.True(dl == 0, dlOutput);
        var module = Directory.GetFiles(output, "module.safetensors", SearchOption.AllDirectories);
        Assert.Single(module);
        using (var details = JsonDocument.Parse(await hub.Client.GetStringAsync("api/packages/xmod-nano.lang-de")))
        {
            Assert.True(details.RootElement.GetProperty("package").GetProperty("downloads").GetInt64() >= 1);
        }

        var (del, delOutput) = Dotnet(hub, "nuget", "delete", "xmod-nano.lang-de", "1.0.0", "--source", "hub", "--api-key", key, "--non-interactive");
        Assert.True(del == 0, delOutput);
        var afterUnlist = await hub.Client.GetStringAsync("v3/search?q=lang-de");
        Assert.Contains("\"totalHits\":0", afterUnlist);
        // Unlisted, not deleted: the version can still be downloaded by those who pinned it.
        Assert.Equal(HttpStatusCode.OK, (await hub.Client.GetAsync("v3/package/xmod-nano.lang-de/1.0.0/xmod-nano.lang-de.1.0.0.nupkg")).StatusCode);

        using var relist = new HttpRequestMessage(HttpMethod.Post, "api/v2/package/xmod-nano.lang-de/1.0.0");
        relist.Headers.Add("X-NuGet-ApiKey", key);
        Assert.Equal(HttpStatusCode.OK, (await hub.Client.SendAsync(relist)).StatusCode);
        Assert.Contains("\"totalHits\":1", await hub.Client.GetStringAsync("v3/search?q=lang-de"));
    }
}
