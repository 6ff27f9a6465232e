namespace Hub.Cli.Tests;

public sealed class ServeTests
{
    [Fact]
    public async Task ServeStartsAnEmbeddedHubAndPrintsItsAdminKey()
    {
        using var data = new TempDir("xmod-serve-");
        using var hub = await HubProcess.StartAsync(data.Path);
        Assert.Matches(@"^http://127\.0\.0\.1:\d+$", hub.Address);
        Assert.StartsWith("xmh_", hub.AdminKey);
        Assert.Equal(hub.AdminKey + "\n", File.ReadAllText(Path.Combine(data.Path, "admin-key")));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(data.Path, "admin-key")));
        }
        using var http = new HttpClient();
        Assert.Contains("PackagePublish/2.0.0", await http.GetStringAsync(hub.FeedUrl));
        Assert.Contains("XModHub", await http.GetStringAsync(hub.Address + "/"));
        Assert.True(File.Exists(Path.Combine(data.Path, "hub.db")));

        // SIGTERM stops it (as a service manager would).
        ProcessRunner.RunOk("kill", ["-TERM", hub.Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        Assert.True(hub.Process.WaitForExit(TimeSpan.FromSeconds(20)), "serve ignored SIGTERM");
    }
}
