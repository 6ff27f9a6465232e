
namespace XMod.Training.Loop;

/// <summary>
/// AdamW and its learning-rate schedule, shared by pre-training, language addition and
/// fine-tuning. Defaults are fairseq's RoBERTa / X-MOD values; only the peak rate differs between
/// the trainers (see <see cref="ForPretraining"/> and friends).
/// </summary>
public sealed record OptimizerOptions
{
    /// <summary>Share of the run spent warming up when <see cref="WarmupSteps"/> is not given.</summary>
    public const double DefaultWarmupFraction = 0.06;

    /// <summary>Peak learning rate, reached at the end of warm-up.</summary>
    public double PeakLearningRate { get; init; } = 1e-4;

    /// <summary>Linear warm-up steps; null: 6% of the run.</summary>
    public int? WarmupSteps { get; init; }

    public double Beta1 { get; init; } = 0.9;

    /// <summary>0.98 rather than PyTorch's 0.999, as RoBERTa and X-MOD train.</summary>
    public double Beta2 { get; init; } = 0.98;

    public double Epsilon { get; init; } = 1e-6;

    /// <summary>Decoupled weight decay of the decayed parameters (trainers exempt biases and LayerNorms).</summary>
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>Global L2 norm the gradients are clipped to.</summary>
    public double ClipNorm { get; init; } = 1.0;

    /// <summary>Paper: 7e-4 for pre-training.</summary>
    public static OptimizerOptions ForPretraining { get; } = new() { PeakLearningRate = 7e-4 };

    /// <summary>Paper: 1e-4 when adding languages.</summary>
    public static OptimizerOptions ForLanguageAddition { get; } = new() { PeakLearningRate = 1e-4 };

    /// <summary>Paper: one of 1e-4, 3e-4 and 5e-4 for fine-tuning.</summary>
    public static OptimizerOptions ForFineTuning { get; } = new() { PeakLearningRate = 1e-4 };

    /// <summary>The warm-up of a run of <paramref name="totalSteps"/> steps.</summary>
    public int Warmup(int totalSteps) => WarmupSteps ?? (int)Math.Round(totalSteps * DefaultWarmupFraction);

    public LearningRateSchedule Schedule(int totalSteps) => new(PeakLearningRate, Warmup(totalSteps), totalSteps);

    /// <summary>Checks every value; with <paramref name="totalSteps"/>, also that the warm-up fits in the run.</summary>
    public OptimizerOptions Validate(int? totalSteps = null)
    {
        OptionCheck.Positive(PeakLearningRate, "--lr");
        if (WarmupSteps is { } w)
        {
            OptionCheck.AtLeast(w, 0, "--warmup");
        }
        if (totalSteps is { } total && Warmup(total) > total)
        {
            throw new XModException($"--warmup must not exceed the {total} steps of the run (got {Warmup(total)})");
        }
        OptionCheck.InRange(Beta1, 0, 1, "adam_beta1", upperInclusive: false);
        OptionCheck.InRange(Beta2, 0, 1, "adam_beta2", upperInclusive: false);
        OptionCheck.Positive(Epsilon, "adam_eps");
        OptionCheck.InRange(WeightDecay, 0, 1, "weight_decay", upperInclusive: true);
        OptionCheck.Positive(ClipNorm, "clip_norm");
        return this;
    }
}

/// <summary>Checks of user-supplied numbers; each failure is one line naming the option and the value.</summary>
internal static class OptionCheck
{
    public static void AtLeast(long value, long min, string name)
    {
        if (value < min)
        {
            throw new XModException($"{name} must be at least {min} (got {value})");
        }
    }

    public static void AtMost(long value, long max, string name)
    {
        if (value > max)
        {
            throw new XModException($"{name} must be at most {max} (got {value})");
        }
    }

    /// <summary>Finite and above zero (NaN and infinity fail).</summary>
    public static void Positive(double value, string name)
    {
        if (!double.IsFinite(value) || value <= 0)
        {
            throw new XModException($"{name} must be a positive number (got {Show(value)})");
        }
    }

    /// <summary>Within [min, max] (or [min, max)); NaN fails.</summary>
    public static void InRange(double value, double min, double max, string name, bool upperInclusive, bool lowerInclusive = true)
    {
        var ok = (lowerInclusive ? value >= min : value > min) && (upperInclusive ? value <= max : value < max);
        if (!ok)
        {
            throw new XModException($"{name} must lie in {(lowerInclusive ? '[' : '(')}{Show(min)}, {Show(max)}{(upperInclusive ? ']' : ')')} (got {Show(value)})");
        }
    }

    private static string Show(double v) => v.ToString("G", System.Globalization.CultureInfo.InvariantCulture);
}
