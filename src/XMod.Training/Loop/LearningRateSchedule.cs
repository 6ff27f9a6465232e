namespace XMod.Training.Loop;

/// <summary>Linear warm-up to the peak, then linear decay to zero at the last step (fairseq's polynomial_decay, power 1).</summary>
public sealed record LearningRateSchedule(double Peak, int WarmupSteps, int TotalSteps)
{
    /// <summary>The rate for 1-based step <paramref name="step"/>.</summary>
    public double At(int step)
    {
        if (WarmupSteps > 0 && step <= WarmupSteps)
        {
            return Peak * step / WarmupSteps;
        }
        var remaining = Math.Max(0, TotalSteps - step);
        var decaySteps = Math.Max(1, TotalSteps - WarmupSteps);
        return Peak * remaining / decaySteps;
    }
}
