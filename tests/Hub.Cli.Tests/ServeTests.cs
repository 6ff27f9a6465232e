using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Hub.Cli.Tests;

public sealed class ServeTests
{
    [Fact]
    public async Task ServeStartsAnEmbeddedHubAndPrintsItsAdminKey()
    {
        var data = Directory.CreateTempSubdirectory("xmod-serve-").FullName;
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "xmod-hub.dll"), "serve", "--port", "0", "--data", data })
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["NO_COLOR"] = "1";
        using var p = Process.Start(psi)!;
        try
        {
            string? address = null;
            string? key = null;
            var deadline = DateTime.UtcNow.AddMinutes(1);
            while ((address is null || key is null) && DateTime.UtcNow < deadline)
            {
                var line = await p.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("serve exited: " + await p.StandardError.ReadToEndAsync());
                address ??= Regex.Match(line, @"hub listening on (http://127\.0\.0\.1:\d+)") is { Success: true } m ? m.Groups[1].Value : null;
                key ??= Regex.Match(line, @"admin API key: (xmh_\S+)") is { Success: true } k ? k.Groups[1].Value : null;
            }
            Assert.NotNull(address);
            Assert.NotNull(key);
            Assert.Equal(key + "\n", File.ReadAllText(Path.Combine(data, "admin-key")));
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(data, "admin-key")));
            }
            using var http = new HttpClient();
            Assert.Contains("PackagePublish/2.0.0", await http.GetStringAsync(address + "/v3/index.json"));
            Assert.Contains("XModHub", await http.GetStringAsync(address + "/"));
            Assert.True(File.Exists(Path.Combine(data, "hub.db")));

            // SIGTERM stops it (as a service manager would).
            Process.Start("kill", ["-TERM", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
            Assert.True(p.WaitForExit(TimeSpan.FromSeconds(20)), "serve ignored SIGTERM");
        }
        finally
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            Directory.Delete(data, recursive: true);
        }
    }
}
