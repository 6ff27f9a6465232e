using System.Diagnostics;
using XModHub.Plugins.Storage.AzureBlob;

namespace XModHub.Plugins.Contracts;

/// <summary>
/// A real Azurite blob service on a free loopback port, with its data in a temporary folder; installed
/// by scripts/install-deps into tools/azurite (npm), started here and stopped (and deleted) on dispose.
/// No xunit: bench/XMod.Bench compiles this file in too (<see cref="AzuriteFixture"/> wraps it for tests).
/// </summary>
public sealed class AzuriteServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _location;

    private AzuriteServer(Process process, string location, int port) => (_process, _location, Port) = (process, location, port);

    public int Port { get; }

    public string Endpoint => $"http://127.0.0.1:{Port}/{BlobAccount.DevelopmentAccountName}";

    /// <summary>The development account and its published key (public, for emulators only).</summary>
    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={BlobAccount.DevelopmentAccountName};AccountKey={BlobAccount.DevelopmentAccountKey};BlobEndpoint={Endpoint};";

    public static async Task<AzuriteServer> StartAsync()
    {
        var exe = Path.Combine(TestEnv.RepoRoot, "tools", "azurite", "node_modules", ".bin", "azurite-blob");
        if (!File.Exists(exe))
        {
            throw new InvalidOperationException($"Azurite is not installed ({exe} missing): run scripts/install-deps");
        }
        var location = Directory.CreateTempSubdirectory("xmod-azurite-").FullName;
        var port = TestEnv.FreePort();
        var info = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--location", location, "--blobHost", "127.0.0.1", "--blobPort", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--skipApiVersionCheck", "--silent", "--loose" })
        {
            info.ArgumentList.Add(a);
        }
        var server = new AzuriteServer(Process.Start(info)!, location, port);
        server._process.OutputDataReceived += (_, _) => { };
        server._process.ErrorDataReceived += (_, _) => { };
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        try
        {
            await TestEnv.WaitForPortAsync(port, server._process, "azurite-blob", TimeSpan.FromSeconds(60));
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>A storage on its own new container, so users do not see each other's blobs.</summary>
    public async Task<AzureBlobStorage> CreateStorageAsync(int blockSize = 8 << 20, HttpMessageHandler? handler = null)
    {
        var storage = new AzureBlobStorage(new AzureBlobStorageOptions
        {
            ConnectionString = ConnectionString,
            Container = "t" + Guid.NewGuid().ToString("N")[..20],
            BlockSizeBytes = blockSize,
        }, handler);
        await storage.InitializeAsync(CancellationToken.None);
        return storage;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        Directory.Delete(_location, recursive: true);
    }
}
