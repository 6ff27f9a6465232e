namespace XModHub.Core.Evaluations;

/// <summary>
/// One evaluation of one package version, measured by the hub's evaluator on the hub's standard
/// evaluation set (never by the publisher). Rows are only ever added: a newer evaluation of the same
/// version supersedes an older one, nothing edits one.
/// </summary>
public sealed record EvaluationRecord
{
    /// <summary>Assigned by the store (increasing); 0 before it is added.</summary>
    public long Sequence { get; init; }
    public required string PackageId { get; init; }
    public required string PackageVersion { get; init; }
    public required string TrunkId { get; init; }
    public required string TrunkVersion { get; init; }
    /// <summary>The X-MOD language code evaluated (de_DE).</summary>
    public required string Language { get; init; }
    /// <summary>The standard evaluation set and its version (xmod-eval/1).</summary>
    public required string EvalSet { get; init; }
    /// <summary>sha256 of the exact text evaluated on: the data id.</summary>
    public required string DataSha256 { get; init; }
    public required string EvaluatorVersion { get; init; }
    /// <summary>perplexity, fill_mask_top1, fill_mask_top5, masked_tokens, ...</summary>
    public required IReadOnlyDictionary<string, double> Metrics { get; init; }
    /// <summary>The user of the evaluator key that posted it.</summary>
    public required string Evaluator { get; init; }
    public required DateTimeOffset Created { get; init; }
}

/// <summary>An owner's or admin's request that a version be evaluated again.</summary>
public sealed record EvaluationRequest(long Sequence, string PackageId, string PackageVersion, string RequestedBy, DateTimeOffset Created);

/// <summary>The metric names the evaluator posts and the pages show.</summary>
public static class EvaluationMetrics
{
    public const string Perplexity = "perplexity";
    public const string Top1 = "fill_mask_top1";
    public const string Top5 = "fill_mask_top5";
    public const string MaskedTokens = "masked_tokens";

    /// <summary>What a posted evaluation must carry (more are kept as they come).</summary>
    public static readonly IReadOnlyList<string> Required = [Perplexity, Top1, Top5];
}
