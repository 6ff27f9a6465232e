using XMod.Runtime.Scoring;
using XMod.Tensors;
using XMod.Tensors.Optim;

namespace XMod.Training.Loop;

/// <summary>What a step's objective returns: its loss, the tokens it fed the model (padding excluded), and a label for progress (the language).</summary>
/// <param name="Loss">A scalar tensor; it lives in the step's dispose scope.</param>
public readonly record struct StepLoss(Tensor Loss, long Tokens, string Label);

/// <summary>Computes the loss of 1-based step <paramref name="step"/>; called seeded, inside the step's dispose scope.</summary>
public delegate StepLoss StepObjective(int step);

/// <summary>One completed step. <paramref name="GradNorm"/> is the global norm before clipping.</summary>
public readonly record struct StepResult(int Step, double Loss, double GradNorm, double LearningRate, long Tokens, string Label, TimeSpan Duration);

/// <summary>What the loop reports every few steps (on the leader only).</summary>
/// <param name="Loss">Mean loss of the steps since the last report.</param>
/// <param name="GradNorm">Mean gradient norm (before clipping) of those steps.</param>
/// <param name="TokensPerSecond">Their tokens over the time spent in them (checkpoint saves and reporting excluded).</param>
/// <param name="Elapsed">Wall time of the whole run, earlier sessions included.</param>
/// <param name="Remaining">The remaining steps at this session's rate of training.</param>
public sealed record TrainingProgress(
    int Step, int TotalSteps, double Loss, double LearningRate, double GradNorm, double TokensPerSecond,
    TimeSpan Elapsed, TimeSpan Remaining, string Language);

/// <summary>
/// Seam for data-parallel training: called on every rank after backward and before clipping, it
/// combines the ranks' gradients (an all-reduce mean) so that every rank clips and steps alike.
/// </summary>
public interface IGradientReducer
{
    void Reduce(IReadOnlyList<Tensor> parameters);

    /// <summary>Reduces the gradients and returns the step's loss over all ranks (a reducer can send it with the gradients).</summary>
    double Reduce(IReadOnlyList<Tensor> parameters, double loss)
    {
        Reduce(parameters);
        return loss;
    }

    /// <summary>
    /// As <see cref="Reduce(IReadOnlyList{Tensor}, double)"/>, and agrees whether to stop after
    /// this step: true on every rank when any rank asked (<paramref name="stop"/>). The ranks must
    /// stop after the SAME step, or the ones that go on would wait in a collective for the others.
    /// </summary>
    (double Loss, bool Stop) Reduce(IReadOnlyList<Tensor> parameters, double loss, bool stop) => (Reduce(parameters, loss), stop);
}

/// <summary>How a <see cref="TrainingLoop"/> runs: its length, seeding, cadences and distribution seams.</summary>
public sealed record TrainingLoopOptions
{
    /// <summary>Seed stream of masked-language-model training (pre-training, language addition).</summary>
    public const ulong MlmSeedStream = 3;

    /// <summary>Seed stream of task fine-tuning.</summary>
    public const ulong TaskSeedStream = 47;

    public required int TotalSteps { get; init; }

    /// <summary>libtorch's generator (dropout) is seeded from (seed, step, stream) before each step, so a resumed run draws alike.</summary>
    public ulong Seed { get; init; } = 1;

    public ulong SeedStream { get; init; } = MlmSeedStream;

    public int LogEvery { get; init; } = 10;

    /// <summary>Checkpoint interval in steps; 0 saves only at the end and on cancellation.</summary>
    public int SaveEvery { get; init; }

    /// <summary>Whether this process reports progress and writes checkpoints (rank 0 of a distributed run).</summary>
    public bool IsLeader { get; init; } = true;

    public IGradientReducer? GradientReducer { get; init; }

    /// <summary>This process's rank: each rank seeds its dropout differently, so N ranks do not draw one mask N times.</summary>
    public int Rank { get; init; }

    /// <summary>The clock behind elapsed time, tokens/s and the ETA (tests substitute their own).</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    public TrainingLoopOptions Validate()
    {
        OptionCheck.AtLeast(TotalSteps, 1, "--steps");
        OptionCheck.AtLeast(LogEvery, 1, "--log-every");
        OptionCheck.AtLeast(SaveEvery, 0, "--save-every");
        return this;
    }
}

