using XMod.Packaging.Manifests;

namespace XModHub.Core;

public sealed record SearchQuery
{
    public string? Text { get; init; }
    public PackageKind? Kind { get; init; }
    public string? Trunk { get; init; }
    public string? Script { get; init; }
    public string? Family { get; init; }
    public bool IncludePrerelease { get; init; } = true;
    public int Skip { get; init; }
    public int Take { get; init; } = 20;
}

/// <summary>
/// Search, the same on every store and every instance: the index finds the newest listed version of
/// each matching id; the ranking is decided here. Without text every match ranks alike, so the index
/// pages in its id order itself; with text the matches are ranked here, then the page is read.
/// </summary>
public sealed class PackageSearch(IPackageIndex index)
{
    public async Task<(int Total, IReadOnlyList<PackageRecord> Page)> SearchAsync(SearchQuery q, CancellationToken cancel)
    {
        var filter = new PackageFilter
        {
            Text = string.IsNullOrWhiteSpace(q.Text) ? null : q.Text.Trim(),
            Kind = q.Kind,
            Trunk = string.IsNullOrWhiteSpace(q.Trunk) ? null : q.Trunk,
            Script = string.IsNullOrWhiteSpace(q.Script) ? null : q.Script,
            Family = string.IsNullOrWhiteSpace(q.Family) ? null : q.Family,
            IncludePrerelease = q.IncludePrerelease,
        };
        var skip = Math.Max(0, q.Skip);
        var take = Math.Max(0, q.Take);
        IndexPage found;
        IEnumerable<SearchHit> page;
        if (filter.Text is null)
        {
            found = await index.FindNewestAsync(filter, skip, take, cancel);
            page = found.Hits;
        }
        else
        {
            found = await index.FindNewestAsync(filter, 0, int.MaxValue, cancel);
            page = Rank(found.Hits, filter.Text).Skip(skip).Take(take);
        }
        // The page's rows in one read (not one query per hit: a browse table asks for thousands).
        var hits = page.ToList();
        var rows = (await index.GetVersionsOfAsync(hits.Select(h => h.Id).ToList(), cancel))
            .ToDictionary(r => (r.Id.ToLowerInvariant(), r.Version.ToLowerInvariant()));
        var records = new List<PackageRecord>();
        foreach (var hit in hits)
        {
            // A version unlisted between the two reads is left out of this page rather than shown stale.
            if (rows.GetValueOrDefault((hit.Id.ToLowerInvariant(), hit.Version.ToLowerInvariant())) is { Listed: true } record)
            {
                records.Add(record);
            }
        }
        return (found.Total, records);
    }

    /// <summary>Best first: the id or its last segment equals the text, then the language tag or English name does, then the id contains it; ties by id.</summary>
    public static IEnumerable<SearchHit> Rank(IEnumerable<SearchHit> hits, string text) =>
        hits.OrderByDescending(h => Relevance(h, text)).ThenBy(h => h.Id.ToLowerInvariant(), StringComparer.Ordinal);

    public static int Relevance(SearchHit h, string text)
    {
        var t = text.Trim();
        return string.Equals(h.Id, t, StringComparison.OrdinalIgnoreCase) || h.Id.EndsWith("." + t, StringComparison.OrdinalIgnoreCase) ? 3
            : string.Equals(h.Bcp47, t, StringComparison.OrdinalIgnoreCase) || string.Equals(h.EnglishName, t, StringComparison.OrdinalIgnoreCase) ? 2
            : h.Id.Contains(t, StringComparison.OrdinalIgnoreCase) ? 1 : 0;
    }
}
