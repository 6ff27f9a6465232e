using System.Diagnostics;

namespace XMod.TestSupport;

/// <summary>
/// The hub as operators start it: the Hub.Server executable next to the calling assembly, on a fixed
/// loopback port, configured only by XMODHUB__ environment variables (providers, connection strings,
/// public address); started, waited on until /health answers, killed on dispose. Several of them
/// behind <see cref="NginxProcess"/> make the community set-up. No xunit: bench/XMod.Bench compiles
/// this file in too.
/// </summary>
public sealed class HubServerProcess : IDisposable
{
    private HubServerProcess(Process process, int port) => (Process, Port) = (process, port);

    public Process Process { get; }

    public int Port { get; }

    public string Address => $"http://127.0.0.1:{Port}";

    /// <summary>Starts the process and returns at once; <see cref="WaitHealthyAsync"/> waits until it serves (several start together).</summary>
    public static HubServerProcess Start(IReadOnlyDictionary<string, string> settings)
    {
        var port = NginxProcess.FreePort();
        var dll = Path.Combine(AppContext.BaseDirectory, "Hub.Server.dll");
        var env = new Dictionary<string, string>(settings) { ["Logging__LogLevel__Default"] = "Warning" };
        var p = Process.Start(ProcessRunner.StartInfo("dotnet", [dll, "--urls", $"http://127.0.0.1:{port}"], env))!;
        // Nobody reads its output: drain it so a chatty hub never blocks on a full pipe.
        _ = p.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        _ = p.StandardError.BaseStream.CopyToAsync(Stream.Null);
        return new HubServerProcess(p, port);
    }

    /// <summary>Waits until <paramref name="address"/> (this instance, or a proxy in front of it) answers /health.</summary>
    public async Task WaitHealthyAsync(string? address = null, TimeSpan? timeout = null)
    {
        address ??= Address;
        var limit = timeout ?? TimeSpan.FromSeconds(90);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            if (Process.HasExited)
            {
                throw new InvalidOperationException($"{Address}: the hub exited with {Process.ExitCode} before serving");
            }
            try
            {
                using var response = await http.GetAsync(address + "/health");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet, or starting.
            }
            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException($"{address} did not serve /health within {limit.TotalSeconds:F0} s");
            }
            await Task.Delay(200);
        }
    }

    public void Dispose()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
        }
        Process.WaitForExit();
        Process.Dispose();
    }
}
