using System.CommandLine;
using System.CommandLine.Invocation;
using Microsoft.Extensions.DependencyInjection;

namespace XModHub.Cli;

/// <summary>
/// A verb's action: resolves its command class from the container and runs it under
/// System.CommandLine's cancellation token, the CLI's one cancellation path (Ctrl-C and SIGTERM
/// cancel it). Failures become exit codes here, through <see cref="CliErrors"/>.
/// </summary>
public sealed class CliAction : AsynchronousCommandLineAction
{
    /// <summary>How long a command may take to stop after Ctrl-C before the process exits anyway.</summary>
    public static readonly TimeSpan DefaultStopGrace = TimeSpan.FromSeconds(2);

    /// <summary>For commands that finish a step and save on the way out, or shut a server down.</summary>
    public static readonly TimeSpan SavingStopGrace = TimeSpan.FromMinutes(2);

    private readonly IServiceProvider _services;
    private readonly Func<IServiceProvider, ParseResult, CancellationToken, Task<int>> _run;

    private CliAction(IServiceProvider services, Func<IServiceProvider, ParseResult, CancellationToken, Task<int>> run, TimeSpan stopGrace)
    {
        _services = services;
        _run = run;
        StopGrace = stopGrace;
    }

    public TimeSpan StopGrace { get; }

    /// <summary>The latest invocation, still running when the process is told to stop and did not.</summary>
    public Task<int>? Running { get; private set; }

    public static CliAction For<TCommand>(IServiceProvider services, Func<TCommand, ParseResult, CancellationToken, Task<int>> run, TimeSpan? stopGrace = null)
        where TCommand : notnull =>
        new(services, (s, p, c) => run(s.GetRequiredService<TCommand>(), p, c), stopGrace ?? DefaultStopGrace);

    public static CliAction For<TCommand>(IServiceProvider services, Func<TCommand, ParseResult, CancellationToken, int> run, TimeSpan? stopGrace = null)
        where TCommand : notnull =>
        new(services, (s, p, c) => Task.FromResult(run(s.GetRequiredService<TCommand>(), p, c)), stopGrace ?? DefaultStopGrace);

    public override Task<int> InvokeAsync(ParseResult parseResult, CancellationToken cancellationToken = default) =>
        Running = RunAsync(parseResult, cancellationToken);

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancel)
    {
        // Hand control back first: System.CommandLine installs its Ctrl-C / SIGTERM handler only once
        // the action has returned its task, and most commands work synchronously.
        await Task.Yield();
        try
        {
            return await _run(_services, parse, cancel);
        }
        catch (Exception e)
        {
            // Handled here, not thrown: the termination handler waits on this task and must see it end normally.
            return _services.GetRequiredService<CliErrors>().Report(e, parse.GetValue(CliApp.Verbose), cancel.IsCancellationRequested);
        }
    }
}
