using Microsoft.Extensions.DependencyInjection;
using XModHub.Cli.Commands.AddLanguage;
using XModHub.Cli.Commands.Cache;
using XModHub.Cli.Commands.Corpus;
using XModHub.Cli.Commands.Doctor;
using XModHub.Cli.Commands.Encode;
using XModHub.Cli.Commands.Evaluate;
using XModHub.Cli.Commands.EvaluateTask;
using XModHub.Cli.Commands.ExportHf;
using XModHub.Cli.Commands.FillMask;
using XModHub.Cli.Commands.FineTune;
using XModHub.Cli.Commands.ImportHf;
using XModHub.Cli.Commands.Info;
using XModHub.Cli.Commands.Install;
using XModHub.Cli.Commands.Keys;
using XModHub.Cli.Commands.List;
using XModHub.Cli.Commands.Owners;
using XModHub.Cli.Commands.Predict;
using XModHub.Cli.Commands.Pretrain;
using XModHub.Cli.Commands.Publish;
using XModHub.Cli.Commands.Quickstart;
using XModHub.Cli.Commands.Search;
using XModHub.Cli.Commands.Serve;
using XModHub.Cli.Commands.Source;
using XModHub.Cli.Commands.Uninstall;
using XModHub.Cli.Commands.Unlist;
using XModHub.Client;

namespace XModHub.Cli;

/// <summary>
/// The CLI's container, built once per process: the reporter, XMOD_HOME, the clock, one HttpClient,
/// and every command class. Tests build their own with a buffer reporter and a temporary home.
/// </summary>
public static class CliServices
{
    public static ServiceProvider Create(IReporter reporter, CliPaths? paths = null, Action<IServiceCollection>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton(reporter);
        services.AddSingleton(paths ?? CliPaths.FromEnvironment());
        services.AddSingleton(TimeProvider.System);
        // Downloads of large trunks take long; the timeout is for a stalled connection, not a slow one.
        services.AddSingleton(_ => new HttpClient { Timeout = TimeSpan.FromMinutes(30) });
        services.AddSingleton<PackageManagers>();
        services.AddSingleton<CliErrors>();

        services.AddTransient<DoctorCommand>();
        services.AddTransient<CorpusBuildCommand>();
        services.AddTransient<PretrainCommand>();
        services.AddTransient<EvaluateCommand>();
        services.AddTransient<FillMaskCommand>();
        services.AddTransient<EncodeCommand>();
        services.AddTransient<ImportHfCommand>();
        services.AddTransient<ExportHfCommand>();
        services.AddTransient<AddLanguageCommand>();
        services.AddTransient<FineTuneCommand>();
        services.AddTransient<PredictCommand>();
        services.AddTransient<EvaluateTaskCommand>();
        services.AddTransient<ServeCommand>();
        services.AddTransient<QuickstartCommand>();
        services.AddTransient<InstallCommand>();
        services.AddTransient<PublishCommand>();
        services.AddTransient<SearchCommand>();
        services.AddTransient<InfoCommand>();
        services.AddTransient<ListCommand>();
        services.AddTransient<UninstallCommand>();
        services.AddTransient<CacheCommand>();
        services.AddTransient<SourceCommand>();
        services.AddTransient<KeysCommand>();
        services.AddTransient<OwnersCommand>();
        services.AddTransient<UnlistCommand>();
        configure?.Invoke(services);
        return services.BuildServiceProvider();
    }
}
