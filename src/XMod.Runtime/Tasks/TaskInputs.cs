namespace XMod.Runtime.Tasks;

/// <summary>Raw prediction inputs as a task model takes them (one input per line of text).</summary>
public static class TaskInputs
{
    /// <summary>Token classification: the words of a line.</summary>
    public static IReadOnlyList<string> Words(string line) => line.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Question answering: 'question ||| context'.</summary>
    public static (string Question, string Context) Question(string line) =>
        line.Split("|||") is [var q, var c] ? (q.Trim(), c.Trim()) : throw new XModException("QA input must be 'question ||| context'");

    /// <summary>Share of sequence-classification examples the model labels right.</summary>
    public static double Accuracy(this TaskModel model, IReadOnlyList<TaskExample> examples, string language) =>
        examples.Count == 0 ? throw new XModException("no examples to measure accuracy on")
            : examples.Zip(model.Classify(examples.Select(e => e.Text).ToList(), language)).Count(x => x.First.Label == x.Second.Index) / (double)examples.Count;
}
