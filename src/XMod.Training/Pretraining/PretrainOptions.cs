using System.Text.Json.Serialization;
using XMod.Training.Loop;

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
    /// <summary>AdamW and the schedule; the properties below that name its values are views onto it (run.json keeps them flat).</summary>
    [JsonIgnore] public OptimizerOptions Optimizer { get; init; } = OptimizerOptions.ForPretraining;
    /// <summary>Peak learning rate (paper: 7e-4 for pre-training).</summary>
    [JsonPropertyName("peak_lr")] public double PeakLearningRate { get => Optimizer.PeakLearningRate; init => Optimizer = Optimizer with { PeakLearningRate = value }; }
    /// <summary>Warm-up steps; by default 6% of the run.</summary>
    [JsonPropertyName("warmup_steps")] public int? WarmupSteps { get => Optimizer.WarmupSteps; init => Optimizer = Optimizer with { WarmupSteps = value }; }
    [JsonPropertyName("weight_decay")] public double WeightDecay { get => Optimizer.WeightDecay; init => Optimizer = Optimizer with { WeightDecay = value }; }
    [JsonPropertyName("clip_norm")] public double ClipNorm { get => Optimizer.ClipNorm; init => Optimizer = Optimizer with { ClipNorm = value }; }
    [JsonPropertyName("adam_beta1")] public double AdamBeta1 { get => Optimizer.Beta1; init => Optimizer = Optimizer with { Beta1 = value }; }
    [JsonPropertyName("adam_beta2")] public double AdamBeta2 { get => Optimizer.Beta2; init => Optimizer = Optimizer with { Beta2 = value }; }
    [JsonPropertyName("adam_eps")] public double AdamEpsilon { get => Optimizer.Epsilon; init => Optimizer = Optimizer with { Epsilon = value }; }
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

    [JsonIgnore] public int Warmup => Optimizer.Warmup(Steps);

    /// <summary>Checks every value a user can set; the message names the option and the value.</summary>
    public PretrainOptions Validate()
    {
        if (Languages.Count == 0)
        {
            throw new XModException("no pre-training languages given (--langs, or a corpus with languages)");
        }
        OptionCheck.AtLeast(Steps, 1, "--steps");
        OptionCheck.AtLeast(BatchSize, 1, "--batch");
        OptionCheck.AtLeast(SequenceLength, 8, "--seq");
        OptionCheck.AtLeast(VocabSize, 100, "--vocab");
        OptionCheck.AtLeast(VocabSampleBytes, 1, "vocab_sample_bytes");
        OptionCheck.AtLeast(SaveEvery, 1, "--save-every");
        OptionCheck.AtLeast(LogEvery, 1, "--log-every");
        OptionCheck.AtLeast(KeepCheckpoints, 1, "keep_checkpoints");
        OptionCheck.InRange(Alpha, 0, 1, "alpha", upperInclusive: true, lowerInclusive: false);
        OptionCheck.InRange(MaskProbability, 0, 1, "mask_probability", upperInclusive: false, lowerInclusive: false);
        Optimizer.Validate(Steps);
        return this;
    }
}
