using System.Text.Json;
using XMod.Runtime.Model;
using XMod.Runtime.Tasks;

namespace XMod.Training.FineTuning;

/// <summary>
/// Labelled task data files. sequence-classification: TSV "label TAB text"; token-classification:
/// TSV "tags TAB words" (space-separated, one tag per word); question-answering: JSON lines
/// {"question", "context", "answer"}. Every bad line is one XModException naming file and line.
/// </summary>
public static class TaskDataFile
{
    public const string Kinds = "sequence-classification, token-classification or question-answering";

    public static TaskKind ParseKind(string text) => text switch
    {
        "sequence-classification" => TaskKind.SequenceClassification,
        "token-classification" => TaskKind.TokenClassification,
        "question-answering" => TaskKind.QuestionAnswering,
        _ => throw new XModException($"unknown task '{text}': use {Kinds}"),
    };

    /// <summary>
    /// Reads a data file; <paramref name="labelList"/> (comma-separated) fixes the label order,
    /// otherwise the labels are the data's, sorted.
    /// </summary>
    public static (IReadOnlyList<TaskExample> Examples, IReadOnlyList<string> Labels) Read(string path, TaskKind kind, string? labelList)
    {
        if (!File.Exists(path))
        {
            throw new XModException($"{path} does not exist");
        }
        var lines = File.ReadAllLines(path).Select((l, i) => (Line: l, Number: i + 1)).Where(x => x.Line.Trim().Length > 0).ToList();
        if (kind == TaskKind.QuestionAnswering)
        {
            return (lines.Select(x => ParseQuestion(path, x.Line, x.Number)).ToList(), ["start", "end"]);
        }
        var rows = lines.Select(x => x.Line.Split('\t', 2) is [var l, var t] ? (Label: l.Trim(), Text: t.Trim(), x.Number) : throw new XModException($"{path}:{x.Number}: expected 'label<TAB>text'")).ToList();
        var labels = labelList is { Length: > 0 } given ? given.Split(',').Select(s => s.Trim()).ToList()
            : rows.SelectMany(r => kind == TaskKind.TokenClassification ? r.Label.Split(' ', StringSplitOptions.RemoveEmptyEntries) : [r.Label]).Distinct().Order(StringComparer.Ordinal).ToList();
        int Index(string label, int line) => labels.IndexOf(label) is var i and >= 0 ? i : throw new XModException($"{path}:{line}: label '{label}' is not among {string.Join(", ", labels)}");
        var examples = rows.Select(r =>
        {
            if (kind == TaskKind.SequenceClassification)
            {
                return new TaskExample { Text = r.Text, Label = Index(r.Label, r.Number) };
            }
            var words = r.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var tags = r.Label.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return tags.Length == words.Length
                ? new TaskExample { Words = words, WordLabels = tags.Select(t => Index(t, r.Number)).ToList() }
                : throw new XModException($"{path}:{r.Number}: {tags.Length} tags for {words.Length} words");
        }).ToList();
        return (examples, labels);
    }

    private static TaskExample ParseQuestion(string path, string line, int number)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            var (q, c, a) = (Text(doc.RootElement, "question"), Text(doc.RootElement, "context"), Text(doc.RootElement, "answer"));
            var at = c.IndexOf(a, StringComparison.Ordinal);
            return at < 0 ? throw new XModException($"{path}:{number}: the answer does not occur in the context")
                : new TaskExample { Question = q, Text = c, AnswerStart = at, AnswerLength = a.Length };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new XModException($"{path}:{number}: expected JSON with question, context and answer");
        }
    }

    // GetString throws InvalidOperationException on a number or object, caught above as a bad line.
    private static string Text(JsonElement e, string name) => e.GetProperty(name).GetString() ?? throw new KeyNotFoundException(name);
}
