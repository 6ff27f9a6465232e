using XMod.Runtime.Model;
using XMod.Training.Distributed;
using XMod.Training.Pretraining;
using XModHub.Client;
using CorpusFiles = XMod.Training.Corpora.Corpus;

namespace XModHub.Cli.Commands.Pretrain;

public sealed class PretrainCommand(IReporter reporter)
{
    /// <summary>
    /// Starts or resumes a run. <paramref name="steps"/>, <paramref name="logEvery"/> and
    /// <paramref name="saveEvery"/> are non-null when given on the command line; a resume honours them.
    /// Cancelled, it finishes the step, saves a checkpoint and says how to continue.
    /// </summary>
    public int Run(string corpusDir, string runDir, bool resume, PretrainOptions options, int? steps, int? logEvery, int? saveEvery, CancellationToken cancel,
        int? batch = null)
    {
        // One rank of a data-parallel run when torchrun's variables are set (--nproc sets them).
        using var parallel = DataParallel.FromEnvironment();
        using var trainer = resume
            ? Pretrainer.Resume(runDir, reporter.Info, steps: steps, logEvery: logEvery, saveEvery: saveEvery, parallel: parallel, batchSize: batch)
            : Start(corpusDir, runDir, options, parallel);
        var o = trainer.Options;
        var c = trainer.Model.Config;
        reporter.Info($"{(o.Shared ? "SHARED" : "X-MOD")} {o.Preset}: {c.NumLayers} x {c.HiddenSize}, bottleneck {c.BottleneckSize}, vocabulary {c.VocabSize}, " +
            $"{trainer.Model.AllParameters.Sum(p => p.NumEl) / 1e6:F1}M parameters, {o.Languages.Count} languages");
        reporter.Info("language sampling (alpha " + o.Alpha + "): " + string.Join(", ",
            o.Languages.Zip(trainer.LanguageProbabilities).OrderByDescending(x => x.Second).Select(x => $"{x.First} {x.Second:P1}")));
        reporter.Info($"training steps {trainer.Step + 1}..{o.Steps}: batch {o.BatchSize} x {o.SequenceLength} tokens, peak lr {o.PeakLearningRate:G3}, warm-up {o.Warmup}{(o.BFloat16 ? ", bf16" : "")}");
        using (cancel.Register(() => reporter.Warn("stopping after this step and saving a checkpoint")))
        {
            try
            {
                trainer.Run(cancel, p => reporter.Info(
                    $"step {p.Step,6}/{p.TotalSteps}  loss {p.Loss,7:F4}  lr {p.LearningRate:E2}  |g| {p.GradNorm,6:F2}  " +
                    $"{p.TokensPerSecond / 1000,6:F1}k tok/s  elapsed {Durations.Format(p.Elapsed)}  ETA {Durations.Format(p.Remaining)}  [{p.Language}]"));
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested || parallel is not null)
            {
                // The loop saved a checkpoint before it gave up (on rank 0; the ranks stop after the same step,
                // including one that was not interrupted itself). The trainer has just said "checkpoint step-… saved"
                // (or did at this very step): not a second time here.
                throw new CommandCancelledException($"continue from step {trainer.Step} with: xmod-hub pretrain --out {runDir} --resume", cancel);
            }
        }
        reporter.Success($"done: {o.Steps} steps; model in {ModelDirectory.Resolve(runDir)}");
        reporter.Info($"next: xmod-hub evaluate --model {runDir} --corpus {trainer.CorpusDirectory}   |   xmod-hub fill-mask --model {runDir} --lang {o.Languages[0]} --text \"... <mask> ...\"");
        return 0;
    }

    /// <summary>--device: true for the CPU; anything else is refused with one line, before any rank starts.</summary>
    public static bool CheckDevice(string device) => TrainingDevice.Resolve(device) == XMod.Tensors.Device.Cpu;

    /// <summary>--nproc N: this same command as N local ranks; the first rank to fail ends the others.</summary>
    public int Launch(int ranks, CancellationToken cancel) => LocalLauncher.RunSelf(ranks, reporter.Error, cancel);

    private Pretrainer Start(string corpusDir, string runDir, PretrainOptions options, DataParallel? parallel)
    {
        // Pretrainer.Start resolves the languages against the corpus (any form; none = all of them).
        return Pretrainer.Start(CorpusFiles.Open(corpusDir), runDir, options, reporter.Info, parallel: parallel);
    }
}
