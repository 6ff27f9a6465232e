namespace XMod.Training.Tests;

/// <summary>
/// Tests that read process-wide state (live handle counts, resident memory, the global random
/// generator) run alone, after the parallel ones.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class Serial
{
    public const string Name = "serial";
}
