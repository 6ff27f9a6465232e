using System.Text.Json;
using System.Text.Json.Serialization;
using XMod.Packaging;
using XMod.Packaging.Checkpoints;
using XMod.Packaging.Languages;
using XMod.Runtime.Model;
using XMod.Runtime.Scoring;
using XMod.Runtime.Tokenization;
using XMod.Tensors;
using XMod.Training.Corpora;
using XMod.Training.Distributed;
using XMod.Training.Loop;

namespace XMod.Training.Pretraining;

/// <summary>
/// Multilingual MLM pre-training of an X-MOD (or SHARED) model from scratch, with checkpoints
/// that resume exactly.
/// <code>
/// RUN/run.json                          options, languages, corpus
/// RUN/tokenizer/                        the shared vocabulary
/// RUN/cache/                            tokenized corpora
/// RUN/checkpoints/step-NNNNNN/          a model directory + optimizer.safetensors + state.json
/// RUN/checkpoints/latest                name of the newest complete checkpoint
/// </code>
/// </summary>
public sealed class Pretrainer : IDisposable
{
    public const string RunFile = "run.json";
    private const string CheckpointsDir = ModelDirectory.CheckpointsDir;
    private const string LatestFile = ModelDirectory.LatestFile;
    private const string OptimizerFile = "optimizer.safetensors";
    private const string StateFile = "state.json";

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    private readonly string _runDir;
    private readonly PretrainingData _data;
    private readonly TrainingLoop _loop;
    private readonly IReadOnlyList<KeyValuePair<string, Tensor>> _parameters;
    private readonly Action<string> _log;
    private readonly DataParallel? _parallel;
    /// <summary>RUN/train.log; null on ranks other than 0, which write nothing.</summary>
    private readonly RunLog? _runLog;

    private Pretrainer(string runDir, string corpusDir, PretrainOptions options, XModModel model, XModTokenizer tokenizer, PretrainingData data,
        RunLog? runLog, Action<string> log, TrainingLoopOptions? loop, DataParallel? parallel)
    {
        _runDir = runDir;
        CorpusDirectory = corpusDir;
        _runLog = runLog;
        _parallel = parallel;
        Options = options;
        Model = model;
        Tokenizer = tokenizer;
        _data = data;
        _log = log;
        _parameters = model.NamedParameters.ToList();
        _loop = new TrainingLoop(_parameters.Select(kv => kv.Value).ToList(), _parameters.Select(kv => IsDecayed(kv.Key)).ToList(), options.Optimizer,
            (loop ?? new TrainingLoopOptions { TotalSteps = options.Steps }) with
            {
                TotalSteps = options.Steps,
                Seed = options.Seed,
                SeedStream = TrainingLoopOptions.MlmSeedStream,
                LogEvery = options.LogEvery,
                SaveEvery = options.SaveEvery,
                GradientReducer = parallel ?? loop?.GradientReducer,
                IsLeader = parallel?.IsLeader ?? loop?.IsLeader ?? true,
                Rank = parallel?.Rank ?? loop?.Rank ?? 0,
            });
        Model.Training = true;
    }

    /// <summary>Biases and LayerNorm weights are not decayed (the usual BERT / RoBERTa grouping).</summary>
    public static bool IsDecayed(string parameterName) =>
        !(parameterName.EndsWith(".bias", StringComparison.Ordinal) || parameterName.Contains("LayerNorm", StringComparison.Ordinal)
            || parameterName.Contains("layer_norm", StringComparison.Ordinal));

    public PretrainOptions Options { get; }

    /// <summary>The corpus the run trains on (as run.json records it; what "evaluate --corpus" wants).</summary>
    public string CorpusDirectory { get; }

    /// <summary>RUN/train.log.</summary>
    public string? LogFile => _runLog?.Path;

    public XModModel Model { get; }

    public XModTokenizer Tokenizer { get; }

    /// <summary>Steps completed.</summary>
    public int Step => _loop.Step;

    /// <summary>The loop behind <see cref="TrainStep"/> and <see cref="Run"/> (its clock, timings, optimiser).</summary>
    public TrainingLoop Loop => _loop;

