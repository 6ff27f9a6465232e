using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using XMod.Packaging;
using XMod.Packaging.Checkpoints;
using XMod.Packaging.Manifests;
using XMod.Runtime.Model;
using XMod.Runtime.Optim;
using XMod.Runtime.Tensors;
using XMod.Runtime.Tokenization;

namespace XMod.Runtime.Training;

public sealed record FineTuneOptions
{
    public required TaskKind Kind { get; init; }
    public required IReadOnlyList<string> Labels { get; init; }
    /// <summary>The language of the training data; its module (and embeddings) are used, frozen.</summary>
    public required string Language { get; init; }
    public int Epochs { get; init; } = 3;
    public int BatchSize { get; init; } = 16;
    public int MaxLength { get; init; } = 128;
    /// <summary>Peak learning rate (the paper tried 1e-4, 3e-4 and 5e-4).</summary>
    public double LearningRate { get; init; } = 1e-4;
    public double Dropout { get; init; } = 0.1;
    public ulong Seed { get; init; } = 1;
    public string Name { get; init; } = "task";
    public string Version { get; init; } = "1.0.0";
}

/// <summary>
/// Fine-tuning for cross-lingual transfer (paper section 3): the shared transformer weights and a
/// task head are trained on one language; every embedding, every language module and the adapter
/// LayerNorms stay frozen (transformers' freeze_embeddings_and_language_adapters), so the model
/// works in another language by swapping in that language's module.
/// </summary>
public static class FineTuner
{
    public const string TaskFile = "task.safetensors";

    /// <summary>Whether a trunk parameter is trained when fine-tuning: the shared encoder weights only.</summary>
    public static bool IsTrainedWhenFineTuning(string name) =>
        name.StartsWith("roberta.encoder.", StringComparison.Ordinal)
        && !name.Contains(".adapter_modules.", StringComparison.Ordinal)
        && !name.Contains(".adapter_layer_norm.", StringComparison.Ordinal);

    public static TaskModel Train(LoadedModel loaded, IReadOnlyList<TaskExample> examples, FineTuneOptions o, Action<string> log,
        Action<TrainingProgress>? progress = null, CancellationToken cancel = default)
    {
        if (examples.Count == 0)
        {
            throw new XModException("no training examples");
        }
        var model = loaded.Model;
        if (!model.Languages.Contains(o.Language))
        {
            throw new XModException($"the trunk has no '{o.Language}' to fine-tune in (it has {string.Join(", ", model.Languages)})");
        }
        var tokenizer = loaded.TokenizerFor(o.Language);
        var encoded = examples.Select(e => TaskEncoder.Encode(o.Kind, e, tokenizer, Math.Min(o.MaxLength, model.Config.MaxSequenceLength))).ToList();

        foreach (var p in model.AllParameters)
        {
            p.RequiresGrad = false;
        }
        var shared = model.Trunk.Where(kv => IsTrainedWhenFineTuning(kv.Key)).OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        foreach (var (_, t) in shared)
        {
            t.RequiresGrad = true;
        }
        Torch.ManualSeed(StableRandom.Mix(o.Seed, 41));
        var head = TaskHead.Create(o.Kind, model.Config.HiddenSize, o.Labels.Count);
        var trainable = shared.Select(kv => kv.Value).Concat(head.Tensors.Values).ToList();
        log($"fine-tuning {trainable.Sum(t => t.NumEl):N0} of {model.AllParameters.Sum(p => p.NumEl) + head.Tensors.Values.Sum(t => t.NumEl):N0} parameters " +
            $"(shared encoder + head); embeddings and language modules frozen; {examples.Count} examples in {o.Language}");

        var stepsPerEpoch = (encoded.Count + o.BatchSize - 1) / o.BatchSize;
        var total = stepsPerEpoch * o.Epochs;
        var schedule = new LearningRateSchedule(o.LearningRate, (int)Math.Round(total * 0.06), total);
        using var optimizer = new AdamW(trainable, trainable.Select(t => t.Dim > 1 ? 0.01 : 0.0).ToList(), 0.9, 0.98, 1e-6);
        model.Training = true;
        var clock = Stopwatch.StartNew();
        var losses = new List<double>();
        var step = 0;
        for (var epoch = 0; epoch < o.Epochs && !cancel.IsCancellationRequested; epoch++)
        {
            var order = Enumerable.Range(0, encoded.Count).ToArray();
            StableRandom.For(o.Seed, (ulong)epoch, 43).Shuffle(order);
            for (var b = 0; b < order.Length && !cancel.IsCancellationRequested; b += o.BatchSize)
            {
                step++;
                var batch = order.Skip(b).Take(o.BatchSize).Select(i => encoded[i]).ToList();
                Torch.ManualSeed(StableRandom.Mix(o.Seed, (ulong)step, 47));
                using (DisposeScope.Begin())
                {
                    var loss = Loss(model, head, batch, o.Kind, o.Language, o.Dropout, training: true);
                    optimizer.ZeroGrad();
                    loss.Backward();
                    Gradients.ClipNorm(trainable, 1.0);
                    optimizer.Step(schedule.At(step));
                    losses.Add(loss.Item());
                }
                if (step % 10 == 0 || step == total)
                {
                    progress?.Invoke(new TrainingProgress(step, total, losses.Average(), schedule.At(step), 0,
                        batch.Sum(x => x.Ids.Length) / Math.Max(1e-9, clock.Elapsed.TotalSeconds / step), clock.Elapsed,
                        TimeSpan.FromSeconds(clock.Elapsed.TotalSeconds / step * (total - step)), o.Language));
                    losses.Clear();
                }
            }
        }
        optimizer.ZeroGrad();
        model.Training = false;
        foreach (var t in trainable)
        {
            t.RequiresGrad = false;
        }
        if (cancel.IsCancellationRequested)
        {
            head.Dispose();
            throw new OperationCanceledException("fine-tuning was cancelled; nothing was written");
        }
        return new TaskModel(loaded, head, o, ownsModel: false);
    }