/// <summary>
/// The one training step and loop behind pre-training, language addition, fine-tuning and the
/// training benchmark. A step seeds libtorch from (seed, step), computes the trainer's loss in a
/// dispose scope, back-propagates, lets a <see cref="IGradientReducer"/> combine gradients,
/// clips, refuses a non-finite loss or gradient norm (before the weights change), and steps
/// AdamW at the schedule's rate. <see cref="Run"/> adds progress, checkpoint cadence and
/// cancellation (checkpoint first, then <see cref="OperationCanceledException"/>).
/// </summary>
public sealed class TrainingLoop : IDisposable
{
    private readonly OptimizerOptions _optimizer;
    private readonly TimeProvider _clock;
    private TimeSpan _priorElapsed;
    private long? _sessionStart;
    private CancellationToken _cancel;

    /// <param name="parameters">The trainable tensors.</param>
    /// <param name="decayed">Per parameter, whether weight decay applies (trainers exempt biases and LayerNorms).</param>
    public TrainingLoop(IReadOnlyList<Tensor> parameters, IReadOnlyList<bool> decayed, OptimizerOptions optimizer, TrainingLoopOptions options)
    {
        Options = options.Validate();
        _optimizer = optimizer.Validate(options.TotalSteps);
        if (decayed.Count != parameters.Count)
        {
            throw new ArgumentException($"{decayed.Count} weight-decay flags for {parameters.Count} parameters", nameof(decayed));
        }
        Parameters = parameters;
        Schedule = optimizer.Schedule(options.TotalSteps);
        Optimizer = new AdamW(parameters, decayed.Select(d => d ? optimizer.WeightDecay : 0.0).ToList(), optimizer.Beta1, optimizer.Beta2, optimizer.Epsilon);
        _clock = options.Clock;
    }

    public TrainingLoopOptions Options { get; }

    public IReadOnlyList<Tensor> Parameters { get; }

    public LearningRateSchedule Schedule { get; }

    /// <summary>Its moments and step count are what a checkpoint saves.</summary>
    public AdamW Optimizer { get; }

    /// <summary>Steps completed (across sessions).</summary>
    public int Step { get; private set; }

    /// <summary>Tokens trained on (across sessions).</summary>
    public long TokensSeen { get; private set; }

    /// <summary>The step whose state is on disk; <see cref="Run"/> saves only once it has moved past it.</summary>
    public int CheckpointedStep { get; set; }

    /// <summary>With a gradient reducer: whether the ranks agreed, in the last step's all-reduce, to stop (one of them was cancelled).</summary>
    public bool StopAgreed { get; private set; }

    /// <summary>Steps completed in this session.</summary>
    public int SessionSteps { get; private set; }

    /// <summary>Time this session spent inside steps: checkpoint saves and progress reporting excluded.</summary>
    public TimeSpan SessionTrainingTime { get; private set; }

    /// <summary>Wall time of the run: earlier sessions plus this one so far.</summary>
    public TimeSpan Elapsed => _priorElapsed + (_sessionStart is { } start ? _clock.GetElapsedTime(start) : TimeSpan.Zero);

    /// <summary>Continues a run from a checkpoint taken after <paramref name="step"/> steps.</summary>
    public void Restore(int step, TimeSpan elapsed, long tokensSeen)
    {
        if (SessionSteps > 0)
        {
            throw new InvalidOperationException("a loop is restored before its first step");
        }
        Step = CheckpointedStep = step;
        _priorElapsed = elapsed;
        TokensSeen = tokensSeen;
    }

