using XMod.Packaging;

namespace XModHub.Cli;

/// <summary>Where the CLI keeps its state: XMOD_HOME (config, package cache, downloaded sources).</summary>
public sealed record CliPaths(string Home)
{
    /// <summary>Downloaded sources (npm tarballs for corpora, ...).</summary>
    public string SourceCache => Path.Combine(Home, "cache", "sources");

    public static CliPaths FromEnvironment() => new(XModPaths.Home);
}
