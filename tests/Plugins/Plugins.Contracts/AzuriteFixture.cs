using System.Diagnostics;
using XModHub.Plugins.Storage.AzureBlob;

namespace XModHub.Plugins.Contracts;

/// <summary>
/// A real Azurite blob service on a free loopback port, with its data in a temporary folder; installed
/// by scripts/install-deps into tools/azurite (npm), started here and stopped (and deleted) at the end.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private Process? _process;
    private readonly string _location = Directory.CreateTempSubdirectory("xmod-azurite-").FullName;

    public int Port { get; private set; }

    public string Endpoint => $"http://127.0.0.1:{Port}/{BlobAccount.DevelopmentAccountName}";

    /// <summary>The development account and its published key (public, for emulators only).</summary>
    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={BlobAccount.DevelopmentAccountName};AccountKey={BlobAccount.DevelopmentAccountKey};BlobEndpoint={Endpoint};";

    public async Task InitializeAsync()
    {
        var exe = Path.Combine(TestEnv.RepoRoot, "tools", "azurite", "node_modules", ".bin", "azurite-blob");
        if (!File.Exists(exe))
        {
            throw new InvalidOperationException($"Azurite is not installed ({exe} missing): run scripts/install-deps");
        }
        Port = TestEnv.FreePort();
        var info = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--location", _location, "--blobHost", "127.0.0.1", "--blobPort", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--skipApiVersionCheck", "--silent", "--loose" })
        {
            info.ArgumentList.Add(a);
        }
        _process = Process.Start(info)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await TestEnv.WaitForPortAsync(Port, _process, "azurite-blob", TimeSpan.FromSeconds(60));
    }

    /// <summary>A storage on its own new container, so tests do not see each other's blobs.</summary>
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

    public async Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process?.Dispose();
        Directory.Delete(_location, recursive: true);
    }
}

