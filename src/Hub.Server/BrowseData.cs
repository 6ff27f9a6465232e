using System.Globalization;
using System.Text.Json;
using NuGet.Versioning;
using XMod.Packaging.Checkpoints;
using XMod.Packaging.Languages;
using XMod.Packaging.Manifests;
using XModHub.Core;
using XModHub.Core.Evaluations;

namespace XModHub.Server;

/// <summary>A listed package as the browse pages and their JSON show it: its newest version, downloads, and both kinds of metric.</summary>
internal sealed record PackageRow(PackageRecord Package, long Downloads, EvaluationRecord? Measured)
{
    /// <summary>What the publisher wrote into the manifest (held-out text of its own choosing; never checked).</summary>
    public double? Reported => Package.Perplexity;

    public double? MeasuredPerplexity => Measured?.Metrics.GetValueOrDefault(EvaluationMetrics.Perplexity);
}

/// <summary>The languages page's query: search text, filters and order (all from the URL: no script needed).</summary>
internal sealed record LanguageQuery(string? Text, string? Trunk, string? Script, string? Family, string Sort, bool Descending)
{
    public static readonly string[] Sorts = ["name", "code", "measured", "top1", "top5", "reported", "downloads"];

    public static LanguageQuery From(HttpRequest r)
    {
        string? Get(string k) => r.Query[k].FirstOrDefault() is { Length: > 0 and <= 200 } v ? v.Trim() : null;
        var sort = Get("sort")?.ToLowerInvariant() is { } s && Sorts.Contains(s) ? s : "name";
        return new LanguageQuery(Get("q"), Get("trunk"), Get("script"), Get("family"), sort, string.Equals(Get("dir"), "desc", StringComparison.OrdinalIgnoreCase));
    }
}

/// <summary>Facet values with how many of the languages (under the other filters) have each.</summary>
internal sealed record Facets(IReadOnlyList<(string Value, int Count)> Trunks, IReadOnlyList<(string Value, int Count)> Scripts, IReadOnlyList<(string Value, int Count)> Families);

/// <summary>Reads what the pages show from the index and the evaluation store (one place for the HTML and the JSON).</summary>
internal sealed class BrowseData(IPackageIndex store, PackageSearch search, EvaluationService evaluations)
{
    public IPackageIndex Store => store;

    /// <summary>
    /// The language a search names in any of its forms (de, deu, de_DE, de-DE, German, Deutsch), or
    /// null: such a search finds that language's packages, not every text containing "de".
    /// </summary>
    public static LanguageInfo? ResolveLanguage(string? text) =>
        string.IsNullOrWhiteSpace(text) ? null : LanguageResolver.TryResolveKnown(text);

    public async Task<IReadOnlyList<PackageRow>> ListedAsync(PackageKind kind, string? text, CancellationToken cancel)
    {
        var resolved = kind == PackageKind.Language ? ResolveLanguage(text) : null;
        var (_, page) = await search.SearchAsync(new SearchQuery { Kind = kind, Text = resolved is null ? text : null, Take = 100_000 }, cancel);
        if (resolved is not null)
        {
            page = page.Where(p => string.Equals(p.LanguageCode, resolved.Code, StringComparison.OrdinalIgnoreCase)).ToList();
        }
        return await RowsAsync(page, cancel);
    }

    public async Task<IReadOnlyList<PackageRow>> RowsAsync(IReadOnlyList<PackageRecord> packages, CancellationToken cancel)
    {
        var measured = await evaluations.MeasuredAsync(packages, cancel);
        // Downloads of every version of every package, in one read.
        var downloads = (await store.GetVersionsOfAsync(packages.Select(p => p.Id).ToList(), cancel))
            .GroupBy(v => v.Id, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.Sum(v => v.Downloads), StringComparer.OrdinalIgnoreCase);
        return packages.Select(p => new PackageRow(p, downloads.GetValueOrDefault(p.Id), measured.GetValueOrDefault(EvaluationService.Key(p)))).ToList();
    }

