namespace XModHub.Core.Evaluations;

/// <summary>
/// Where the hub keeps what its evaluator measured: append-only evaluations and re-evaluation
/// requests, each numbered in the order it was added (the evaluator's cursor). Separate from
/// the package index so that a provider implements it on its own; no update, no delete.
/// </summary>
/// <remarks>Initialised at start with the other stores (<see cref="IStoreInitializer"/>).</remarks>
public interface IEvaluationStore : IStoreInitializer
{
    /// <summary>Adds an evaluation; returns it with its sequence number.</summary>
    Task<EvaluationRecord> AddAsync(EvaluationRecord evaluation, CancellationToken cancel);

    /// <summary>Every evaluation of an id (any case), every version, oldest first.</summary>
    Task<IReadOnlyList<EvaluationRecord>> ListAsync(string packageId, CancellationToken cancel);

    /// <summary>The newest evaluation of each version of these ids (any case); nothing for a version never evaluated.</summary>
    Task<IReadOnlyList<EvaluationRecord>> LatestAsync(IReadOnlyCollection<string> packageIds, CancellationToken cancel);

    /// <summary>Records a request to evaluate a version again; returns it with its sequence number.</summary>
    Task<EvaluationRequest> RequestAsync(string packageId, string packageVersion, string requestedBy, CancellationToken cancel);

    /// <summary>Requests numbered above <paramref name="after"/>, in order, at most <paramref name="take"/>.</summary>
    Task<IReadOnlyList<EvaluationRequest>> RequestsAfterAsync(long after, int take, CancellationToken cancel);
}
