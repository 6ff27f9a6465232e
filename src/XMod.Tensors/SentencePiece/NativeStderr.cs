using System.Runtime.InteropServices;

namespace XMod.Tensors.SentencePiece;

/// <summary>
/// Captures what native code writes to the process's stderr (file descriptor 2) while an action
/// runs: SentencePiece's trainer logs a line or more there before its --minloglevel takes effect,
/// and a console should show only XModHub's own lines.
/// </summary>
internal static partial class NativeStderr
{
    private static readonly Lock s_gate = new();

    /// <summary>Runs <paramref name="action"/> with fd 2 pointed at a temporary file; returns the lines written there.</summary>
    public static IReadOnlyList<string> Capture(Action action)
    {
        if (!OperatingSystem.IsLinux())
        {
            action();
            return [];
        }
        lock (s_gate)
        {
            var file = Path.Combine(Path.GetTempPath(), $"xmod-stderr-{Guid.NewGuid():N}.log");
            var saved = -1;
            try
            {
                using (var capture = new FileStream(file, FileMode.CreateNew, FileAccess.Write))
                {
                    saved = dup(2);
                    if (saved < 0 || dup2((int)capture.SafeFileHandle.DangerousGetHandle(), 2) < 0)
                    {
                        saved = saved < 0 ? -1 : Restore(saved);
                    }
                }
                action();
            }
            finally
            {
                if (saved >= 0)
                {
                    Restore(saved);
                }
            }
            try
            {
                return File.ReadAllLines(file).Where(l => l.Length > 0).ToList();
            }
            finally
            {
                File.Delete(file);
            }
        }
    }

    private static int Restore(int saved)
    {
        dup2(saved, 2);
        close(saved);
        return -1;
    }

    [LibraryImport("libc.so.6")]
    private static partial int dup(int fd);

    [LibraryImport("libc.so.6")]
    private static partial int dup2(int oldFd, int newFd);

    [LibraryImport("libc.so.6")]
    private static partial int close(int fd);
}
