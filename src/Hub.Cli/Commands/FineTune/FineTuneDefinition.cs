using XModHub.Cli.Workflows;
using XMod.Training.Corpora;
using XMod.Runtime.Tasks;
using XModHub.Client.Packages;
using XModHub.Client;
using System.CommandLine;
using System.Text.Json;
using XMod;
using XMod.Runtime.Model;
using XMod.Runtime.Scoring;
using XMod.Training.Pretraining;
using XMod.Training.AddLanguage;
using XMod.Training.FineTuning;
using XMod.Training.Loop;
using XMod.Training.Checks;
using XModHub.Cli;

namespace XModHub.Cli.Commands.FineTune;

/// <summary>
/// `xmod-hub finetune`, `predict` and `evaluate-task`. Data files:
/// sequence-classification: TSV "label TAB text"; token-classification: TSV "tags TAB words"
/// (space-separated, one tag per word); question-answering: JSON lines {"question", "context", "answer"}.
/// </summary>
public static class FineTuneDefinition
{
    public static readonly Option<string> Trunk = new("--trunk") { Description = "The trunk (model directory or pre-training run)", Required = true };
    public static readonly Option<string> Task = new("--task") { Description = "sequence-classification, token-classification or question-answering", DefaultValueFactory = _ => "sequence-classification" };
    public static readonly Option<string> Train = new("--train") { Description = "Training data (see the formats above)", Required = true };
    public static readonly Option<string> Lang = new("--lang") { Description = "Language of the data", Required = true };
    public static readonly Option<string> Out = new("--out") { Description = "Task model directory to write", Required = true };
    public static readonly Option<string?> Labels = new("--labels") { Description = "Label names in order (default: sorted from the data)" };
    public static readonly Option<int> Epochs = new("--epochs") { Description = "Epochs", DefaultValueFactory = _ => 3 };
    public static readonly Option<double> Lr = new("--lr") { Description = "Peak learning rate (paper: 1e-4 to 5e-4)", DefaultValueFactory = _ => 1e-4 };
    public static readonly Option<int> Batch = new("--batch") { Description = "Examples per batch", DefaultValueFactory = _ => 16 };
    public static readonly Option<int> MaxLength = new("--max-length") { Description = "Tokens per example at most", DefaultValueFactory = _ => 128 };
    public static readonly Option<string> Name = new("--name") { Description = "Task name (package id task-<name>)", DefaultValueFactory = _ => "task" };
    public static readonly Option<bool> Force = new("--force") { Description = "Replace an existing --out directory" };
    public static readonly Option<string> Model = new("--model") { Description = "Task model directory", Required = true };
    public static readonly Option<string[]> Modules = new("--module") { Description = "Language module directories to load (languages added after pre-training)", AllowMultipleArgumentsPerToken = true };
    public static readonly Option<string?> Text = new("--text") { Description = "One input (token classification: words; QA: 'question ||| context')" };
    public static readonly Option<string?> File = new("--file") { Description = "Inputs, one per line" };
    public static readonly Option<string> Data = new("--data") { Description = "Labelled data, as for --train", Required = true };