    /// <summary>The languages page: matching rows in order, and the facet counts (each facet counted under the other filters).</summary>
    public async Task<(IReadOnlyList<PackageRow> Rows, Facets Facets)> LanguagesAsync(LanguageQuery q, CancellationToken cancel)
    {
        var all = await ListedAsync(PackageKind.Language, q.Text, cancel);
        bool Trunk(PackageRow r) => q.Trunk is null || string.Equals(r.Package.TrunkId, q.Trunk, StringComparison.OrdinalIgnoreCase);
        bool Script(PackageRow r) => q.Script is null || string.Equals(r.Package.Script, q.Script, StringComparison.OrdinalIgnoreCase);
        bool Family(PackageRow r) => q.Family is null || string.Equals(TopFamily(r.Package.Family), q.Family, StringComparison.OrdinalIgnoreCase)
            || (r.Package.Family?.Contains(q.Family, StringComparison.OrdinalIgnoreCase) ?? false);
        static IReadOnlyList<(string, int)> Count(IEnumerable<string?> values) =>
            values.OfType<string>().GroupBy(v => v, StringComparer.OrdinalIgnoreCase).Select(g => (g.Key, g.Count())).OrderBy(x => x.Key, StringComparer.OrdinalIgnoreCase).ToList();
        var facets = new Facets(
            Count(all.Where(r => Script(r) && Family(r)).Select(r => r.Package.TrunkId)),
            Count(all.Where(r => Trunk(r) && Family(r)).Select(r => r.Package.Script)),
            Count(all.Where(r => Trunk(r) && Script(r)).Select(r => TopFamily(r.Package.Family))));
        var rows = all.Where(r => Trunk(r) && Script(r) && Family(r));
        return (Sort(rows, q.Sort, q.Descending), facets);
    }

    public static string? TopFamily(string? family) => family?.Split(" > ")[0];

    /// <summary>Sorted by a column; rows without a value for a metric come last either way.</summary>
    private static List<PackageRow> Sort(IEnumerable<PackageRow> rows, string sort, bool descending)
    {
        IOrderedEnumerable<PackageRow> ByMetric(Func<PackageRow, double?> metric) =>
            rows.OrderBy(r => metric(r) is null).ThenBy(r => descending ? -(metric(r) ?? 0) : metric(r) ?? 0);
        var sorted = sort switch
        {
            "code" => descending ? rows.OrderByDescending(r => r.Package.LanguageCode, StringComparer.Ordinal) : rows.OrderBy(r => r.Package.LanguageCode, StringComparer.Ordinal),
            "measured" => ByMetric(r => r.MeasuredPerplexity),
            "top1" => ByMetric(r => r.Measured?.Metrics.GetValueOrDefault(EvaluationMetrics.Top1)),
            "top5" => ByMetric(r => r.Measured?.Metrics.GetValueOrDefault(EvaluationMetrics.Top5)),
            "reported" => ByMetric(r => r.Reported),
            "downloads" => ByMetric(r => r.Downloads),
            _ => descending ? rows.OrderByDescending(r => r.Package.EnglishName ?? r.Package.Id, StringComparer.OrdinalIgnoreCase)
                : rows.OrderBy(r => r.Package.EnglishName ?? r.Package.Id, StringComparer.OrdinalIgnoreCase),
        };
        return sorted.ThenBy(r => r.Package.TrunkId, StringComparer.OrdinalIgnoreCase).ThenBy(r => r.Package.Id, StringComparer.OrdinalIgnoreCase).ToList();
    }

    /// <summary>A trunk's versions (oldest first), its newest listed version, the languages and task models that name it.</summary>
    public async Task<TrunkView?> TrunkAsync(string id, CancellationToken cancel)
    {
        var versions = (await store.GetVersionsAsync(id, includeUnlisted: true, cancel)).Where(v => v.Kind == PackageKind.Trunk).ToList();
        if (versions.Count == 0)
        {
            return null;
        }
        var latest = versions.Where(v => v.Listed).DefaultIfEmpty(versions[^1]).Last()!;
        var (_, modules) = await search.SearchAsync(new SearchQuery { Trunk = latest.Id, Take = 100_000 }, cancel);
        var rows = await RowsAsync(modules.Where(m => m.Kind != PackageKind.Trunk).ToList(), cancel);
        var config = latest.ConfigJson is { } json ? JsonSerializer.Deserialize<XModConfig>(json) : null;
        return new TrunkView(latest, versions, config,
            rows.Where(r => r.Package.Kind == PackageKind.Language).OrderBy(r => r.Package.EnglishName, StringComparer.OrdinalIgnoreCase).ToList(),
            rows.Where(r => r.Package.Kind == PackageKind.Task).OrderBy(r => r.Package.Id, StringComparer.OrdinalIgnoreCase).ToList());
    }

