using XModHub.Core.Evaluations;

namespace XModHub.Plugins.Contracts;

/// <summary>
/// What every evaluation store does (SQLite, PostgreSQL): append-only evaluations numbered in
/// order, the newest per version, requests after a cursor. A derived class supplies a fresh store.
/// </summary>
public abstract class EvaluationStoreContract
{
    protected abstract Task<IEvaluationStore> CreateAsync();

    private static EvaluationRecord Evaluation(string id, string version, double perplexity, string language = "de_DE") => new()
    {
        PackageId = id,
        PackageVersion = version,
        TrunkId = "xmod-nano",
        TrunkVersion = "1.0.0",
        Language = language,
        EvalSet = "xmod-eval/1",
        DataSha256 = new string('d', 64),
        EvaluatorVersion = "1.0.0",
        Metrics = new Dictionary<string, double> { ["perplexity"] = perplexity, ["fill_mask_top1"] = 0.25, ["fill_mask_top5"] = 0.5 },
        Evaluator = "evaluator",
        Created = new DateTimeOffset(2026, 11, 21, 12, 0, 0, TimeSpan.Zero),
    };

    [Fact]
    public async Task An_evaluation_reads_back_field_for_field_with_increasing_numbers()
    {
        var store = await CreateAsync();
        var first = await store.AddAsync(Evaluation("xmod-nano.lang-de", "1.0.0", 80.5), default);
        var second = await store.AddAsync(Evaluation("xmod-nano.lang-de", "1.0.0", 79.25), default);
        Assert.True(second.Sequence > first.Sequence && first.Sequence > 0);
        var all = await store.ListAsync("XMOD-NANO.lang-de", default);
        Assert.Equal(2, all.Count);
        var back = all[0];
        Assert.Equal(first with { Metrics = back.Metrics }, back);
        Assert.Equal(first.Metrics, back.Metrics);
        Assert.Equal(79.25, all[1].Metrics["perplexity"]);
        Assert.Empty(await store.ListAsync("xmod-nano.lang-fr", default));
    }

    [Fact]
    public async Task Latest_gives_the_newest_evaluation_of_each_version_of_the_asked_ids_only()
    {
        var store = await CreateAsync();
        await store.AddAsync(Evaluation("a.lang-de", "1.0.0", 90), default);
        await store.AddAsync(Evaluation("a.lang-de", "1.0.0", 85), default);
        await store.AddAsync(Evaluation("a.lang-de", "1.1.0", 70), default);
        await store.AddAsync(Evaluation("b.lang-fr", "1.0.0", 60, "fr_XX"), default);
        var latest = await store.LatestAsync(["A.LANG-DE"], default);
        Assert.Equal([("1.0.0", 85.0), ("1.1.0", 70.0)], latest.Select(e => (e.PackageVersion, e.Metrics["perplexity"])).OrderBy(x => x.PackageVersion));
        Assert.Empty(await store.LatestAsync([], default));
        Assert.Empty(await store.LatestAsync(["nope"], default));
    }

    [Fact]
    public async Task Requests_come_back_in_order_after_a_cursor()
    {
        var store = await CreateAsync();
        var r1 = await store.RequestAsync("a.lang-de", "1.0.0", "alice", default);
        var r2 = await store.RequestAsync("a.lang-de", "1.0.0", "admin", default);
        var r3 = await store.RequestAsync("b.lang-fr", "2.0.0", "bob", default);
        Assert.Equal([r1.Sequence, r2.Sequence, r3.Sequence], (await store.RequestsAfterAsync(0, 10, default)).Select(r => r.Sequence));
        var after = await store.RequestsAfterAsync(r1.Sequence, 1, default);
        Assert.Equal(("a.lang-de", "1.0.0", "admin"), (after.Single().PackageId, after.Single().PackageVersion, after.Single().RequestedBy));
        Assert.Empty(await store.RequestsAfterAsync(r3.Sequence, 10, default));
    }

    [Fact]
    public async Task Hostile_text_is_stored_as_data()
    {
        var store = await CreateAsync();
        var hostile = "x'); DROP TABLE evaluations; --<script>";
        await store.AddAsync(Evaluation(hostile, "1.0.0", 10) with { Evaluator = hostile }, default);
        Assert.Equal(hostile, (await store.ListAsync(hostile, default)).Single().Evaluator);
        await store.RequestAsync(hostile, "1.0.0", hostile, default);
        Assert.Equal(hostile, (await store.RequestsAfterAsync(0, 10, default)).Single().PackageId);
    }
}
