namespace XModHub.Cli;

/// <summary>A command stopped on cancellation; <see cref="Saved"/> says what it kept ("nothing was written", a checkpoint).</summary>
public sealed class CommandCancelledException(string saved, CancellationToken token) : OperationCanceledException("cancelled; " + saved, token)
{
    public string Saved { get; } = saved;
}