    public static IEnumerable<Command> Create(IReporter reporter)
    {
        var finetune = new Command("finetune", "Fine-tune the shared encoder and a task head in one language (embeddings and language modules stay frozen)");
        foreach (var o in new Option[] { Trunk, Task, Train, Lang, Out, Labels, Epochs, Lr, Batch, MaxLength, Name, Force })
        {
            finetune.Options.Add(o);
        }
        finetune.SetAction((p, cancel) =>
        {
            var kind = ParseKind(p.GetValue(Task)!);
            var (examples, labels) = ReadData(p.GetValue(Train)!, kind, p.GetValue(Labels));
            var options = new FineTuneOptions
            {
                Kind = kind, Labels = labels, Language = p.GetValue(Lang)!, Epochs = p.GetValue(Epochs), LearningRate = p.GetValue(Lr),
                BatchSize = p.GetValue(Batch), MaxLength = p.GetValue(MaxLength), Name = p.GetValue(Name)!,
            }.Validate();
            InputChecks.Output(p.GetValue(Out)!, p.GetValue(Force));
            using var loaded = LoadedModel.Open(p.GetValue(Trunk)!);
            using var model = FineTuner.Train(loaded, examples, options, reporter.Info, pr => reporter.Info($"step {pr.Step,5}/{pr.TotalSteps}  loss {pr.Loss:F4}  ETA {Pretrain.PretrainDefinition.Duration(pr.Remaining)}"), cancel);
            var metrics = new Dictionary<string, double> { ["train_examples"] = examples.Count };
            if (kind == TaskKind.SequenceClassification)
            {
                metrics["train_accuracy"] = Accuracy(model, examples, p.GetValue(Lang)!);
            }
            FineTuner.Save(model, options, p.GetValue(Out)!, metrics);
            reporter.Success($"task model written to {p.GetValue(Out)}" + (metrics.TryGetValue("train_accuracy", out var a) ? $" (training accuracy {a:P1})" : ""));
            reporter.Info($"next: xmod-hub predict --model {p.GetValue(Out)} --trunk {p.GetValue(Trunk)} --lang <any language> --text \"...\"");
            return System.Threading.Tasks.Task.FromResult(0);
        });

        var predict = new Command("predict", "Predict with a task model in any language of its trunk (zero-shot transfer)");
        foreach (var o in new Option[] { Model, Trunk, Lang, Modules, Text, File })
        {
            predict.Options.Add(o);
        }
        predict.SetAction(p =>
        {
            var inputs = p.GetValue(Text) is { } t ? [t] : p.GetValue(File) is { } f ? System.IO.File.ReadAllLines(f) : throw new XModException("give --text or --file");
            using var model = TaskModel.Open(p.GetValue(Model)!, p.GetValue(Trunk)!, p.GetValue(Modules) ?? []);
            var lang = p.GetValue(Lang)!;
            switch (model.Info.Kind)
            {
                case TaskKind.SequenceClassification:
                    foreach (var (input, (label, prob)) in inputs.Zip(model.Classify(inputs, lang)))
                    {
                        reporter.Info($"{model.Labels[label]}\t{prob:F3}\t{input}");
                    }
                    break;
                case TaskKind.TokenClassification:
                    var sentences = inputs.Select(i => (IReadOnlyList<string>)i.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
                    foreach (var (words, tags) in sentences.Zip(model.Tag(sentences, lang)))
                    {
                        reporter.Info(string.Join(' ', words.Zip(tags).Select(x => $"{x.First}/{model.Labels[x.Second]}")));
                    }
                    break;
                default:
                    var items = inputs.Select(i => i.Split("|||") is [var q, var c] ? (q.Trim(), c.Trim()) : throw new XModException("QA input must be 'question ||| context'")).ToList();
                    foreach (var ((q, c), span) in items.Zip(model.Answer(items, lang)))
                    {
                        reporter.Info($"{q}\tanswer tokens {span.Start}..{span.End}");
                    }
                    break;
            }
            return 0;
        });

        var evaluate = new Command("evaluate-task", "Accuracy of a sequence-classification model on labelled data in any language");
        foreach (var o in new Option[] { Model, Trunk, Lang, Modules, Data })
        {
            evaluate.Options.Add(o);
        }
        evaluate.SetAction(p =>
        {
            using var model = TaskModel.Open(p.GetValue(Model)!, p.GetValue(Trunk)!, p.GetValue(Modules) ?? []);
            var (examples, _) = ReadData(p.GetValue(Data)!, TaskKind.SequenceClassification, string.Join(',', model.Labels));
            reporter.Info($"accuracy in {p.GetValue(Lang)}: {Accuracy(model, examples, p.GetValue(Lang)!):P2} on {examples.Count} examples");
            return 0;
        });
        return [finetune, predict, evaluate];
    }

    private static double Accuracy(TaskModel model, IReadOnlyList<TaskExample> examples, string language) =>
        examples.Zip(model.Classify(examples.Select(e => e.Text).ToList(), language)).Count(x => x.First.Label == x.Second.Label) / (double)examples.Count;

    internal static TaskKind ParseKind(string text) => text switch
    {
        "sequence-classification" => TaskKind.SequenceClassification,
        "token-classification" => TaskKind.TokenClassification,
        "question-answering" => TaskKind.QuestionAnswering,
        _ => throw new XModException($"unknown task '{text}': use sequence-classification, token-classification or question-answering"),
    };

    internal static (IReadOnlyList<TaskExample> Examples, IReadOnlyList<string> Labels) ReadData(string path, TaskKind kind, string? labelList)
    {
        if (!System.IO.File.Exists(path))
        {
            throw new XModException($"{path} does not exist");
        }
        var lines = System.IO.File.ReadAllLines(path).Select((l, i) => (Line: l, Number: i + 1)).Where(x => x.Line.Trim().Length > 0).ToList();
        if (kind == TaskKind.QuestionAnswering)
        {
            var qa = lines.Select(x =>
            {
                try
                {
                    using var doc = JsonDocument.Parse(x.Line);
                    var (q, c, a) = (doc.RootElement.GetProperty("question").GetString()!, doc.RootElement.GetProperty("context").GetString()!, doc.RootElement.GetProperty("answer").GetString()!);
                    var at = c.IndexOf(a, StringComparison.Ordinal);
                    return at < 0 ? throw new XModException($"{path}:{x.Number}: the answer does not occur in the context")
                        : new TaskExample { Question = q, Text = c, AnswerStart = at, AnswerLength = a.Length };
                }
                catch (Exception e) when (e is JsonException or KeyNotFoundException)
                {
                    throw new XModException($"{path}:{x.Number}: expected JSON with question, context and answer");
                }
            }).ToList();
            return (qa, ["start", "end"]);
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
}