    /// <summary>Which versions of a package fit which versions of its trunk (the weights' sha256 and the declared version range).</summary>
    public async Task<Compatibility?> CompatibilityAsync(IReadOnlyList<PackageRecord> versions, CancellationToken cancel)
    {
        var trunkId = versions.Select(v => v.TrunkId).FirstOrDefault(t => t is not null);
        if (trunkId is null || versions[0].Kind == PackageKind.Trunk)
        {
            return null;
        }
        var trunks = (await store.GetVersionsAsync(trunkId, includeUnlisted: true, cancel)).Where(t => t.Kind == PackageKind.Trunk).ToList();
        var cells = versions.ToDictionary(v => v.Version, v => (IReadOnlySet<string>)trunks.Where(t => Fits(v, t)).Select(t => t.Version).ToHashSet(StringComparer.Ordinal));
        return new Compatibility(trunkId, versions.Select(v => v.Version).ToList(), trunks.Select(t => t.Version).ToList(), cells);
    }

    public static bool Fits(PackageRecord p, PackageRecord trunk)
    {
        if (!string.Equals(p.TrunkSha256, trunk.WeightsSha256, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        var range = Manifest(p)?.Trunk?.VersionRange ?? "*";
        return range == "*" || (VersionRange.TryParse(range, out var r) && r.Satisfies(NuGetVersion.Parse(trunk.Version)));
    }

    public static PackageManifest? Manifest(PackageRecord p)
    {
        try
        {
            return JsonSerializer.Deserialize<PackageManifest>(p.ManifestJson);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public Task<IReadOnlyList<EvaluationRecord>> HistoryAsync(string id, CancellationToken cancel) => evaluations.HistoryAsync(id, cancel);

    /// <summary>The task a task model does, from its manifest ("sequence-classification", ...).</summary>
    public static string? TaskName(PackageRecord p) =>
        Manifest(p)?.Task is { } t && t.TryGetValue("kind", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public static IReadOnlyList<string> TaskLabels(PackageRecord p) =>
        Manifest(p)?.Task is { } t && t.TryGetValue("labels", out var v) && v.ValueKind == JsonValueKind.Array
            ? v.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString() ?? "" : x.ToString()).Take(50).ToList()
            : [];

    /// <summary>The license the publisher states (the manifest's card; older packages: its provenance), or null.</summary>
    public static string? License(PackageRecord p) => Manifest(p) is { } m ? m.Card?.License ?? m.Provenance.GetValueOrDefault("license") : null;

    /// <summary>How to install: the CLI command and the runtime API call.</summary>
    public static (string Cli, string Runtime) Install(PackageRecord p, bool pinned = false)
    {
        var shortId = HubRoutes.ShortId(p);
        var cli = "xmod-hub install " + (p.Kind == PackageKind.Trunk ? p.Id : shortId) + (pinned ? "@" + p.Version : "") + (p.Kind == PackageKind.Trunk ? "" : $" --trunk {p.TrunkId}");
        // The short form the runtime resolves (de; zh-hant where a subtag is shared).
        var code = p.LanguageCode is { } c ? (LanguageCatalog.Find(c) is { } l ? LanguageCatalog.PackageIdOf(l.Bcp47)["lang-".Length..] : c) : null;
        var runtime = p.Kind switch
        {
            PackageKind.Trunk => $"services.AddXModRuntime(o => o.Trunk = \"{p.Id}\");",
            PackageKind.Language => $"services.AddXModRuntime(o => {{ o.Trunk = \"{p.TrunkId}\"; o.Languages = [\"{code}\"]; }});\n// or, on a running runtime: runtime.LoadLanguage(\"{code}\");",
            _ => $"using var task = runtime.OpenTask(\"{shortId}\");",
        };
        return (cli, runtime);
    }

    public static string Number(double? v, string format = "F2") => v is { } x ? x.ToString(format, CultureInfo.InvariantCulture) : "–";

    public static string Percent(double? v) => v is { } x ? (100 * x).ToString("F1", CultureInfo.InvariantCulture) + "%" : "–";
}

internal sealed record TrunkView(PackageRecord Latest, IReadOnlyList<PackageRecord> Versions, XModConfig? Config, IReadOnlyList<PackageRow> Languages, IReadOnlyList<PackageRow> Tasks);

internal sealed record Compatibility(string TrunkId, IReadOnlyList<string> PackageVersions, IReadOnlyList<string> TrunkVersions, IReadOnlyDictionary<string, IReadOnlySet<string>> Fits);