    /// <summary>One optimisation step. Throws <see cref="XModException"/> naming the step when the loss or gradient norm is not finite; the weights are then unchanged.</summary>
    public StepResult TrainStep(StepObjective objective)
    {
        var step = Step + 1;
        if (step > Options.TotalSteps)
        {
            throw new InvalidOperationException($"the run has {Options.TotalSteps} steps; all are done");
        }
        _sessionStart ??= _clock.GetTimestamp();
        var started = _clock.GetTimestamp();
        var learningRate = Schedule.At(step);
        // Dropout draws from libtorch's generator, seeded per step so a resumed run draws the same.
        var seed = StableRandom.Mix(Options.Seed, (ulong)step, Options.SeedStream);
        Torch.ManualSeed(Options.Rank == 0 ? seed : StableRandom.Mix(seed, (ulong)Options.Rank));
        double loss, norm;
        StepLoss output;
        using (DisposeScope.Begin())
        {
            Optimizer.ZeroGrad();
            output = objective(step);
            loss = output.Loss.Item();
            if (Options.GradientReducer is { } reducer)
            {
                // Every rank must reach the all-reduce, so a rank's non-finite loss is checked
                // after it, where it has made the mean (and so every rank's check) non-finite.
                output.Loss.Backward();
                (loss, var stop) = reducer.Reduce(Parameters, loss, _cancel.IsCancellationRequested);
                StopAgreed |= stop;
                ThrowIfDiverged(step, "loss", loss);
            }
            else
            {
                ThrowIfDiverged(step, "loss", loss);
                output.Loss.Backward();
            }
            norm = Gradients.ClipNorm(Parameters, _optimizer.ClipNorm);
            ThrowIfDiverged(step, "gradient norm", norm);
            Optimizer.Step(learningRate);
        }
        var duration = _clock.GetElapsedTime(started);
        Step = step;
        TokensSeen += output.Tokens;
        SessionSteps++;
        SessionTrainingTime += duration;
        return new StepResult(step, loss, norm, learningRate, output.Tokens, output.Label, duration);
    }

    private static void ThrowIfDiverged(int step, string what, double value)
    {
        if (!double.IsFinite(value))
        {
            throw new XModException($"training diverged at step {step}: the {what} is {value}; the weights were not updated and no checkpoint was written " +
                "(lower --lr, or check the data; a resumed run continues from the last checkpoint)");
        }
    }

    /// <summary>Time left for the remaining steps at this session's rate.</summary>
    public TimeSpan Remaining => SessionSteps == 0
        ? TimeSpan.Zero
        : SessionTrainingTime / SessionSteps * (Options.TotalSteps - Step);

    /// <summary>
    /// Trains to the last step. <paramref name="checkpoint"/> (when the trainer supports
    /// checkpoints) is called every save_every steps, at the end, and on cancellation before
    /// <see cref="OperationCanceledException"/> is thrown; never twice for the same step, and never
    /// after divergence. Cancellation is honoured between steps; with a gradient reducer, after the
    /// step in whose all-reduce the ranks agreed to stop, so that all of them stop together.
    /// </summary>
    public void Run(StepObjective objective, CancellationToken cancel, Action<TrainingProgress>? progress = null, Action? checkpoint = null)
    {
        _sessionStart ??= _clock.GetTimestamp();
        _cancel = cancel;
        double lossSum = 0, normSum = 0;
        long tokens = 0;
        var steps = 0;
        var time = TimeSpan.Zero;
        while (Step < Options.TotalSteps)
        {
            if (Options.GradientReducer is null ? cancel.IsCancellationRequested : StopAgreed)
            {
                SaveCheckpoint(checkpoint);
                throw new OperationCanceledException(
                    $"training stopped after step {Step} of {Options.TotalSteps}" + (checkpoint is null ? "; nothing was saved" : "; its checkpoint is saved"), cancel);
            }
            var r = TrainStep(objective);
            lossSum += r.Loss;
            normSum += r.GradNorm;
            tokens += r.Tokens;
            steps++;
            time += r.Duration;
            if (Step % Options.LogEvery == 0 || Step == Options.TotalSteps)
            {
                if (Options.IsLeader && progress is not null)
                {
                    progress(new TrainingProgress(Step, Options.TotalSteps, lossSum / steps, r.LearningRate, normSum / steps,
                        tokens / Math.Max(time.TotalSeconds, 1e-9), Elapsed, Remaining, r.Label));
                }
                (lossSum, normSum, tokens, steps, time) = (0, 0, 0, 0, TimeSpan.Zero);
            }
            if (Options.SaveEvery > 0 && Step % Options.SaveEvery == 0 && Step < Options.TotalSteps)
            {
                SaveCheckpoint(checkpoint);
            }
        }
        SaveCheckpoint(checkpoint);
    }

    /// <summary>Calls <paramref name="checkpoint"/> on the leader unless this step is saved already.</summary>
    private void SaveCheckpoint(Action? checkpoint)
    {
        if (checkpoint is not null && Options.IsLeader && CheckpointedStep != Step)
        {
            checkpoint();
            CheckpointedStep = Step;
        }
    }

    public void Dispose() => Optimizer.Dispose();
}
