using XMod.Tensors;
using XMod.Runtime.Model;
using XMod.Runtime.Scoring;
using XMod.Runtime.Tokenization;
using XMod.Training.Loop;
using System.Text.Json.Serialization;

namespace XMod.Training.Pretraining;

/// <summary>Hyper-parameters of a pre-training run (defaults: the paper's where they apply).</summary>
public sealed record PretrainOptions
{
    [JsonPropertyName("preset")] public string Preset { get; init; } = "mini";
    [JsonPropertyName("languages")] public IReadOnlyList<string> Languages { get; init; } = [];
    /// <summary>The SHARED baseline (one module for every language) instead of X-MOD.</summary>
    [JsonPropertyName("shared")] public bool Shared { get; init; }
    [JsonPropertyName("steps")] public int Steps { get; init; } = 2000;
    [JsonPropertyName("batch_size")] public int BatchSize { get; init; } = 16;
    [JsonPropertyName("sequence_length")] public int SequenceLength { get; init; } = 128;
    /// <summary>Peak learning rate (paper: 7e-4 for pre-training).</summary>
    [JsonPropertyName("peak_lr")] public double PeakLearningRate { get; init; } = 7e-4;
    /// <summary>Warm-up steps; by default 6% of the run.</summary>
    [JsonPropertyName("warmup_steps")] public int? WarmupSteps { get; init; }
    [JsonPropertyName("weight_decay")] public double WeightDecay { get; init; } = 0.01;
    [JsonPropertyName("clip_norm")] public double ClipNorm { get; init; } = 1.0;
    /// <summary>Language sampling exponent (paper 4.2: 0.7).</summary>
    [JsonPropertyName("alpha")] public double Alpha { get; init; } = 0.7;
    [JsonPropertyName("mask_probability")] public double MaskProbability { get; init; } = 0.15;
    /// <summary>Size of the shared SentencePiece vocabulary (pieces, before specials and &lt;mask&gt;).</summary>
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 16000;
    /// <summary>Text sampled (α-smoothed across languages) to train the vocabulary on.</summary>
    [JsonPropertyName("vocab_sample_bytes")] public long VocabSampleBytes { get; init; } = 20_000_000;
    [JsonPropertyName("seed")] public ulong Seed { get; init; } = 1;
    /// <summary>Mixed precision (CPU autocast to bfloat16) for forward and backward.</summary>
    [JsonPropertyName("bf16")] public bool BFloat16 { get; init; }
    [JsonPropertyName("save_every")] public int SaveEvery { get; init; } = 500;
    [JsonPropertyName("keep_checkpoints")] public int KeepCheckpoints { get; init; } = 2;
    [JsonPropertyName("log_every")] public int LogEvery { get; init; } = 10;

    [JsonIgnore] public int Warmup => WarmupSteps ?? (int)Math.Round(Steps * 0.06);

    public PretrainOptions Validate()
    {
        void Require(bool ok, string message)
        {
            if (!ok)
            {
                throw new XModException(message);
            }
        }
        Require(Languages.Count > 0, "no pre-training languages given");
        Require(Steps > 0, $"steps {Steps} must be positive");
        Require(BatchSize > 0, $"batch size {BatchSize} must be positive");
        Require(PeakLearningRate > 0, $"learning rate {PeakLearningRate} must be positive");
        Require(Warmup >= 0 && Warmup <= Steps, $"warm-up {Warmup} must lie between 0 and the {Steps} steps");
        Require(Alpha is > 0 and <= 1, $"alpha {Alpha} must lie in (0, 1]");
        Require(MaskProbability is > 0 and < 1, $"mask probability {MaskProbability} must lie in (0, 1)");
        Require(VocabSize >= 100, $"vocabulary size {VocabSize} is too small (at least 100)");
        Require(SaveEvery > 0 && LogEvery > 0 && KeepCheckpoints > 0, "save_every, log_every and keep_checkpoints must be positive");
        return this;
    }
}

/// <summary>What the loop reports every few steps.</summary>
public sealed record TrainingProgress(
    int Step, int TotalSteps, double Loss, double LearningRate, double GradNorm, double TokensPerSecond,
    TimeSpan Elapsed, TimeSpan Remaining, string Language);
