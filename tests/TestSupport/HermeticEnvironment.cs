namespace XMod.TestSupport;

/// <summary>
/// A test process's own XMOD_HOME, set once for the process and deleted when it exits. Test
/// processes also default to one intra-op thread (XMOD_THREADS, unless set): test projects and the
/// CLI processes they start run side by side, and nano models gain nothing from more threads, while
/// every process spreading over every core makes them all wait on each other.
/// </summary>
public static class HermeticEnvironment
{
    private static readonly Lock s_lock = new();
    private static string? s_home;

    /// <summary>The process-wide hermetic XMOD_HOME (set by the module initializer of each test assembly).</summary>
    public static string Home => Apply();

    public static string Apply()
    {
        lock (s_lock)
        {
            if (s_home is null)
            {
                s_home = Directory.CreateTempSubdirectory("xmod-process-home-").FullName;
                Environment.SetEnvironmentVariable("XMOD_HOME", s_home);
                if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("XMOD_THREADS")))
                {
                    Environment.SetEnvironmentVariable("XMOD_THREADS", "1");
                }
                var home = s_home;
                AppDomain.CurrentDomain.ProcessExit += (_, _) =>
                {
                    try
                    {
                        TempDir.Delete(home);
                    }
                    catch (IOException)
                    {
                        // A child process may still hold a file; the directory is under the temp folder.
                    }
                };
            }
            return s_home;
        }
    }
}
