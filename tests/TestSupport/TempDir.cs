namespace XMod.TestSupport;

/// <summary>A fresh directory under the system's temporary folder, deleted with everything in it on dispose.</summary>
public sealed class TempDir(string prefix = "xmod-test-") : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory(prefix).FullName;

    /// <summary>A path inside the directory (not created).</summary>
    public string this[string relative] => System.IO.Path.Combine(Path, relative);

    public void Dispose() => Delete(Path);

    /// <summary>Deletes a directory tree if it exists; read-only files (as git and NuGet leave them) included.</summary>
    public static void Delete(string path)
    {
        if (!Directory.Exists(path))
        {
            return;
        }
        foreach (var f in Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories))
        {
            File.SetAttributes(f, FileAttributes.Normal);
        }
        Directory.Delete(path, recursive: true);
    }

    public override string ToString() => Path;
}

/// <summary>
/// A hermetic XMOD_HOME: an empty directory that a test passes to the code it runs (options,
/// or the XMOD_HOME of a child process), never the user's ~/.xmod.
/// </summary>
public sealed class TestHome() : IDisposable
{
    private readonly TempDir _dir = new("xmod-home-");

    public string Path => _dir.Path;

    /// <summary>The environment a child process needs to use this home.</summary>
    public Dictionary<string, string> Environment => new() { ["XMOD_HOME"] = Path };

    public void Dispose() => _dir.Dispose();
}
