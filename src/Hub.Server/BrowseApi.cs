using System.Text.Json.Nodes;
using XMod.Packaging.Manifests;
using XModHub.Core;
using XModHub.Core.Evaluations;

namespace XModHub.Server;

/// <summary>
/// Everything the browse pages show, as JSON under /api: languages (search, filters with counts,
/// order), trunks, task models, a package with its files, compatibility and both kinds of metric.
/// A metric always says where it comes from: "measured" (the hub's evaluator) or "reported" (the publisher).
/// </summary>
internal static class BrowseApi
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/api/languages", Languages);
        app.MapGet("/api/packages/{id}", Package);
        app.MapGet("/api/trunks", Trunks);
        app.MapGet("/api/trunks/{id}", Trunk);
        app.MapGet("/api/tasks", Tasks);
    }

    internal static object? Measured(EvaluationRecord? e) => e is null ? null : new Dictionary<string, object?>
    {
        ["source"] = "hub",
        ["label"] = "measured by the hub",
        ["perplexity"] = e.Metrics.GetValueOrDefault(EvaluationMetrics.Perplexity),
        ["fill_mask_top1"] = e.Metrics.GetValueOrDefault(EvaluationMetrics.Top1),
        ["fill_mask_top5"] = e.Metrics.GetValueOrDefault(EvaluationMetrics.Top5),
        ["metrics"] = e.Metrics,
        ["eval_set"] = e.EvalSet,
        ["data_sha256"] = e.DataSha256,
        ["evaluator_version"] = e.EvaluatorVersion,
        ["trunk_version"] = e.TrunkVersion,
        ["evaluated"] = e.Created,
    };

    internal static object? Reported(PackageRecord p)
    {
        var metrics = BrowseData.Manifest(p)?.Metrics;
        return metrics is null || metrics.Count == 0 ? null : new Dictionary<string, object?>
        {
            ["source"] = "publisher",
            ["label"] = "reported by the publisher",
            ["heldout_perplexity"] = p.Perplexity,
            ["metrics"] = metrics,
        };
    }

    internal static Dictionary<string, object?> Row(PackageRow r)
    {
        var summary = (Dictionary<string, object?>)HubRoutes.Summary(r.Package, r.Downloads);
        summary["measured"] = Measured(r.Measured);
        summary["reported"] = Reported(r.Package);
        if (r.Package.Kind == PackageKind.Task)
        {
            summary["task"] = BrowseData.TaskName(r.Package);
            summary["labels"] = BrowseData.TaskLabels(r.Package);
        }
        return summary;
    }

    private static object FacetJson(IReadOnlyList<(string Value, int Count)> facet) => facet.Select(f => new { value = f.Value, count = f.Count });

    private static async Task<IResult> Languages(HttpRequest r, IPackageIndex store, PackageSearch search, EvaluationService evaluations, CancellationToken cancel)
    {
        var q = LanguageQuery.From(r);
        var (rows, facets) = await new BrowseData(store, search, evaluations).LanguagesAsync(q, cancel);
        var resolved = BrowseData.ResolveLanguage(q.Text);
        return Results.Json(new Dictionary<string, object?>
        {
            ["total"] = rows.Count,
            ["query"] = new { q = q.Text, resolved_language = resolved?.Code, trunk = q.Trunk, script = q.Script, family = q.Family, sort = q.Sort, dir = q.Descending ? "desc" : "asc" },
            ["facets"] = new { trunk = FacetJson(facets.Trunks), script = FacetJson(facets.Scripts), family = FacetJson(facets.Families) },
            ["languages"] = rows.Select(Row),
        });
    }

    private static async Task<IResult> Package(string id, IPackageIndex store, IOwnerStore owners, PackageSearch search, EvaluationService evaluations, CancellationToken cancel)
    {
        var data = new BrowseData(store, search, evaluations);
        var versions = await store.GetVersionsAsync(id, includeUnlisted: true, cancel);
        if (versions.Count == 0)
        {
            return Results.NotFound();
        }
        var latest = versions.Where(v => v.Listed).DefaultIfEmpty(versions[^1]).Last()!;
        var row = (await data.RowsAsync([latest], cancel))[0] with { Downloads = versions.Sum(v => v.Downloads) };
        var history = await data.HistoryAsync(latest.Id, cancel);
        var compatibility = await data.CompatibilityAsync(versions, cancel);
        var (cli, runtime) = BrowseData.Install(latest);
        return Results.Json(new Dictionary<string, object?>
        {
            ["package"] = Row(row),
            ["versions"] = versions.Select(v => new { version = v.Version, listed = v.Listed, downloads = v.Downloads, published = v.Published, sha256 = v.Sha256, size = v.Size }),
            ["owners"] = await owners.GetOwnersAsync(latest.Id, cancel),
            ["license"] = BrowseData.License(latest),
            ["size"] = latest.Size,
            ["sha256"] = latest.Sha256,
            ["files"] = BrowseData.Manifest(latest)?.Files.Select(f => new { path = f.Path, size = f.Size, sha256 = f.Sha256 }),
            ["measured"] = Measured(row.Measured),
            ["reported"] = Reported(latest),
            ["evaluations"] = history.Select(EvaluationRoutes.Json),
            ["compatibility"] = compatibility is null ? null : new
            {
                trunk = compatibility.TrunkId,
                trunk_versions = compatibility.TrunkVersions,
                rows = compatibility.PackageVersions.Select(v => new { version = v, fits = compatibility.Fits[v].ToList() }),
            },
            ["manifest"] = JsonNode.Parse(latest.ManifestJson),
            ["readme"] = latest.Readme,
            ["install"] = cli,
            ["install_runtime"] = runtime,
        });
    }

    private static async Task<IResult> Trunks(IPackageIndex store, PackageSearch search, EvaluationService evaluations, CancellationToken cancel)
    {
        var rows = await new BrowseData(store, search, evaluations).ListedAsync(PackageKind.Trunk, null, cancel);
        return Results.Json(new { trunks = rows.Select(Row) });
    }

    private static async Task<IResult> Trunk(string id, IPackageIndex store, PackageSearch search, EvaluationService evaluations, CancellationToken cancel)
    {
        var view = await new BrowseData(store, search, evaluations).TrunkAsync(id, cancel);
        if (view is null)
        {
            return Results.NotFound($"no trunk {id}");
        }
        var c = view.Config;
        return Results.Json(new Dictionary<string, object?>
        {
            ["id"] = view.Latest.Id,
            ["version"] = view.Latest.Version,
            ["description"] = view.Latest.Description,
            ["architecture"] = c is null ? null : new
            {
                kind = c.SharedModule ? "SHARED" : "X-MOD",
                layers = c.NumLayers,
                hidden = c.HiddenSize,
                heads = c.NumHeads,
                intermediate = c.IntermediateSize,
                bottleneck = c.BottleneckSize,
                vocab = c.VocabSize,
                max_positions = c.MaxPositions,
                norm = c.PreNorm ? "pre" : "post",
                pretrained_languages = c.Languages,
            },
            ["size"] = view.Latest.Size,
            ["weights_bytes"] = BrowseData.Manifest(view.Latest)?.Files.FirstOrDefault(f => f.Path == "trunk.safetensors")?.Size,
            ["weights_sha256"] = view.Latest.WeightsSha256,
            ["versions"] = view.Versions.Select(v => new { version = v.Version, listed = v.Listed, published = v.Published, size = v.Size, weights_sha256 = v.WeightsSha256 }),
            ["languages"] = view.Languages.Select(Row),
            ["tasks"] = view.Tasks.Select(Row),
            ["install"] = BrowseData.Install(view.Latest).Cli,
        });
    }

    private static async Task<IResult> Tasks(HttpRequest r, IPackageIndex store, PackageSearch search, EvaluationService evaluations, CancellationToken cancel)
    {
        var rows = await new BrowseData(store, search, evaluations).ListedAsync(PackageKind.Task, r.Query["q"].FirstOrDefault(), cancel);
        var trunk = r.Query["trunk"].FirstOrDefault();
        return Results.Json(new { tasks = rows.Where(t => string.IsNullOrEmpty(trunk) || string.Equals(t.Package.TrunkId, trunk, StringComparison.OrdinalIgnoreCase)).Select(Row) });
    }
}
