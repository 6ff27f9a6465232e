using System.Text.Json.Serialization;
using XMod.Tensors;

namespace XMod.Runtime.Model;

[JsonConverter(typeof(JsonStringEnumConverter<TaskKind>))]
public enum TaskKind
{
    /// <summary>A label per text, from the first token (&lt;s&gt;) as RoBERTa's classification head.</summary>
    SequenceClassification,

    /// <summary>A label per token (NER, POS).</summary>
    TokenClassification,

    /// <summary>Answer start and end logits per token (extractive QA, SQuAD-style).</summary>
    QuestionAnswering,
}

/// <summary>
/// A task head over the encoder's last hidden state, with Hugging Face's parameter names
/// (XmodForSequenceClassification: classifier.dense, classifier.out_proj; ...ForTokenClassification:
/// classifier; ...ForQuestionAnswering: qa_outputs).
/// </summary>
public sealed class TaskHead : IDisposable
{
    private TaskHead(TaskKind kind, int outputs, Dictionary<string, Tensor> tensors)
    {
        Kind = kind;
        Outputs = outputs;
        Tensors = tensors;
    }

    public TaskKind Kind { get; }

    /// <summary>Number of labels (2 for QA: start and end).</summary>
    public int Outputs { get; }

    public IReadOnlyDictionary<string, Tensor> Tensors { get; }

    public static IReadOnlyList<(string Name, long[] Shape)> Layout(TaskKind kind, int hidden, int outputs) => kind switch
    {
        TaskKind.SequenceClassification =>
        [
            ("classifier.dense.weight", [hidden, hidden]), ("classifier.dense.bias", [hidden]),
            ("classifier.out_proj.weight", [outputs, hidden]), ("classifier.out_proj.bias", [outputs]),
        ],
        TaskKind.TokenClassification => [("classifier.weight", [outputs, hidden]), ("classifier.bias", [outputs])],
        _ => [("qa_outputs.weight", [2, hidden]), ("qa_outputs.bias", [2])],
    };

    /// <summary>A new head: weights from N(0, 0.02), biases 0 (uses libtorch's global generator).</summary>
    public static TaskHead Create(TaskKind kind, int hidden, int outputs)
    {
        using var scope = DisposeScope.Begin();
        var tensors = Layout(kind, hidden, outputs).ToDictionary(
            x => x.Name,
            x => (x.Name.EndsWith(".bias", StringComparison.Ordinal) ? Torch.Zeros(x.Shape) : Torch.Randn(x.Shape) * 0.02).AsParameter(),
            StringComparer.Ordinal);
        return new TaskHead(kind, kind == TaskKind.QuestionAnswering ? 2 : outputs, tensors);
    }

    public static TaskHead FromTensors(TaskKind kind, int hidden, int outputs, IReadOnlyDictionary<string, Tensor> tensors, string source)
    {
        var expected = Layout(kind, hidden, outputs);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, shape) in expected)
        {
            if (!tensors.TryGetValue(name, out var t))
            {
                throw new XModException($"{source}: missing head tensor {name}");
            }
            if (!t.Shape.SequenceEqual(shape))
            {
                throw new XModException($"{source}: head tensor {name} has shape [{string.Join(", ", t.Shape)}], expected [{string.Join(", ", shape)}]");
            }
            result[name] = t.AsParameter();
        }
        return new TaskHead(kind, kind == TaskKind.QuestionAnswering ? 2 : outputs, result);
    }

    /// <summary>
    /// Logits from the last hidden state (B, T, H): (B, C) for sequence classification,
    /// (B, T, C) for token classification, (B, T, 2) for QA.
    /// </summary>
    public Tensor Forward(Tensor hidden, double dropout, bool training)
    {
        using var scope = DisposeScope.Begin();
        var t = Tensors;
        var result = Kind switch
        {
            TaskKind.SequenceClassification => F.Linear(
                F.Dropout(F.Linear(F.Dropout(hidden.Select(1, 0), dropout, training), t["classifier.dense.weight"], t["classifier.dense.bias"]).Tanh(), dropout, training),
                t["classifier.out_proj.weight"], t["classifier.out_proj.bias"]),
            TaskKind.TokenClassification => F.Linear(F.Dropout(hidden, dropout, training), t["classifier.weight"], t["classifier.bias"]),
            _ => F.Linear(hidden, t["qa_outputs.weight"], t["qa_outputs.bias"]),
        };
        return scope.MoveToOuter(result);
    }

    public void Dispose()
    {
        foreach (var t in Tensors.Values)
        {
            t.Dispose();
        }
    }
}