    public IReadOnlyList<double> LanguageProbabilities => _data.Probabilities;

    private sealed record RunInfo(
        [property: JsonPropertyName("corpus")] string Corpus,
        [property: JsonPropertyName("options")] PretrainOptions Options,
        [property: JsonPropertyName("created")] DateTimeOffset Created);

    private sealed record State(
        [property: JsonPropertyName("step")] int Step,
        [property: JsonPropertyName("cursors")] IReadOnlyDictionary<string, DataCursor> Cursors,
        [property: JsonPropertyName("elapsed_seconds")] double ElapsedSeconds,
        [property: JsonPropertyName("tokens_seen")] long TokensSeen,
        [property: JsonPropertyName("saved")] DateTimeOffset Saved);

    // ---- starting and resuming ----------------------------------------------------------------

    /// <summary>
    /// Starts a new run in <paramref name="runDir"/>. A directory that holds a run with a
    /// checkpoint is refused (resume it instead); one whose run stopped before its first
    /// checkpoint is started again, keeping its vocabulary when it was trained for the same text
    /// and settings. Languages may be given in any form the corpus's codes resolve from; none
    /// means all of the corpus's.
    /// </summary>
    /// <param name="loop">Distribution seams and the clock; steps, seed and cadences come from <paramref name="options"/>.</param>
    /// <param name="parallel">This rank's data-parallel group: rank 0 prepares the run's files (vocabulary, token cache, run.json) while the others wait, then every rank takes rank 0's initial weights.</param>
    public static Pretrainer Start(Corpus corpus, string runDir, PretrainOptions options, Action<string> log, TrainingLoopOptions? loop = null,
        DataParallel? parallel = null)
    {
        options = options with { Languages = ResolveLanguages(corpus, options.Languages) };
        options.Validate();
        if (parallel is { IsLeader: false })
        {
            parallel.Barrier();
            return Join(corpus, runDir, options, loop, parallel);
        }
        var trainer = StartLeader(corpus, runDir, options, log, loop, parallel);
        if (parallel is not null)
        {
            parallel.Barrier();
            parallel.BroadcastFromLeader(trainer._parameters.Select(kv => kv.Value).ToList());
        }
        return trainer;
    }

    /// <summary>A rank other than 0 joins the run rank 0 has just prepared, reading its files and taking its weights.</summary>
    private static Pretrainer Join(Corpus corpus, string runDir, PretrainOptions options, TrainingLoopOptions? loop, DataParallel parallel)
    {
        var tokenizer = XModTokenizer.Load(Path.Combine(runDir, ModelStore.TokenizerDir));
        var (model, data) = NewModelAndData(corpus, runDir, options, XModConfig.Preset(options.Preset), tokenizer, parallel, _ => { });
        var trainer = new Pretrainer(runDir, Path.GetFullPath(corpus.Directory), options, model, tokenizer, data, null, _ => { }, loop, parallel);
        parallel.BroadcastFromLeader(trainer._parameters.Select(kv => kv.Value).ToList());
        return trainer;
    }

    /// <summary>Each rank builds the whole global batch (cheap: token copies) and trains on its own rows of it.</summary>
    private static int GlobalBatch(PretrainOptions options, DataParallel? parallel) => options.BatchSize * (parallel?.WorldSize ?? 1);

