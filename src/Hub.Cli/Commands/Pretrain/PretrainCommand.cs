using XModHub.Cli.Workflows;
using XMod.Training.Corpora;
using XMod.Runtime.Model;
using XMod.Runtime.Tasks;
using XModHub.Client.Packages;
using XModHub.Client;
using XMod;
using XMod.Packaging.Languages;
using XMod.Runtime.Scoring;
using XMod.Training.Pretraining;
using XMod.Training.AddLanguage;
using XMod.Training.FineTuning;
using XMod.Training.Loop;
using XModHub.Cli;
using CorpusFiles = XMod.Training.Corpora.Corpus;

namespace XModHub.Cli.Commands.Pretrain;

public sealed class PretrainCommand(IReporter reporter)
{
    /// <summary>
    /// Starts or resumes a run. <paramref name="steps"/>, <paramref name="logEvery"/> and
    /// <paramref name="saveEvery"/> are non-null when given on the command line; a resume honours them.
    /// </summary>
    public int Run(string corpusDir, string runDir, bool resume, PretrainOptions options, int? steps, int? logEvery, int? saveEvery,
        CancellationToken cancel = default)
    {
        using var onCancel = cancel.Register(() => reporter.Warn("stopping after this step and saving a checkpoint"));
        {
            using var trainer = resume
                ? Pretrainer.Resume(runDir, reporter.Info, steps: steps, logEvery: logEvery, saveEvery: saveEvery)
                : Start(corpusDir, runDir, options);
            var o = trainer.Options;
            var c = trainer.Model.Config;
            reporter.Info($"{(o.Shared ? "SHARED" : "X-MOD")} {o.Preset}: {c.NumLayers} x {c.HiddenSize}, bottleneck {c.BottleneckSize}, vocabulary {c.VocabSize}, " +
                $"{trainer.Model.AllParameters.Sum(p => p.NumEl) / 1e6:F1}M parameters, {o.Languages.Count} languages");
            reporter.Info("language sampling (alpha " + o.Alpha + "): " + string.Join(", ",
                o.Languages.Zip(trainer.LanguageProbabilities).OrderByDescending(x => x.Second).Select(x => $"{x.First} {x.Second:P1}")));
            reporter.Info($"training steps {trainer.Step + 1}..{o.Steps}: batch {o.BatchSize} x {o.SequenceLength} tokens, peak lr {o.PeakLearningRate:G3}, warm-up {o.Warmup}{(o.BFloat16 ? ", bf16" : "")}");
            try
            {
                trainer.Run(cancel, p => reporter.Info(
                    $"step {p.Step,6}/{p.TotalSteps}  loss {p.Loss,7:F4}  lr {p.LearningRate:E2}  |g| {p.GradNorm,6:F2}  " +
                    $"{p.TokensPerSecond / 1000,6:F1}k tok/s  elapsed {PretrainDefinition.Duration(p.Elapsed)}  ETA {PretrainDefinition.Duration(p.Remaining)}  [{p.Language}]"));
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                reporter.Warn($"stopped at step {trainer.Step}; continue with: xmod-hub pretrain --out {runDir} --resume");
                return 130;
            }
            reporter.Success($"done: {o.Steps} steps; model in {ModelDirectory.Resolve(runDir)}");
            reporter.Info($"next: xmod-hub evaluate --model {runDir} --corpus {trainer.CorpusDirectory}   |   xmod-hub fill-mask --model {runDir} --lang {o.Languages[0]} --text \"... <mask> ...\"");
            return 0;
        }
    }

    // Pretrainer.Start resolves the languages against the corpus (any form; none = all of them).
    private Pretrainer Start(string corpusDir, string runDir, PretrainOptions options) =>
        Pretrainer.Start(CorpusFiles.Open(corpusDir), runDir, options, reporter.Info);
}
