using System.Globalization;
using XMod.Packaging.Languages;
using XMod.Runtime.Model;
using XMod.Runtime.Scoring;
using XMod.Runtime.Tasks;
using XMod.Tensors;
using XMod.Training.Checks;
using XMod.Training.Distributed;
using XMod.Training.Loop;

namespace XMod.Training.FineTuning;

public sealed record FineTuneOptions
{
    public required TaskKind Kind { get; init; }
    public required IReadOnlyList<string> Labels { get; init; }
    /// <summary>The language of the training data; its module (and embeddings) are used, frozen.</summary>
    public required string Language { get; init; }
    public int Epochs { get; init; } = 3;
    public int BatchSize { get; init; } = 16;
    public int MaxLength { get; init; } = 128;
    /// <summary>AdamW and the schedule (<see cref="LearningRate"/> is a view onto its peak rate).</summary>
    public OptimizerOptions Optimizer { get; init; } = OptimizerOptions.ForFineTuning;
    /// <summary>Peak learning rate (the paper tried 1e-4, 3e-4 and 5e-4).</summary>
    public double LearningRate { get => Optimizer.PeakLearningRate; init => Optimizer = Optimizer with { PeakLearningRate = value }; }
    public double Dropout { get; init; } = 0.1;
    public ulong Seed { get; init; } = 1;
    public int LogEvery { get; init; } = 10;
    public string Name { get; init; } = "task";
    public string Version { get; init; } = "1.0.0";

    /// <summary>Checks every value a user can set; the message names the option and the value.</summary>
    public FineTuneOptions Validate()
    {
        if (Labels.Count < (Kind == TaskKind.QuestionAnswering ? 2 : 1))
        {
            throw new XModException($"--labels must name at least {(Kind == TaskKind.QuestionAnswering ? 2 : 1)} label (got {Labels.Count})");
        }
        if (string.IsNullOrWhiteSpace(Language))
        {
            throw new XModException("--lang must name the language of the training data");
        }
        InputChecks.Version(Version);
        InputChecks.PackageId("task-" + Name, "--name");
        OptionCheck.AtLeast(Epochs, 1, "--epochs");
        OptionCheck.AtLeast(BatchSize, 1, "--batch");
        OptionCheck.AtLeast(MaxLength, 8, "--max-length");
        OptionCheck.InRange(Dropout, 0, 1, "dropout", upperInclusive: false);
        OptionCheck.AtLeast(LogEvery, 1, "log_every");
        Optimizer.Validate();
        return this;
    }
}

/// <summary>
/// Fine-tuning for cross-lingual transfer (paper section 3): the shared transformer weights and a
/// task head are trained on one language; every embedding, every language module and the adapter
/// LayerNorms stay frozen (transformers' freeze_embeddings_and_language_adapters), so the model
/// works in another language by swapping in that language's module.
/// </summary>
public static class FineTuner
{
    /// <param name="parallel">
    /// This rank's data-parallel group: only the trainable tensors (shared encoder and head) take
    /// part in the all-reduce; --batch is per rank, so an epoch has ceil(examples / (ranks x batch))
    /// steps. The ranks start from rank 0's head; only rank 0 reports progress (the caller saves on rank 0).
    /// </param>
    public static TaskModel Train(LoadedModel loaded, IReadOnlyList<TaskExample> examples, FineTuneOptions o, Action<string> log,
        Action<TrainingProgress>? progress = null, CancellationToken cancel = default, TrainingLoopOptions? loopOptions = null,
        DataParallel? parallel = null)
    {
        o.Validate();
        if (parallel is { IsLeader: false })
        {
            log = _ => { };
            progress = null;
        }
        if (examples.Count == 0)
        {
            throw new XModException("no training examples");
        }
        var model = loaded.Model;
        // Any form of the language (de, deu, de-DE, lang-de) names the trunk's code; an ambiguous one lists the choices.
        o = o with { Language = LanguageResolver.Resolve(o.Language, model.Languages.ToList(), "the trunk") };
        var tokenizer = loaded.TokenizerFor(o.Language);
        var encoded = examples.Select(e => TaskEncoder.Encode(o.Kind, e, tokenizer, Math.Min(o.MaxLength, model.Config.MaxSequenceLength))).ToList();

        foreach (var p in model.AllParameters)
        {
            p.RequiresGrad = false;
        }
        var shared = model.Trunk.Where(kv => TaskModel.IsTrainedWhenFineTuning(kv.Key)).OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        foreach (var (_, t) in shared)
        {
            t.RequiresGrad = true;
        }
        Torch.ManualSeed(StableRandom.Mix(o.Seed, 41));
        var head = TaskHead.Create(o.Kind, model.Config.HiddenSize, o.Labels.Count);
        var trainable = shared.Select(kv => kv.Value).Concat(head.Tensors.Values).ToList();
        parallel?.BroadcastFromLeader(trainable);
        log($"fine-tuning {trainable.Sum(t => t.NumEl):N0} of {model.AllParameters.Sum(p => p.NumEl) + head.Tensors.Values.Sum(t => t.NumEl):N0} parameters " +
            $"(shared encoder + head); embeddings and language modules frozen; {examples.Count} examples in {o.Language}");

        var ranks = parallel?.WorldSize ?? 1;
        var globalBatch = o.BatchSize * ranks;
        var stepsPerEpoch = (encoded.Count + globalBatch - 1) / globalBatch;
        // Matrices are decayed; biases, LayerNorms and other vectors are not.
        using var loop = new TrainingLoop(trainable, trainable.Select(t => t.Dim > 1).ToList(), o.Optimizer,
            (loopOptions ?? new TrainingLoopOptions { TotalSteps = stepsPerEpoch * o.Epochs }) with
            {
                TotalSteps = stepsPerEpoch * o.Epochs,
                Seed = o.Seed,
                SeedStream = TrainingLoopOptions.TaskSeedStream,
                LogEvery = o.LogEvery,
                SaveEvery = 0,
                GradientReducer = parallel ?? loopOptions?.GradientReducer,
                IsLeader = parallel?.IsLeader ?? loopOptions?.IsLeader ?? true,
                Rank = parallel?.Rank ?? loopOptions?.Rank ?? 0,
            });
        // Each epoch visits the examples in its own shuffled order, a function of (seed, epoch).
        var order = Array.Empty<int>();
        var orderEpoch = -1;
        StepLoss Objective(int step)
        {
            var epoch = (step - 1) / stepsPerEpoch;
            if (epoch != orderEpoch)
            {
                order = Enumerable.Range(0, encoded.Count).ToArray();
                StableRandom.For(o.Seed, (ulong)epoch, 43).Shuffle(order);
                orderEpoch = epoch;
            }
            var batch = order.Skip((step - 1) % stepsPerEpoch * globalBatch).Take(globalBatch).Select(i => encoded[i]).ToList();
            var tokens = batch.Sum(x => (long)x.Ids.Length);
            if (parallel is null)
            {
                return new StepLoss(Loss(model, head, batch, o.Kind, o.Language, o.Dropout, training: true), tokens, o.Language);
            }
            // This rank's rows of the global batch: the sum of their losses over the global batch's
            // count, times the world size, so the all-reduced mean gradient is one process's.
            var mine = batch.Skip(parallel.Rank * o.BatchSize).Take(o.BatchSize).ToList();
            if (mine.Count == 0)
            {
                // The epoch's last batch is short and has no rows for this rank: a zero loss that still
                // reaches the trainable tensors, so backward runs and this rank sends zero gradients.
                return new StepLoss(trainable[0].Sum().Mul(0.0), tokens, o.Language);
            }
            var sum = Loss(model, head, mine, o.Kind, o.Language, o.Dropout, training: true, F.Reduction.Sum);
            return new StepLoss(sum.Mul((double)ranks / Normaliser(batch, o.Kind)), tokens, o.Language);
        }

        model.Training = true;
        var trained = false;
        try
        {
            loop.Run(Objective, cancel, progress);
            parallel?.VerifyIdentical(loop);
            trained = true;
        }
        finally
        {
            loop.Optimizer.ZeroGrad();
            model.Training = false;
            foreach (var t in trainable)
            {
                t.RequiresGrad = false;
            }
            if (!trained)
            {
                head.Dispose(); // cancelled or diverged: nothing is returned
            }
        }
        return new TaskModel(loaded, head, new TaskInfo(o.Kind, o.Labels, o.Language, o.MaxLength, o.Name), ownsModel: false);
    }

