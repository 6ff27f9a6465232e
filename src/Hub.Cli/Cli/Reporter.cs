using XModHub.Client;

namespace XModHub.Cli;

/// <summary>Console output with colour when the terminal takes it (NO_COLOR turns it off). Errors and diagnostics go to standard error.</summary>
public sealed class ConsoleReporter(TextWriter output, TextWriter error) : IReporter
{
    private readonly bool _color = Environment.GetEnvironmentVariable("NO_COLOR") is null && !Console.IsOutputRedirected;

    public ConsoleReporter() : this(Console.Out, Console.Error) { }

    public void Info(string line) => output.WriteLine(line);

    public void Success(string line) => output.WriteLine(Paint("32", line));

    public void Warn(string line) => output.WriteLine(Paint("33", "warning: " + line));

    public void Error(string line) => error.WriteLine(Paint("31", "error: " + line));

    public void Diagnostic(string line) => error.WriteLine(line);

    private string Paint(string code, string text) => _color ? $"\u001b[{code}m{text}\u001b[0m" : text;
}
