using System.Globalization;

namespace XMod.Training.Loop;

/// <summary>
/// RUN/train.log: every message and progress line of a run, time-stamped and appended across
/// sessions (starts, restarts and resumes), so a run's history survives the terminal it ran in.
/// </summary>
public sealed class RunLog
{
    public const string FileName = "train.log";

    private readonly object _gate = new();

    public RunLog(string runDir)
    {
        Directory.CreateDirectory(runDir);
        Path = System.IO.Path.Combine(runDir, FileName);
    }

    public string Path { get; }

    /// <summary>Appends one line (a failure to write the log never stops training).</summary>
    public void Write(string line)
    {
        lock (_gate)
        {
            try
            {
                File.AppendAllText(Path, $"{DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)}  {line}\n");
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    /// <summary>A logger that writes each message here and passes it on to <paramref name="log"/>.</summary>
    public Action<string> Tee(Action<string> log) => message =>
    {
        Write(message);
        log(message);
    };

    /// <summary>The progress line trainers print and log.</summary>
    public static string Format(TrainingProgress p) => string.Create(CultureInfo.InvariantCulture,
        $"step {p.Step,6}/{p.TotalSteps}  loss {p.Loss,7:F4}  lr {p.LearningRate:E2}  |g| {p.GradNorm,6:F2}  {p.TokensPerSecond / 1000,6:F1}k tok/s  " +
        $"elapsed {Duration(p.Elapsed)}  ETA {Duration(p.Remaining)}  [{p.Language}]");

    public static string Duration(TimeSpan t) =>
        t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : t.ToString(@"m\:ss", CultureInfo.InvariantCulture);
}