    private static Pretrainer StartLeader(Corpus corpus, string runDir, PretrainOptions options, Action<string> log, TrainingLoopOptions? loop, DataParallel? parallel)
    {
        if (File.Exists(runDir))
        {
            throw new XModException($"--out {runDir} is a file; give a directory for the run");
        }
        var runPath = Path.Combine(runDir, RunFile);
        var restart = File.Exists(runPath);
        if (restart && ModelDirectory.LatestCheckpoint(runDir) is { } latest)
        {
            throw new XModException($"{runDir} already holds a run with a checkpoint ({latest}): resume it (--resume) or choose another --out");
        }
        foreach (var l in options.Languages)
        {
            corpus.TrainFile(l); // names the missing language
        }
        var preset = XModConfig.Preset(options.Preset);
        if (options.SequenceLength > preset.MaxSequenceLength)
        {
            throw new XModException($"sequence length {options.SequenceLength} exceeds the {options.Preset} preset's maximum of {preset.MaxSequenceLength}");
        }
        var corpusDir = Path.GetFullPath(corpus.Directory);
        var tokenizerDir = Path.Combine(runDir, ModelStore.TokenizerDir);
        var previous = restart ? TryReadRun(runPath) : null;
        Directory.CreateDirectory(runDir);
        var runLog = new RunLog(runDir);
        log = runLog.Tee(log);
        if (restart)
        {
            log($"starting {runDir} again: its earlier run stopped before its first checkpoint");
        }
        // A vocabulary left by an earlier attempt is kept only when it was trained on the same text with the same settings.
        if (Directory.Exists(tokenizerDir) && !(previous is { } p && SameVocabulary(p, corpusDir, options)))
        {
            Directory.Delete(tokenizerDir, recursive: true);
        }
        // run.json first: a run stopped anywhere before its first checkpoint can be started again.
        AtomicFile.WriteAllText(runPath, JsonSerializer.Serialize(new RunInfo(corpusDir, options, DateTimeOffset.UtcNow), s_json) + "\n");
        var tokenizer = File.Exists(Path.Combine(tokenizerDir, XModTokenizer.MetadataFile))
            ? XModTokenizer.Load(tokenizerDir)
            : VocabularyBuilder.Train(corpus, options.Languages, options.VocabSize, options.Alpha, options.VocabSampleBytes, tokenizerDir, log);
        var (model, data) = NewModelAndData(corpus, runDir, options, preset, tokenizer, parallel, log);
        return new Pretrainer(runDir, corpusDir, options, model, tokenizer, data, runLog, log, loop, parallel);
    }

    /// <summary>A freshly initialised model for the run's vocabulary and languages, and its data (every rank builds the same).</summary>
    private static (XModModel Model, PretrainingData Data) NewModelAndData(Corpus corpus, string runDir, PretrainOptions options, XModConfig preset,
        XModTokenizer tokenizer, DataParallel? parallel, Action<string> log)
    {
        var config = (preset with
        {
            VocabSize = tokenizer.VocabSize,
            MaskTokenId = tokenizer.MaskId,
            Languages = options.Languages,
            SharedModule = options.Shared,
        }).Validate();
        var model = XModModel.Initialize(config, options.Seed);
        var streams = CorpusTokens.Load(corpus, options.Languages, tokenizer, Path.Combine(runDir, "cache"), heldOut: false, log);
        return (model, new PretrainingData(streams, options.Languages, GlobalBatch(options, parallel), options.SequenceLength, options.Alpha, options.Seed));
    }

    /// <summary>The corpus's codes for what the user typed (de, deu, de-DE, lang-de); none given means every language of the corpus.</summary>
    public static IReadOnlyList<string> ResolveLanguages(Corpus corpus, IReadOnlyList<string> languages) =>
        languages.Count == 0
            ? corpus.Languages
            : languages.Select(l => LanguageResolver.Resolve(l, corpus.Languages, $"the corpus at {corpus.Directory}")).Distinct().ToList();

