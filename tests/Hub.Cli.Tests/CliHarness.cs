using Microsoft.Extensions.DependencyInjection;
using XModHub.Cli;
using XModHub.Client;

namespace Hub.Cli.Tests;

/// <summary>
/// The CLI in-process: its real container and verb tree over a temporary XMOD_HOME, with standard
/// output and standard error captured apart. No child process, no console.
/// </summary>
internal sealed class CliHarness : IAsyncDisposable
{
    private readonly StringWriter _out = new();
    private readonly StringWriter _err = new();

    /// <param name="reporter">Wraps the console reporter (a test that acts on what a command prints).</param>
    public CliHarness(Action<IServiceCollection>? configure = null, Func<IReporter, IReporter>? reporter = null)
    {
        Home = Directory.CreateTempSubdirectory("xmod-cli-unit-").FullName;
        IReporter console = new ConsoleReporter(TextWriter.Synchronized(_out), TextWriter.Synchronized(_err));
        Services = CliServices.Create(reporter?.Invoke(console) ?? console, new CliPaths(Home), configure);
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
