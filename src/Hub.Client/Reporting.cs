namespace XModHub.Client;

/// <summary>Where a command reports to; the console in the CLI, a buffer in tests.</summary>
public interface IReporter
{
    void Info(string line);

    void Success(string line);

    void Warn(string line);

    void Error(string line);

    /// <summary>
    /// A line for the error stream without the "error:" prefix: stack traces, the bug hint, usage
    /// after a usage error, "cancelled". Kept off standard output so piped output stays clean.
    /// </summary>
    void Diagnostic(string line) => Info(line);
}

/// <summary>Collects lines, for tests.</summary>
public sealed class BufferReporter : IReporter
{
    public List<string> Lines { get; } = new();

    public void Info(string line) => Lines.Add(line);

    public void Success(string line) => Lines.Add(line);

    public void Warn(string line) => Lines.Add("warning: " + line);

    public void Error(string line) => Lines.Add("error: " + line);

    public override string ToString() => string.Join('\n', Lines);
}
