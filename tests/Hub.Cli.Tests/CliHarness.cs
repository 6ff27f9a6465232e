using Microsoft.Extensions.DependencyInjection;
using XModHub.Cli;

namespace Hub.Cli.Tests;

/// <summary>
/// The CLI in-process: its real container and verb tree over a temporary XMOD_HOME, with standard
/// output and standard error captured apart. No child process, no console.
/// </summary>
internal sealed class CliHarness : IAsyncDisposable
{
    private readonly StringWriter _out = new();
    private readonly StringWriter _err = new();

    public CliHarness(Action<IServiceCollection>? configure = null)
    {
        Home = Directory.CreateTempSubdirectory("xmod-cli-unit-").FullName;
        Services = CliServices.Create(new ConsoleReporter(TextWriter.Synchronized(_out), TextWriter.Synchronized(_err)), new CliPaths(Home), configure);
    }

    public string Home { get; }

    public ServiceProvider Services { get; }

    public string StdOut => _out.ToString();

    public string StdErr => _err.ToString();

    public Task<int> RunAsync(params string[] args) => CliApp.RunAsync(args, Services, CancellationToken.None, _out);

    public Task<int> RunAsync(CancellationToken cancel, params string[] args) => CliApp.RunAsync(args, Services, cancel, _out);

    public async ValueTask DisposeAsync()
    {
        await Services.DisposeAsync();
        Directory.Delete(Home, recursive: true);
    }
}
