using System.CommandLine;

namespace XModHub.Cli.Commands.Cache;

/// <summary>`xmod-hub cache verify` and `xmod-hub cache prune`.</summary>
public static class CacheDefinition
{
    public static Command Create(IServiceProvider services) => new("cache", "Inspect and tidy the local package cache")
    {
        new Command("verify", "Check every installed package against its sha256s") { Action = CliAction.For<CacheCommand>(services, (c, _, _) => c.Verify()) },
        new Command("prune", "Delete cache files no installed package uses") { Action = CliAction.For<CacheCommand>(services, (c, _, _) => c.Prune()) },
    };
}
