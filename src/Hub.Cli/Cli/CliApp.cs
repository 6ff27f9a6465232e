using System.CommandLine;
using System.CommandLine.Invocation;
using Microsoft.Extensions.DependencyInjection;
using XModHub.Client;

namespace XModHub.Cli;

/// <summary>
/// Builds the verb tree over a service container and runs it. Failures are turned into output and
/// exit codes by <see cref="CliErrors"/> alone: user errors exit 1, cancellation 130.
/// </summary>
public static class CliApp
{
    public static readonly Option<bool> Verbose = new("--verbose")
    {
        Description = "Show stack traces and diagnostic detail on errors",
        Recursive = true,
    };

    public static RootCommand Build(IServiceProvider services) => new("xmod-hub: modular multilingual language models (X-MOD) with a language-module hub")
    {
        Verbose,
        DoctorDefinition.Create(services),
        CorpusDefinition.Create(services),
        PretrainDefinition.Create(services),
        EvaluateDefinition.Create(services),
        FillMaskDefinition.Create(services),
        EncodeDefinition.Create(services),
        ImportHfDefinition.Create(services),
        ExportHfDefinition.Create(services),
        AddLanguageDefinition.Create(services),
        ServeDefinition.Create(services),
        QuickstartDefinition.Create(services),
        InstallDefinition.Create(services),
        PublishDefinition.Create(services),
        PackDefinition.Create(services),
        SearchDefinition.Create(services),
        InfoDefinition.Create(services),
        ListDefinition.Create(services),
        UninstallDefinition.Create(services),
        CacheDefinition.Create(services),
        SourceDefinition.Create(services),
        FineTuneDefinition.Create(services),
        PredictDefinition.Create(services),
        EvaluateTaskDefinition.Create(services),
        EvaluatorDefinition.Create(services),
        KeysDefinition.Create(services),
        OwnersDefinition.Create(services),
        UnlistDefinition.CreateUnlist(services),
        UnlistDefinition.CreateRelist(services),
        StudyDefinition.Create(services),
    };

    public static async Task<int> RunAsync(string[] args, IReporter reporter)
    {
        await using var services = CliServices.Create(reporter);
        return await RunAsync(args, services);
    }

    /// <param name="output">Where help goes (standard output when null).</param>
    public static async Task<int> RunAsync(string[] args, IServiceProvider services, CancellationToken cancel = default, TextWriter? output = null)
    {
        var errors = services.GetRequiredService<CliErrors>();
        var parsed = Build(services).Parse(args);
        if (parsed.Action is ParseErrorAction && args.Length > 0)
        {
            return errors.ReportUsage(parsed); // a bare 'xmod-hub' still gets the whole help page
        }
        var action = parsed.Action as CliAction;
        var config = new InvocationConfiguration
        {
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = action?.StopGrace ?? CliAction.DefaultStopGrace,
        };
        if (output is not null)
        {
            config.Output = output;
        }
        try
        {
            var code = await parsed.InvokeAsync(config, cancel);
            if (action?.Running is { IsCompleted: false })
            {
                // Ctrl-C or SIGTERM, and the command did not stop within its grace period.
                errors.ReportCancelled(null);
            }
            return code;
        }
        catch (Exception e)
        {
            return errors.Report(e, parsed.GetValue(Verbose), cancel.IsCancellationRequested);
        }
    }
}
