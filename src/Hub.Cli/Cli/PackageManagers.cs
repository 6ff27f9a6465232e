using XModHub.Client;
using XModHub.Client.Cache;
using XModHub.Client.Feeds;
using XModHub.Client.Packages;

namespace XModHub.Cli;

/// <summary>The package commands' access to XMOD_HOME: its configuration, its cache, and a package manager over both.</summary>
public sealed class PackageManagers(CliPaths paths, HttpClient http, IReporter reporter)
{
    public ClientConfig LoadConfig() => ClientConfig.Load(paths.Home);

    public void SaveConfig(ClientConfig config) => config.Save(paths.Home);

    public PackageCache Cache() => new(paths.Home);

    public PackageManager Create() => new(LoadConfig(), Cache(), http, reporter);
}
