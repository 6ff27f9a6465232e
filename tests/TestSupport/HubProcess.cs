using System.Diagnostics;
using System.Text.RegularExpressions;

namespace XMod.TestSupport;

/// <summary>
/// <c>xmod-hub serve --port 0</c> as a child process (the CLI next to the test assembly): started,
/// waited on until it prints its address and admin key, killed on dispose.
/// </summary>
public sealed partial class HubProcess : IDisposable
{
    private HubProcess(Process process, string address, string adminKey, string dataDir)
    {
        Process = process;
        Address = address;
        AdminKey = adminKey;
        DataDir = dataDir;
    }

    public Process Process { get; }

    /// <summary>http://127.0.0.1:port, as printed.</summary>
    public string Address { get; }

    public string FeedUrl => Address + "/v3/index.json";

    public string AdminKey { get; }

    public string DataDir { get; }

    /// <param name="settings">Hub settings (<c>Hub:AccelRedirectPrefix</c>), passed as XMODHUB__ environment variables.</param>
    public static async Task<HubProcess> StartAsync(string dataDir, TimeSpan? timeout = null, IReadOnlyDictionary<string, string>? settings = null)
    {
        var env = settings?.ToDictionary(kv => "XMODHUB__" + kv.Key.Replace(":", "__", StringComparison.Ordinal), kv => kv.Value);
        var p = Process.Start(ProcessRunner.StartInfo("dotnet", [CliProcess.Dll, "serve", "--port", "0", "--data", dataDir], env))!;
        try
        {
            using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(1));
            string? address = null, key = null;
            while (address is null || key is null)
            {
                var line = await p.StandardOutput.ReadLineAsync(cancel.Token)
                    ?? throw new InvalidOperationException("serve exited: " + await p.StandardError.ReadToEndAsync(cancel.Token));
                address ??= Listening().Match(line) is { Success: true } m ? m.Groups[1].Value : null;
                key ??= AdminKeyLine().Match(line) is { Success: true } k ? k.Groups[1].Value : null;
            }
            // Nobody reads the rest of its output: drain it so a chatty hub never blocks on a full pipe.
            _ = p.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
            _ = p.StandardError.BaseStream.CopyToAsync(Stream.Null);
            return new HubProcess(p, address, key, dataDir);
        }
        catch
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            p.Dispose();
            throw;
        }
    }

    /// <summary>VmHWM: the hub process's peak resident set since it started.</summary>
    public long PeakRssBytes()
    {
        var line = File.ReadLines($"/proc/{Process.Id}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
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

    [GeneratedRegex(@"hub listening on (http://\S+)")]
    private static partial Regex Listening();

    [GeneratedRegex(@"admin API key: (xmh_\S+)")]
    private static partial Regex AdminKeyLine();
}
