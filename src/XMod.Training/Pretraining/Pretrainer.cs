using XMod.Runtime.Scoring;
using XMod.Training.Loop;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using XMod.Packaging;
using XMod.Packaging.Checkpoints;
using XMod.Training.Corpora;
using XMod.Runtime.Model;
using XMod.Tensors.Optim;
using XMod.Tensors;
using XMod.Runtime.Tokenization;

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
    private readonly AdamW _optimizer;
    private readonly IReadOnlyList<KeyValuePair<string, Tensor>> _parameters;
    private readonly LearningRateSchedule _schedule;
    private readonly Action<string> _log;
    private double _elapsedSeconds;
    private long _tokensSeen;

    private Pretrainer(string runDir, PretrainOptions options, XModModel model, XModTokenizer tokenizer, PretrainingData data,
        int step, Action<string> log)
    {
        _runDir = runDir;
        Options = options;
        Model = model;
        Tokenizer = tokenizer;
        _data = data;
        Step = step;
        _log = log;
        _parameters = model.NamedParameters.ToList();
        // Biases and LayerNorm weights are not decayed (the usual BERT / RoBERTa grouping).
        var decay = _parameters.Select(kv => kv.Key.EndsWith(".bias", StringComparison.Ordinal) || kv.Key.Contains("LayerNorm", StringComparison.Ordinal)
            || kv.Key.Contains("layer_norm", StringComparison.Ordinal) || kv.Key == "lm_head.bias" ? 0.0 : options.WeightDecay).ToList();
        _optimizer = new AdamW(_parameters.Select(kv => kv.Value).ToList(), decay, beta1: 0.9, beta2: 0.98, eps: 1e-6);
        _schedule = new LearningRateSchedule(options.PeakLearningRate, options.Warmup, options.Steps);
        Model.Training = true;
    }

    public PretrainOptions Options { get; }

    public XModModel Model { get; }

    public XModTokenizer Tokenizer { get; }

    /// <summary>Steps completed.</summary>
    public int Step { get; private set; }

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

    /// <summary>Starts a new run in <paramref name="runDir"/> (which must not hold one).</summary>
    public static Pretrainer Start(Corpus corpus, string runDir, PretrainOptions options, Action<string> log)
    {
        options.Validate();
        if (File.Exists(Path.Combine(runDir, RunFile)))
        {
            throw new XModException($"{runDir} already holds a run: resume it (--resume) or choose another --out");
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
        Directory.CreateDirectory(runDir);
        var tokenizerDir = Path.Combine(runDir, ModelStore.TokenizerDir);
        var tokenizer = File.Exists(Path.Combine(tokenizerDir, XModTokenizer.MetadataFile))
            ? XModTokenizer.Load(tokenizerDir)
            : VocabularyBuilder.Train(corpus, options.Languages, options.VocabSize, options.Alpha, options.VocabSampleBytes, tokenizerDir, log);
        var config = (preset with
        {
            VocabSize = tokenizer.VocabSize,
            MaskTokenId = tokenizer.MaskId,
            Languages = options.Languages,
            SharedModule = options.Shared,
        }).Validate();
        var model = XModModel.Initialize(config, options.Seed);
        var streams = CorpusTokens.Load(corpus, options.Languages, tokenizer, Path.Combine(runDir, "cache"), heldOut: false, log);
        var data = new PretrainingData(streams, options.Languages, options.BatchSize, options.SequenceLength, options.Alpha, options.Seed);
        AtomicFile.WriteAllText(Path.Combine(runDir, RunFile),
            JsonSerializer.Serialize(new RunInfo(Path.GetFullPath(corpus.Directory), options, DateTimeOffset.UtcNow), s_json) + "\n");
        return new Pretrainer(runDir, options, model, tokenizer, data, 0, log);
    }

    /// <summary>
    /// Resumes from the newest checkpoint (or the named one, "step-000200"). Only options that do
    /// not change what has been computed can be overridden: the number of steps (extending the
    /// decay), and the log and checkpoint intervals.
    /// </summary>
    public static Pretrainer Resume(string runDir, Action<string> log, string? checkpoint = null, int? steps = null,
        int? logEvery = null, int? saveEvery = null)
    {
        var runPath = Path.Combine(runDir, RunFile);
        if (!File.Exists(runPath))
        {
            throw new XModException($"{runDir} holds no run to resume ({RunFile} is missing)");
        }
        var run = JsonSerializer.Deserialize<RunInfo>(File.ReadAllText(runPath), s_json)!;
        var options = run.Options with
        {
            Steps = steps ?? run.Options.Steps,
            LogEvery = logEvery ?? run.Options.LogEvery,
            SaveEvery = saveEvery ?? run.Options.SaveEvery,
        };
        options.Validate();
        var name = checkpoint ?? ModelDirectory.LatestCheckpoint(runDir)
            ?? throw new XModException($"{runDir} has no checkpoint yet: start it again without --resume");
        var dir = Path.Combine(runDir, CheckpointsDir, name);
        var state = JsonSerializer.Deserialize<State>(File.ReadAllText(Path.Combine(dir, StateFile)), s_json)!;
        var corpus = Corpus.Open(run.Corpus);
        var tokenizer = XModTokenizer.Load(Path.Combine(runDir, ModelStore.TokenizerDir));
        var model = ModelStore.Load(dir);
        var streams = CorpusTokens.Load(corpus, options.Languages, tokenizer, Path.Combine(runDir, "cache"), heldOut: false, log);
        var data = new PretrainingData(streams, options.Languages, options.BatchSize, options.SequenceLength, options.Alpha, options.Seed, state.Cursors);
        var trainer = new Pretrainer(runDir, options, model, tokenizer, data, state.Step, log)
        {
            _elapsedSeconds = state.ElapsedSeconds,
            _tokensSeen = state.TokensSeen,
        };
        trainer.LoadOptimizer(Path.Combine(dir, OptimizerFile));
        log($"resumed {runDir} at step {state.Step} ({name})");
        return trainer;
    }

    // ---- the loop -------------------------------------------------------------------------------

    /// <summary>One optimisation step; returns its loss and gradient norm.</summary>
    public (double Loss, double GradNorm, string Language) TrainStep()
    {
        var step = Step + 1;
        var batch = _data.Next(step, Options.MaskProbability, Tokenizer.MaskId, XModTokenizer.Unk + 1, id => Tokenizer.IsSpecial((int)id));
        // Dropout draws from libtorch's generator, seeded per step so a resumed run draws the same.
        Torch.ManualSeed(StableRandom.Mix(Options.Seed, (ulong)step, 3));
        double loss, norm;
        using (var scope = DisposeScope.Begin())
        {
            var lossTensor = MlmLoss(batch);
            _optimizer.ZeroGrad();
            lossTensor.Backward();
            norm = Gradients.ClipNorm(_optimizer.Parameters, Options.ClipNorm);
            _optimizer.Step(_schedule.At(step));
            loss = lossTensor.Item();
        }
        if (double.IsNaN(loss) || double.IsInfinity(loss))
        {
            throw new XModException($"the loss diverged to {loss} at step {step}: lower --lr or check the data");
        }
        Step = step;
        _tokensSeen += (long)batch.BatchSize * batch.Length;
        return (loss, norm, batch.Language);
    }

    private Tensor MlmLoss(MlmBatch batch) =>
        MlmObjective.Loss(Model, batch.InputIds, batch.Labels, batch.BatchSize, batch.Length, batch.Language, Options.BFloat16);

    /// <summary>Trains until the last step or cancellation; checkpoints every save_every steps and on the way out.</summary>
    public void Run(CancellationToken cancel, Action<TrainingProgress>? progress = null)
    {
        var window = Stopwatch.StartNew();
        var windowLosses = new List<double>();
        var windowSteps = 0;
        var startStep = Step;
        var runClock = Stopwatch.StartNew();
        while (Step < Options.Steps && !cancel.IsCancellationRequested)
        {
            var (loss, norm, language) = TrainStep();
            windowLosses.Add(loss);
            windowSteps++;
            if (Step % Options.LogEvery == 0 || Step == Options.Steps)
            {
                var seconds = window.Elapsed.TotalSeconds;
                var perStep = runClock.Elapsed.TotalSeconds / Math.Max(1, Step - startStep);
                progress?.Invoke(new TrainingProgress(Step, Options.Steps, windowLosses.Average(), _schedule.At(Step), norm,
                    windowSteps * (double)Options.BatchSize * Options.SequenceLength / Math.Max(seconds, 1e-9),
                    TimeSpan.FromSeconds(_elapsedSeconds + runClock.Elapsed.TotalSeconds),
                    TimeSpan.FromSeconds(perStep * (Options.Steps - Step)), language));
                windowLosses.Clear();
                windowSteps = 0;
                window.Restart();
            }
            if (Step % Options.SaveEvery == 0 && Step < Options.Steps)
            {
                SaveCheckpoint(runClock);
            }
        }
        SaveCheckpoint(runClock);
    }

    // ---- checkpoints ----------------------------------------------------------------------------

    private void SaveCheckpoint(Stopwatch runClock)
    {
        _elapsedSeconds += runClock.Elapsed.TotalSeconds;
        runClock.Restart();
        SaveCheckpoint();
    }

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
                var (m, v) = _optimizer.State(i);
                moments.Add(KeyValuePair.Create("exp_avg/" + _parameters[i].Key, m));
                moments.Add(KeyValuePair.Create("exp_avg_sq/" + _parameters[i].Key, v));
            }
            ModelStore.WriteTensors(Path.Combine(temp, OptimizerFile), moments,
                new Dictionary<string, string> { ["step"] = _optimizer.StepCount.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }
        finally
        {
            foreach (var kv in moments)
            {
                kv.Value.Dispose();
            }
        }
        var state = new State(Step, _data.Cursors, _elapsedSeconds, _tokensSeen, DateTimeOffset.UtcNow);
        AtomicFile.WriteAllText(Path.Combine(temp, StateFile), JsonSerializer.Serialize(state, s_json) + "\n");
        ModelStore.ReplaceDirectory(temp, dir);
        AtomicFile.WriteAllText(Path.Combine(root, LatestFile), name + "\n");
        foreach (var old in Directory.GetDirectories(root, "step-*").Select(Path.GetFileName).Order(StringComparer.Ordinal).SkipLast(Options.KeepCheckpoints))
        {
            Directory.Delete(Path.Combine(root, old!), recursive: true);
        }
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
                var (m, v) = _optimizer.State(i);
                using (m)
                using (v)
                {
                    m.CopyInPlace(tensors["exp_avg/" + _parameters[i].Key]);
                    v.CopyInPlace(tensors["exp_avg_sq/" + _parameters[i].Key]);
                }
            }
            using var st = XMod.Packaging.SafeTensors.SafeTensorsFile.Open(file);
            _optimizer.StepCount = long.Parse(st.Metadata["step"], System.Globalization.CultureInfo.InvariantCulture);
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
        _optimizer.Dispose();
        Model.Dispose();
        Tokenizer.Dispose();
    }
}
