using XModHub.Client;

namespace XModHub.Cli.Commands.Quickstart;

public sealed class QuickstartCommand(IReporter reporter, CliPaths paths, HttpClient http, TimeProvider clock)
{
    public Task<int> RunAsync(string dir, int steps, CancellationToken cancel) =>
        new Workflows.Quickstart(reporter, paths.SourceCache, http, clock).RunAsync(dir, steps, cancel);
}
