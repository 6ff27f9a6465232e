using System.CommandLine;
using XMod;
using XModHub.Client;

namespace XModHub.Cli;

/// <summary>
/// The one place failures become output and exit codes. A user error (<see cref="XModException"/>)
/// is one red line, exit 1; cancellation is one "cancelled" line, exit 130; anything else is a bug:
/// its type and message, and the stack trace under --verbose. Everything goes to standard error.
/// </summary>
public sealed class CliErrors(IReporter reporter)
{
    public const int Failed = 1;
    public const int Cancelled = 130;

    public int Report(Exception e, bool verbose, bool cancelRequested)
    {
        if (e is AggregateException { InnerExceptions.Count: 1 } aggregate)
        {
            e = aggregate.InnerExceptions[0];
        }
        // Only the user's cancellation counts: an HttpClient time-out is an OperationCanceledException too.
        if (e is OperationCanceledException && (cancelRequested || e is CommandCancelledException))
        {
            ReportCancelled(e is CommandCancelledException c ? c.Saved : null);
            if (verbose)
            {
                reporter.Diagnostic(e.ToString());
            }
            return Cancelled;
        }
        var userError = e as XModException ?? e.InnerException as XModException;
        reporter.Error(userError?.Message ?? $"{e.GetType().Name}: {e.Message}");
        if (verbose)
        {
            reporter.Diagnostic(e.ToString());
        }
        else if (userError is null)
        {
            reporter.Diagnostic("(this is a bug in xmod-hub; run again with --verbose for the stack trace)");
        }
        return Failed;
    }

    public void ReportCancelled(string? saved) => reporter.Diagnostic(saved is null ? "cancelled" : "cancelled; " + saved);

    /// <summary>A usage mistake: the errors, then one usage line of the command it concerns (not the whole help page).</summary>
    public int ReportUsage(ParseResult parsed)
    {
        foreach (var error in parsed.Errors)
        {
            reporter.Error(error.Message);
        }
        reporter.Diagnostic(Usage(parsed.CommandResult.Command));
        return Failed;
    }

    public static string Usage(Command command)
    {
        var path = new List<string>();
        for (Command? c = command; c is not null; c = c.Parents.OfType<Command>().FirstOrDefault())
        {
            path.Insert(0, c is RootCommand ? "xmod-hub" : c.Name);
        }
        var parts = new List<string>(path);
        if (command.Subcommands.Count > 0)
        {
            parts.Add("<command>");
        }
        parts.AddRange(command.Arguments.Where(a => !a.Hidden).Select(a => a.Arity.MinimumNumberOfValues > 0 ? $"<{a.Name}>" : $"[<{a.Name}>]"));
        parts.AddRange(command.Options.Where(o => o.Required).Select(o => $"{o.Name} <{o.HelpName ?? o.Name.TrimStart('-')}>"));
        parts.Add("[options]");
        return $"usage: {string.Join(' ', parts)}   ('{string.Join(' ', path)} --help' says more)";
    }
}
