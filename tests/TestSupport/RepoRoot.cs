namespace XMod.TestSupport;

/// <summary>The repository root: the nearest directory above the test assembly holding XModHub.sln.</summary>
public static class RepoRoot
{
    private static readonly Lazy<string> s_path = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "XModHub.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"no XModHub.sln above {AppContext.BaseDirectory}");
    });

    public static string Path => s_path.Value;
}