    /// <summary>The task loss of a batch: cross-entropy over labels, tags or answer boundaries.</summary>
    internal static Tensor Loss(XModModel model, TaskHead head, IReadOnlyList<EncodedExample> batch, TaskKind kind, string language, double dropout, bool training)
    {
        var (ids, mask) = Pad(batch);
        var hidden = model.Encode(ids, mask, Enumerable.Repeat(language, batch.Count).ToArray());
        var logits = head.Forward(hidden, dropout, training);
        switch (kind)
        {
            case TaskKind.SequenceClassification:
                return F.CrossEntropy(logits, Tensor.From(batch.Select(x => (long)x.Label).ToArray()));
            case TaskKind.TokenClassification:
                var length = (int)ids.Size(1);
                var targets = batch.SelectMany(x => x.Targets.Concat(Enumerable.Repeat(TaskEncoder.Ignore, length - x.Targets.Length))).ToArray();
                return F.CrossEntropy(logits.Reshape(-1, head.Outputs), Tensor.From(targets), ignoreIndex: TaskEncoder.Ignore);
            default:
                var (start, end) = (logits.Select(2, 0).Contiguous(), logits.Select(2, 1).Contiguous());
                var s = F.CrossEntropy(start, Tensor.From(batch.Select(x => (long)x.AnswerStartToken).ToArray()));
                var e = F.CrossEntropy(end, Tensor.From(batch.Select(x => (long)x.AnswerEndToken).ToArray()));
                return (s + e) / 2.0;
        }
    }

    /// <summary>Pads a batch to its longest example: ids (B, T) and attention mask (B, T).</summary>
    internal static (Tensor Ids, Tensor Mask) Pad(IReadOnlyList<EncodedExample> batch)
    {
        var length = batch.Max(x => x.Ids.Length);
        var ids = new long[batch.Count * length];
        var mask = new long[batch.Count * length];
        Array.Fill(ids, XModTokenizer.Pad);
        for (var b = 0; b < batch.Count; b++)
        {
            batch[b].Ids.CopyTo(ids, b * length);
            Array.Fill(mask, 1L, b * length, batch[b].Ids.Length);
        }
        return (Tensor.From(ids, batch.Count, length), Tensor.From(mask, batch.Count, length));
    }
}

/// <summary>
/// A fine-tuned task model on its trunk: the fine-tuned shared encoder weights and the head. It
/// predicts in any language the model has, pre-trained or added later, by using that language's
/// module (and embeddings and tokenizer, when it has its own).
/// <code>
/// DIR/xmod.json           manifest: task, labels, source language, the trunk (id, sha256)
/// DIR/task.safetensors    fine-tuned shared encoder weights and the head (Hugging Face names)
/// DIR/README.md           model card
/// </code>
/// </summary>
public sealed class TaskModel : IDisposable
{
    private readonly bool _ownsModel;

    internal TaskModel(LoadedModel loaded, TaskHead head, FineTuneOptions options, bool ownsModel)
    {
        Loaded = loaded;
        Head = head;
        Options = options;
        _ownsModel = ownsModel;
    }

    public LoadedModel Loaded { get; }

    public TaskHead Head { get; }

    public FineTuneOptions Options { get; }

