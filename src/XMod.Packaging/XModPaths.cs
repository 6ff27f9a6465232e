namespace XMod.Packaging;

/// <summary>Where XModHub keeps its files: XMOD_HOME, else ~/.xmod.</summary>
public static class XModPaths
{
    public static string Home
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("XMOD_HOME");
            return !string.IsNullOrEmpty(env) ? env : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".xmod");
        }
    }

    /// <summary>Downloaded sources (npm tarballs for corpora, ...).</summary>
    public static string SourceCache => Path.Combine(Home, "cache", "sources");
}