    private static RunInfo? TryReadRun(string runPath)
    {
        try
        {
            return JsonSerializer.Deserialize<RunInfo>(File.ReadAllText(runPath), s_json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool SameVocabulary(RunInfo previous, string corpusDir, PretrainOptions options) =>
        previous.Corpus == corpusDir && previous.Options.Languages.SequenceEqual(options.Languages) && previous.Options.VocabSize == options.VocabSize
        && previous.Options.Alpha.Equals(options.Alpha) && previous.Options.VocabSampleBytes == options.VocabSampleBytes;

    /// <summary>
    /// Resumes from the newest checkpoint (or the named one, "step-000200"). Only options that do
    /// not change what has been computed can be overridden: the number of steps (extending the
    /// decay), the log and checkpoint intervals, and the batch per rank (for another world size).
    /// </summary>
    /// <remarks>
    /// Data-parallel: every rank loads the same checkpoint, so the ranks start identical without a
    /// broadcast (weights, AdamW moments and step count are all in it). The saved data cursors
    /// count a language's examples consumed by the whole run, not by a rank, so a run resumes with
    /// any world size: the global batch is then the new world size x --batch.
    /// </remarks>
    public static Pretrainer Resume(string runDir, Action<string> log, string? checkpoint = null, int? steps = null,
        int? logEvery = null, int? saveEvery = null, TrainingLoopOptions? loop = null, DataParallel? parallel = null, int? batchSize = null)
    {
        if (parallel is { IsLeader: false })
        {
            log = _ => { };
        }
        var runPath = Path.Combine(runDir, RunFile);
        if (!File.Exists(runPath))
        {
            throw new XModException($"{runDir} holds no run to resume ({RunFile} is missing)");
        }
        var run = JsonSerializer.Deserialize<RunInfo>(File.ReadAllText(runPath), s_json)!;
        var options = run.Options with
        {
            Steps = steps ?? run.Options.Steps,
            // A longer run extends the decay; the warm-up already done stays as it was.
            WarmupSteps = run.Options.Warmup,
            LogEvery = logEvery ?? run.Options.LogEvery,
            SaveEvery = saveEvery ?? run.Options.SaveEvery,
            // Per rank: a run resumed on another number of ranks keeps its global batch with N x B = N' x B'.
            BatchSize = batchSize ?? run.Options.BatchSize,
        };
        options.Validate();
        var name = checkpoint ?? ModelDirectory.LatestCheckpoint(runDir)
            ?? throw new XModException($"{runDir} has no checkpoint yet: start it again without --resume");
        var dir = Path.Combine(runDir, CheckpointsDir, name);
        var state = JsonSerializer.Deserialize<State>(File.ReadAllText(Path.Combine(dir, StateFile)), s_json)!;
        if (state.Step > options.Steps)
        {
            throw new XModException($"--steps must be at least the {state.Step} steps {name} has done (got {options.Steps})");
        }
        if (state.Step == options.Steps)
        {
            throw new XModException($"{runDir} is already complete: all {state.Step} steps are done; to train further, resume with a larger --steps");
        }
        var runLog = parallel is { IsLeader: false } ? null : new RunLog(runDir);
        log = runLog?.Tee(log) ?? log;
        var corpus = Corpus.Open(run.Corpus);
        var tokenizer = XModTokenizer.Load(Path.Combine(runDir, ModelStore.TokenizerDir));
        var model = ModelStore.Load(dir);
        var streams = CorpusTokens.Load(corpus, options.Languages, tokenizer, Path.Combine(runDir, "cache"), heldOut: false, log);
        var data = new PretrainingData(streams, options.Languages, GlobalBatch(options, parallel), options.SequenceLength, options.Alpha, options.Seed, state.Cursors);
        var trainer = new Pretrainer(runDir, Path.GetFullPath(run.Corpus), options, model, tokenizer, data, runLog, log, loop, parallel);
        trainer._loop.Restore(state.Step, TimeSpan.FromSeconds(state.ElapsedSeconds), state.TokensSeen);
        trainer.LoadOptimizer(Path.Combine(dir, OptimizerFile));
        log($"resumed {runDir} at step {state.Step} ({name})");
        return trainer;
    }

    // ---- the loop -------------------------------------------------------------------------------

    /// <summary>One optimisation step; returns its loss and gradient norm.</summary>
    public (double Loss, double GradNorm, string Language) TrainStep()
    {
        var r = _loop.TrainStep(MlmStep);
        return (r.Loss, r.GradNorm, r.Label);
    }

    private StepLoss MlmStep(int step)
    {
        var batch = _data.Next(step, Options.MaskProbability, Tokenizer.MaskId, XModTokenizer.Unk + 1, id => Tokenizer.IsSpecial((int)id));
        var tokens = (long)batch.BatchSize * batch.Length;
        if (_parallel is null)
        {
            var loss = MlmObjective.Loss(Model, batch.InputIds, batch.Labels, batch.BatchSize, batch.Length, batch.Language, Options.BFloat16);
            return new StepLoss(loss, tokens, batch.Language);
        }
        // This rank's rows of the global batch, weighted so that the mean gradient is the single-process one.
        return new StepLoss(_parallel.MlmLoss(Model, batch, Options.BatchSize, Options.BFloat16), tokens, batch.Language);
    }

    /// <summary>
    /// Trains to the last step, checkpointing every save_every steps and at the end. On
    /// cancellation it saves a checkpoint after the step in progress, then throws
    /// <see cref="OperationCanceledException"/>; on divergence it throws <see cref="XModException"/>
    /// and leaves the last checkpoint as it was.
    /// </summary>
    public void Run(CancellationToken cancel, Action<TrainingProgress>? progress = null)
    {
        _runLog?.Write($"training steps {Step + 1}..{Options.Steps}");
        try
        {
            _loop.Run(MlmStep, cancel, p =>
            {
                _runLog?.Write(RunLog.Format(p));
                progress?.Invoke(p);
            }, () => SaveCheckpoint());
            _parallel?.VerifyIdentical(_loop);
            _runLog?.Write($"done: {Step} steps");
        }
        catch (Exception e) when (e is OperationCanceledException or XModException)
        {
            _runLog?.Write(e.Message);
            throw;
        }
    }

    // ---- checkpoints ----------------------------------------------------------------------------

    /// <summary>
    /// Writes a complete checkpoint under a temporary name, renames it into place, then points
    /// "latest" at it: a crash at any moment leaves the previous checkpoint usable.
    /// </summary>
    public string SaveCheckpoint()
    {
        var name = $"step-{Step:D6}";
        var root = Path.Combine(_runDir, CheckpointsDir);
        var dir = Path.Combine(root, name);
        var temp = Path.Combine(root, $".{name}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(root);
        ModelStore.Save(Model, Tokenizer, temp);
        var moments = new List<KeyValuePair<string, Tensor>>();
        try
        {
            for (var i = 0; i < _parameters.Count; i++)
            {
                var (m, v) = _loop.Optimizer.State(i);
                moments.Add(KeyValuePair.Create("exp_avg/" + _parameters[i].Key, m));
                moments.Add(KeyValuePair.Create("exp_avg_sq/" + _parameters[i].Key, v));
            }
            ModelStore.WriteTensors(Path.Combine(temp, OptimizerFile), moments,
                new Dictionary<string, string> { ["step"] = _loop.Optimizer.StepCount.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }
        finally
        {
            foreach (var kv in moments)
            {
                kv.Value.Dispose();
            }
        }
        var state = new State(Step, _data.Cursors, _loop.Elapsed.TotalSeconds, _loop.TokensSeen, DateTimeOffset.UtcNow);
        AtomicFile.WriteAllText(Path.Combine(temp, StateFile), JsonSerializer.Serialize(state, s_json) + "\n");
        ModelStore.ReplaceDirectory(temp, dir);
        AtomicFile.WriteAllText(Path.Combine(root, LatestFile), name + "\n");
        foreach (var old in Directory.GetDirectories(root, "step-*").Select(Path.GetFileName).Order(StringComparer.Ordinal).SkipLast(Options.KeepCheckpoints))
        {
            Directory.Delete(Path.Combine(root, old!), recursive: true);
        }
        _loop.CheckpointedStep = Step;
        _log($"checkpoint {name} saved");
        return dir;
    }

    private void LoadOptimizer(string file)
    {
        var tensors = ModelStore.ReadTensors(file);
        try
        {
            using var _ = Torch.NoGrad();
            for (var i = 0; i < _parameters.Count; i++)
            {
                var (m, v) = _loop.Optimizer.State(i);
                using (m)
                using (v)
                {
                    m.CopyInPlace(tensors["exp_avg/" + _parameters[i].Key]);
                    v.CopyInPlace(tensors["exp_avg_sq/" + _parameters[i].Key]);
                }
            }
            using var st = XMod.Packaging.SafeTensors.SafeTensorsFile.Open(file);
            _loop.Optimizer.StepCount = long.Parse(st.Metadata["step"], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (KeyNotFoundException e)
        {
            throw new XModException($"{file} does not match the model: {e.Message}");
        }
        finally
        {
            foreach (var t in tensors.Values)
            {
                t.Dispose();
            }
        }
    }

    public void Dispose()
    {
        _loop.Dispose();
        Model.Dispose();
        Tokenizer.Dispose();
    }
}
