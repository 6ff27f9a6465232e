using System.Globalization;
using System.Text.Json;
using XMod.Packaging.Manifests;
using XMod.Runtime.Model;
using XMod.Tensors;

namespace XMod.Runtime.Tasks;

/// <summary>What a task model does: its kind, label names, the language it was fine-tuned in and its input length.</summary>
public sealed record TaskInfo(TaskKind Kind, IReadOnlyList<string> Labels, string SourceLanguage, int MaxLength, string Name);

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

    public const string TaskFile = "task.safetensors";

    /// <summary>Whether a trunk parameter is trained when fine-tuning: the shared encoder weights only.</summary>
    public static bool IsTrainedWhenFineTuning(string name) =>
        name.StartsWith("roberta.encoder.", StringComparison.Ordinal)
        && !name.Contains(".adapter_modules.", StringComparison.Ordinal)
        && !name.Contains(".adapter_layer_norm.", StringComparison.Ordinal);

    public TaskModel(LoadedModel loaded, TaskHead head, TaskInfo info, bool ownsModel)
    {
        Loaded = loaded;
        Head = head;
        Info = info;
        _ownsModel = ownsModel;
    }

    public LoadedModel Loaded { get; }

    public TaskHead Head { get; }

    public TaskInfo Info { get; }

    public IReadOnlyList<string> Labels => Info.Labels;

    /// <summary>Writes the task model (atomically: a complete directory replaces the old one).</summary>
    public void Save(string dir, IReadOnlyDictionary<string, string> provenance, string version, IReadOnlyDictionary<string, double>? metrics = null, string? trunkId = null)
    {
        var staging = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(dir))!, $".{Path.GetFileName(Path.GetFullPath(dir))}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(staging);
        try
        {
            var tensors = Loaded.Model.Trunk.Where(kv => IsTrainedWhenFineTuning(kv.Key)).Concat(Head.Tensors).OrderBy(kv => kv.Key, StringComparer.Ordinal);
            ModelStore.WriteTensors(Path.Combine(staging, TaskFile), tensors, new Dictionary<string, string> { ["format"] = "xmod-task" });
            var task = JsonSerializer.SerializeToElement(new { Info.Kind, Info.Labels, Info.SourceLanguage, Info.MaxLength }, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower })
                .EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone());
            var id = trunkId ?? Path.GetFileName(Loaded.Directory.TrimEnd('/'));
            var measured = metrics ?? new Dictionary<string, double>();
            var card = new CardInfo
            {
                DataSources = [provenance.GetValueOrDefault("train_file") is { } train ? $"{train} ({Info.SourceLanguage})" : $"labelled {Info.SourceLanguage} examples"],
                IntendedUse = $"{Info.Kind} in `{Info.SourceLanguage}` and, zero-shot, in the trunk's other languages and languages added to it later.",
                Limitations = "Zero-shot quality in other languages is lower than in the language it was trained in and is not measured here; " +
                    "the labels are those of its training data only.",
                MetricData = measured.Keys.ToDictionary(k => k, k => k.StartsWith("train", StringComparison.Ordinal)
                    ? $"its own training data ({Info.SourceLanguage}): not a held-out measure" : "not stated"),
            };
            File.WriteAllText(Path.Combine(staging, ModelCard.FileName), ModelCard.Render(new(Info.Name,
                $"A {Info.Kind} model fine-tuned in `{Info.SourceLanguage}` on the X-MOD trunk `{id}` (weights sha256 `{Loaded.TrunkSha256}`): the shared encoder " +
                "and the head were trained, every embedding and language module stayed frozen, so it transfers zero-shot to the trunk's other languages and to languages added later.",
                [("labels", $"{Info.Labels.Count}: {string.Join(", ", Info.Labels)}"), ("maximum length", $"{Info.MaxLength} tokens")],
                card, measured, $"`xmod-hub predict --model task-{Info.Name} --trunk {id} --lang LANG --text \"...\"`")));
            new PackageManifest
            {
                Kind = PackageKind.Task,
                Id = "task-" + Info.Name,
                Version = version,
                Description = $"{Info.Kind} fine-tuned in {Info.SourceLanguage} on {id}",
                Trunk = new TrunkReference(id, "*", Loaded.TrunkSha256),
                Task = task,
                Files = PackageManifest.Inventory(staging),
                Provenance = provenance,
                Metrics = measured,
                Card = card,
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
        var options = new TaskInfo(
            Enum.Parse<TaskKind>(info["kind"].GetString()!),
            info["labels"].EnumerateArray().Select(x => x.GetString()!).ToList(),
            info["source_language"].GetString()!,
            info["max_length"].GetInt32(),
            manifest.Id.StartsWith("task-", StringComparison.Ordinal) ? manifest.Id[5..] : manifest.Id);
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
            var tensors = ModelStore.ReadTensors(Path.Combine(taskDir, TaskFile));
            var headNames = TaskHead.Layout(options.Kind, loaded.Model.Config.HiddenSize, options.Labels.Count).Select(x => x.Name).ToHashSet();
            using (Torch.NoGrad())
            {
                foreach (var (name, t) in tensors.Where(kv => !headNames.Contains(kv.Key)))
                {
                    if (!IsTrainedWhenFineTuning(name) || !loaded.Model.Trunk.TryGetValue(name, out var target) || !target.Shape.SequenceEqual(t.Shape))
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

    /// <summary>The predicted label (its name and index) and its probability for each text (sequence classification).</summary>
    public IReadOnlyList<ClassPrediction> Classify(IReadOnlyList<string> texts, string language, int batchSize = 32)
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
                return new ClassPrediction(Labels[best], best, p[b * c + best]);
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

    /// <summary>The answer to each question as text: the predicted span of the context, decoded (empty when the model points outside the context).</summary>
    public IReadOnlyList<string> AnswerText(IReadOnlyList<(string Question, string Context)> items, string language, int batchSize = 32)
    {
        var spans = Answer(items, language, batchSize);
        var tokenizer = Loaded.TokenizerFor(language);
        var maxLength = Math.Min(Info.MaxLength, Loaded.Model.Config.MaxSequenceLength);
        return items.Zip(spans).Select(x =>
        {
            var ids = TaskEncoder.Encode(Info.Kind, new TaskExample { Question = x.First.Question, Text = x.First.Context }, tokenizer, maxLength).Ids;
            var (start, end) = (Math.Clamp(x.Second.Start, 0, ids.Length - 1), Math.Clamp(x.Second.End, 0, ids.Length - 1));
            return tokenizer.Decode(ids[start..(end + 1)].Select(id => (int)id).Where(id => !tokenizer.IsSpecial(id))).Trim();
        }).ToList();
    }

    private List<T> Batched<T>(IReadOnlyList<TaskExample> examples, string language, int batchSize, Func<Tensor, IReadOnlyList<EncodedExample>, IEnumerable<T>> read)
    {
        using var modules = Loaded.Model.PinModules(); // one set of languages for the whole call
        language = Loaded.Model.ResolveLanguage(language); // de, deu, de-DE, lang-de: the code the model has
        var tokenizer = Loaded.TokenizerFor(language);
        var maxLength = Math.Min(Info.MaxLength, Loaded.Model.Config.MaxSequenceLength);
        var results = new List<T>();
        Loaded.Model.Training = false;
        for (var i = 0; i < examples.Count; i += batchSize)
        {
            var batch = examples.Skip(i).Take(batchSize).Select(e => TaskEncoder.Encode(Info.Kind, e, tokenizer, maxLength)).ToList();
            using var scope = DisposeScope.Begin();
            using var inference = Torch.InferenceMode();
            var (ids, mask) = TaskEncoder.Pad(batch);
            var hidden = Loaded.Model.Encode(ids, mask, Enumerable.Repeat(language, batch.Count).ToArray());
            var logits = Head.Forward(hidden, 0, training: false);
            results.AddRange(read(Info.Kind == TaskKind.SequenceClassification ? F.Softmax(logits, -1) : logits, batch));
        }
        return results;
    }

    private void RequireKind(TaskKind kind)
    {
        if (Info.Kind != kind)
        {
            throw new XModException($"this is a {Info.Kind} model, not {kind}");
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
