using Microsoft.Extensions.DependencyInjection;
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
        services.AddTransient<EvaluatorCommand>();
        services.AddTransient<ServeCommand>();
        services.AddTransient<QuickstartCommand>();
        services.AddTransient<InstallCommand>();
        services.AddTransient<PublishCommand>();
        services.AddTransient<PackCommand>();
        services.AddTransient<SearchCommand>();
        services.AddTransient<InfoCommand>();
        services.AddTransient<ListCommand>();
        services.AddTransient<UninstallCommand>();
        services.AddTransient<CacheCommand>();
        services.AddTransient<SourceCommand>();
        services.AddTransient<KeysCommand>();
        services.AddTransient<OwnersCommand>();
        services.AddTransient<UnlistCommand>();
        services.AddTransient<StudyCommand>();
        configure?.Invoke(services);
        return services.BuildServiceProvider();
    }
}