    public IReadOnlyList<string> Labels => Options.Labels;

    private sealed record TaskInfo(TaskKind Kind, IReadOnlyList<string> Labels, string SourceLanguage, int MaxLength);

    /// <summary>Writes the task model (atomically: a complete directory replaces the old one).</summary>
    public void Save(string dir, IReadOnlyDictionary<string, double>? metrics = null, string? trunkId = null)
    {
        var staging = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(dir))!, $".{Path.GetFileName(Path.GetFullPath(dir))}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(staging);
        try
        {
            var tensors = Loaded.Model.Trunk.Where(kv => FineTuner.IsTrainedWhenFineTuning(kv.Key)).Concat(Head.Tensors).OrderBy(kv => kv.Key, StringComparer.Ordinal);
            ModelStore.WriteTensors(Path.Combine(staging, FineTuner.TaskFile), tensors, new Dictionary<string, string> { ["format"] = "xmod-task" });
            var info = new TaskInfo(Options.Kind, Options.Labels, Options.Language, Options.MaxLength);
            var task = JsonSerializer.SerializeToElement(info, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower })
                .EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone());
            var id = trunkId ?? Path.GetFileName(Loaded.Directory.TrimEnd('/'));
            File.WriteAllText(Path.Combine(staging, "README.md"),
                $"# {Options.Name}\n\nA {Options.Kind} model ({Options.Labels.Count} labels: {string.Join(", ", Options.Labels)}) fine-tuned in `{Options.Language}` " +
                $"on the X-MOD trunk `{id}` (weights sha256 `{Loaded.TrunkSha256}`): the shared encoder and the head were trained, every embedding " +
                $"and language module stayed frozen, so it transfers zero-shot to the trunk's other languages and to languages added later.\n\n" +
                string.Concat((metrics ?? new Dictionary<string, double>()).Select(kv => $"- {kv.Key}: {kv.Value.ToString("F4", CultureInfo.InvariantCulture)}\n")));
            new PackageManifest
            {
                Kind = PackageKind.Task,
                Id = "task-" + Options.Name,
                Version = Options.Version,
                Description = $"{Options.Kind} fine-tuned in {Options.Language} on {id}",
                Trunk = new TrunkReference(id, "*", Loaded.TrunkSha256),
                Task = task,
                Files = PackageManifest.Inventory(staging),
                Provenance = new Dictionary<string, string>
                {
                    ["epochs"] = Options.Epochs.ToString(CultureInfo.InvariantCulture),
                    ["learning_rate"] = Options.LearningRate.ToString("G", CultureInfo.InvariantCulture),
                    ["seed"] = Options.Seed.ToString(CultureInfo.InvariantCulture),
                    ["created"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
                },
                Metrics = metrics ?? new Dictionary<string, double>(),
            }.Save(staging);
            ModelStore.ReplaceDirectory(staging, Path.GetFullPath(dir));
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    /// <summary>Opens a task model on the trunk it was fine-tuned from (checked by sha256), with extra language modules.</summary>
    public static TaskModel Open(string taskDir, string trunkPath, IEnumerable<string>? languageModules = null)
    {
        var manifest = PackageManifest.Load(taskDir);
        if (manifest.Kind != PackageKind.Task || manifest.Task is null)
        {
            throw new XModException($"{taskDir} is not a task model");
        }
        manifest.Verify(taskDir);
        var info = manifest.Task.ToDictionary(kv => kv.Key, kv => kv.Value);
        var options = new FineTuneOptions
        {
            Kind = Enum.Parse<TaskKind>(info["kind"].GetString()!),
            Labels = info["labels"].EnumerateArray().Select(x => x.GetString()!).ToList(),
            Language = info["source_language"].GetString()!,
            MaxLength = info["max_length"].GetInt32(),
            Name = manifest.Id.StartsWith("task-", StringComparison.Ordinal) ? manifest.Id[5..] : manifest.Id,
        };
        var loaded = LoadedModel.Open(trunkPath);
        try
        {
            if (!string.Equals(manifest.Trunk?.Sha256, loaded.TrunkSha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new XModException($"{taskDir} was fine-tuned on trunk {manifest.Trunk?.Id} (sha256 {manifest.Trunk?.Sha256?[..12]}…), not on {trunkPath}");
            }
            foreach (var dir in languageModules ?? [])
            {
                loaded.AddLanguage(dir);
            }
            var tensors = ModelStore.ReadTensors(Path.Combine(taskDir, FineTuner.TaskFile));
            var headNames = TaskHead.Layout(options.Kind, loaded.Model.Config.HiddenSize, options.Labels.Count).Select(x => x.Name).ToHashSet();
            using (Torch.NoGrad())
            {
                foreach (var (name, t) in tensors.Where(kv => !headNames.Contains(kv.Key)))
                {
                    if (!FineTuner.IsTrainedWhenFineTuning(name) || !loaded.Model.Trunk.TryGetValue(name, out var target) || !target.Shape.SequenceEqual(t.Shape))
                    {
                        throw new XModException($"{taskDir}: tensor {name} does not belong to this trunk's shared encoder");
                    }
                    target.CopyInPlace(t);
                    t.Dispose();
                }
            }
            var head = TaskHead.FromTensors(options.Kind, loaded.Model.Config.HiddenSize, options.Labels.Count,
                tensors.Where(kv => headNames.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value), taskDir);
            return new TaskModel(loaded, head, options, ownsModel: true);
        }
        catch
        {
            loaded.Dispose();
            throw;
        }
    }

    /// <summary>Predicted label index and its probability for each text (sequence classification).</summary>
    public IReadOnlyList<(int Label, double Probability)> Classify(IReadOnlyList<string> texts, string language, int batchSize = 32)
    {
        RequireKind(TaskKind.SequenceClassification);
        return Batched(texts.Select(t => new TaskExample { Text = t }).ToList(), language, batchSize, (probs, batch) =>
        {
            var p = probs.ToArray<float>();
            var c = Labels.Count;
            return Enumerable.Range(0, batch.Count).Select(b =>
            {
                var best = 0;
                for (var k = 1; k < c; k++)
                {
                    best = p[b * c + k] > p[b * c + best] ? k : best;
                }
                return (best, (double)p[b * c + best]);
            }).ToList();
        });
    }

    /// <summary>One label per word (token classification).</summary>
    public IReadOnlyList<IReadOnlyList<int>> Tag(IReadOnlyList<IReadOnlyList<string>> sentences, string language, int batchSize = 32)
    {
        RequireKind(TaskKind.TokenClassification);
        return Batched(sentences.Select(s => new TaskExample { Words = s }).ToList(), language, batchSize, (probs, batch) =>
        {
            var labels = probs.Argmax(-1).ToArray<long>();
            var t = (int)probs.Size(1);
            return batch.Select((x, b) => (IReadOnlyList<int>)x.WordStarts.Select(s => (int)labels[b * t + s]).ToList()).ToList();
        });
    }

    /// <summary>The answer span (token indices into the encoded example) for each question and context.</summary>
    public IReadOnlyList<(int Start, int End)> Answer(IReadOnlyList<(string Question, string Context)> items, string language, int batchSize = 32)
    {
        RequireKind(TaskKind.QuestionAnswering);
        return Batched(items.Select(x => new TaskExample { Question = x.Question, Text = x.Context }).ToList(), language, batchSize, (logits, batch) =>
        {
            var starts = logits.Select(2, 0).Argmax(-1).ToArray<long>();
            var ends = logits.Select(2, 1).Argmax(-1).ToArray<long>();
            return batch.Select((_, b) => ((int)starts[b], (int)Math.Max(starts[b], ends[b]))).ToList();
        });
    }

    private List<T> Batched<T>(IReadOnlyList<TaskExample> examples, string language, int batchSize, Func<Tensor, IReadOnlyList<EncodedExample>, IEnumerable<T>> read)
    {
        var tokenizer = Loaded.TokenizerFor(language);
        var maxLength = Math.Min(Options.MaxLength, Loaded.Model.Config.MaxSequenceLength);
        var results = new List<T>();
        Loaded.Model.Training = false;
        for (var i = 0; i < examples.Count; i += batchSize)
        {
            var batch = examples.Skip(i).Take(batchSize).Select(e => TaskEncoder.Encode(Options.Kind, e, tokenizer, maxLength)).ToList();
            using var scope = DisposeScope.Begin();
            using var inference = Torch.InferenceMode();
            var (ids, mask) = FineTuner.Pad(batch);
            var hidden = Loaded.Model.Encode(ids, mask, Enumerable.Repeat(language, batch.Count).ToArray());
            var logits = Head.Forward(hidden, 0, training: false);
            results.AddRange(read(Options.Kind == TaskKind.SequenceClassification ? F.Softmax(logits, -1) : logits, batch));
        }
        return results;
    }

    private void RequireKind(TaskKind kind)
    {
        if (Options.Kind != kind)
        {
            throw new XModException($"this is a {Options.Kind} model, not {kind}");
        }
    }

    public void Dispose()
    {
        Head.Dispose();
        if (_ownsModel)
        {
            Loaded.Dispose();
        }
    }
}
