using System.Globalization;

namespace XModHub.Cli;

public static class Durations
{
    /// <summary>1:02:03 over an hour, 2:03 under.</summary>
    public static string Format(TimeSpan t) =>
        t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : t.ToString(@"m\:ss", CultureInfo.InvariantCulture);
}

public static class CommaList
{
    /// <summary>"en, de" -> [en, de]; nothing -> [].</summary>
    public static IReadOnlyList<string> Split(string? list) =>
        string.IsNullOrWhiteSpace(list) ? [] : list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