    /// <summary>What <see cref="Loss"/>'s mean divides by: examples, or for tagging the tagged tokens.</summary>
    private static double Normaliser(IReadOnlyList<EncodedExample> batch, TaskKind kind) => kind == TaskKind.TokenClassification
        ? Math.Max(1, batch.Sum(x => x.Targets.Count(t => t != TaskEncoder.Ignore)))
        : batch.Count;

    /// <summary>The task loss of a batch: cross-entropy over labels, tags or answer boundaries (mean, or the sum over the batch).</summary>
    internal static Tensor Loss(XModModel model, TaskHead head, IReadOnlyList<EncodedExample> batch, TaskKind kind, string language, double dropout, bool training,
        F.Reduction reduction = F.Reduction.Mean)
    {
        var (ids, mask) = TaskEncoder.Pad(batch);
        var hidden = model.Encode(ids, mask, Enumerable.Repeat(language, batch.Count).ToArray());
        var logits = head.Forward(hidden, dropout, training);
        switch (kind)
        {
            case TaskKind.SequenceClassification:
                return F.CrossEntropy(logits, Tensor.From(batch.Select(x => (long)x.Label).ToArray()), reduction: reduction);
            case TaskKind.TokenClassification:
                var length = (int)ids.Size(1);
                var targets = batch.SelectMany(x => x.Targets.Concat(Enumerable.Repeat(TaskEncoder.Ignore, length - x.Targets.Length))).ToArray();
                return F.CrossEntropy(logits.Reshape(-1, head.Outputs), Tensor.From(targets), ignoreIndex: TaskEncoder.Ignore, reduction: reduction);
            default:
                var (start, end) = (logits.Select(2, 0).Contiguous(), logits.Select(2, 1).Contiguous());
                var s = F.CrossEntropy(start, Tensor.From(batch.Select(x => (long)x.AnswerStartToken).ToArray()), reduction: reduction);
                var e = F.CrossEntropy(end, Tensor.From(batch.Select(x => (long)x.AnswerEndToken).ToArray()), reduction: reduction);
                return (s + e) / 2.0;
        }
    }

    /// <summary>Writes a fine-tuned task model with the fine-tuning run's provenance.</summary>
    public static void Save(TaskModel task, FineTuneOptions o, string dir, IReadOnlyDictionary<string, double>? metrics = null, string? trunkId = null) =>
        task.Save(dir, new Dictionary<string, string>
        {
            ["epochs"] = o.Epochs.ToString(CultureInfo.InvariantCulture),
            ["learning_rate"] = o.LearningRate.ToString("G", CultureInfo.InvariantCulture),
            ["seed"] = o.Seed.ToString(CultureInfo.InvariantCulture),
            ["created"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
        }, o.Version, metrics, trunkId);
}
