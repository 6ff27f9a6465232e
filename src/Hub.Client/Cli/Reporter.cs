namespace XModHub.Client.Cli;

/// <summary>Where a command reports to; the console in the CLI, a buffer in tests.</summary>
public interface IReporter
{
    void Info(string line);

    void Success(string line);

    void Warn(string line);

    void Error(string line);
}

/// <summary>Console output with colour when the terminal takes it (NO_COLOR turns it off).</summary>
public sealed class ConsoleReporter(TextWriter output, TextWriter error) : IReporter
{
    private readonly bool _color = Environment.GetEnvironmentVariable("NO_COLOR") is null && !Console.IsOutputRedirected;

    public ConsoleReporter() : this(Console.Out, Console.Error) { }

    public void Info(string line) => output.WriteLine(line);

    public void Success(string line) => output.WriteLine(Paint("32", line));

    public void Warn(string line) => output.WriteLine(Paint("33", "warning: " + line));

    public void Error(string line) => error.WriteLine(Paint("31", "error: " + line));

    private string Paint(string code, string text) => _color ? $"\u001b[{code}m{text}\u001b[0m" : text;
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
