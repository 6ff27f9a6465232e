using System.Globalization;
using System.Net;
using System.Text;
using Markdig;
using Markdig.Extensions.GenericAttributes;
using Markdig.Renderers;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;
using XMod.Packaging.Manifests;
using XMod.Packaging.Checkpoints;
using XModHub.Core;
using XModHub.Core.Evaluations;

namespace XModHub.Server;

/// <summary>
/// The browse pages, rendered on the server (they work without JavaScript): languages with search,
/// filters (with counts) and sortable columns, where the hub's measured metric and the publisher's
/// reported one stand apart; a page per trunk, the task models, and a page per package (install
/// commands, files, compatibility, evaluations, model card). Every stranger's string is encoded.
/// </summary>
internal static class BrowsePage
{
    /// <summary>
    /// Model cards are a stranger's text: no raw HTML, no generic attributes ({onerror=...} would
    /// become an event handler), and every link or image URL allow-listed (see <see cref="SafeUrl"/>).
    /// </summary>
    private static readonly MarkdownPipeline s_markdown = BuildPipeline();

    private static MarkdownPipeline BuildPipeline()
    {
        var builder = new MarkdownPipelineBuilder().UseAdvancedExtensions().DisableHtml();
        builder.Extensions.RemoveAll(e => e is GenericAttributesExtension);
        return builder.Build();
    }

    /// <summary>The model card as HTML with every URL checked: unsafe ones are dropped (links keep their text).</summary>
    internal static string RenderCard(string markdown)
    {
        var doc = Markdown.Parse(markdown, s_markdown);
        foreach (var link in doc.Descendants<LinkInline>())
        {
            if (!SafeUrl(link.Url))
            {
                link.Url = link.IsImage ? "" : "#";
            }
        }
        foreach (var link in doc.Descendants<AutolinkInline>())
        {
            if (!SafeUrl(link.Url))
            {
                link.Url = "#";
            }
        }
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        var renderer = new HtmlRenderer(writer);
        s_markdown.Setup(renderer);
        renderer.Render(doc);
        writer.Flush();
        return writer.ToString();
    }

    /// <summary>
    /// http(s), mailto and relative URLs only. Browsers ignore whitespace and control characters
    /// inside a scheme (java&#9;script:), so those are removed before the scheme is read.
    /// </summary>
    internal static bool SafeUrl(string? url)
    {
        if (string.IsNullOrEmpty(url))
        {
            return true;
        }
        var compact = new string(url.Where(c => c > ' ' && !char.IsControl(c)).ToArray()).ToLowerInvariant();
        var colon = compact.IndexOf(':');
        var firstDelimiter = compact.IndexOfAny(['/', '?', '#']);
        if (colon < 0 || (firstDelimiter >= 0 && firstDelimiter < colon))
        {
            return true; // relative: no scheme
        }
        return compact.StartsWith("http:", StringComparison.Ordinal) || compact.StartsWith("https:", StringComparison.Ordinal) || compact.StartsWith("mailto:", StringComparison.Ordinal);
    }

    private static string E(string? s) => WebUtility.HtmlEncode(s ?? "");

    /// <summary>A path segment: URL-escaped, then HTML-encoded for the attribute.</summary>
    private static string U(string? s) => E(Uri.EscapeDataString(s ?? ""));

    private static IResult Html(StringBuilder html, int status = 200) =>
        Results.Content(html.Append("</main></body></html>").ToString(), "text/html; charset=utf-8", statusCode: status);

    public static void Map(WebApplication app)
    {
        app.MapGet("/", Index);
        app.MapGet("/packages/{id}", Package);
        app.MapGet("/trunks", Trunks);
        app.MapGet("/trunks/{id}", Trunk);
        app.MapGet("/tasks", Tasks);
    }

    private static StringBuilder Start(string title, string active, string? heading = null, string? sub = null)
    {
        var html = new StringBuilder(Head(title));
        html.Append("<nav><div class=\"bar\"><a class=\"brand\" href=\"/\">XModHub</a>");
        foreach (var (href, label) in new[] { ("/", "Languages"), ("/trunks", "Trunks"), ("/tasks", "Task models") })
        {
            html.Append(CultureInfo.InvariantCulture, $"<a href=\"{href}\"{(label == active ? " class=\"active\"" : "")}>{label}</a>");
        }
        html.Append("</div></nav><header>");
        if (heading is not null)
        {
            html.Append(heading);
        }
        if (sub is not null)
        {
            html.Append(CultureInfo.InvariantCulture, $"<p class=\"sub\">{E(sub)}</p>");
        }
        return html.Append("</header><main>");
    }

    private const string MeasuredTitle = "measured by the hub's evaluator on the hub's standard evaluation set (UDHR articles, man-page slice) that no package trains on: comparable";
    private const string ReportedTitle = "reported by the publisher in the package, on held-out text of its own choosing: not verified, not comparable";

    public static async Task<IResult> Index(HttpRequest r, IPackageIndex store, PackageSearch search, EvaluationService evaluations, CancellationToken cancel)
    {
        var q = LanguageQuery.From(r);
        var (rows, facets) = await new BrowseData(store, search, evaluations).LanguagesAsync(q, cancel);
        var resolved = BrowseData.ResolveLanguage(q.Text);
        var html = Start("XModHub: languages", "Languages", "<h1>Languages</h1>", "Language modules for X-MOD trunks: install one, and a running model speaks it.");
        html.Append("<form class=\"filters\" method=\"get\" action=\"/\">");
        html.Append(CultureInfo.InvariantCulture, $"<input type=\"search\" name=\"q\" placeholder=\"Search: de, deu, de_DE, German, Deutsch…\" value=\"{E(q.Text)}\" aria-label=\"search\">");
        html.Append(Facet("trunk", "Trunk", facets.Trunks, q.Trunk));
        html.Append(Facet("script", "Script", facets.Scripts, q.Script));
        html.Append(Facet("family", "Family", facets.Families, q.Family));
        html.Append(CultureInfo.InvariantCulture, $"<input type=\"hidden\" name=\"sort\" value=\"{E(q.Sort)}\"><input type=\"hidden\" name=\"dir\" value=\"{(q.Descending ? "desc" : "asc")}\">");
        html.Append("<button type=\"submit\">Filter</button></form>");
        html.Append(CultureInfo.InvariantCulture, $"<p class=\"count\" id=\"count\">{rows.Count} language{(rows.Count == 1 ? "" : "s")}");
        if (q.Trunk is not null)
        {
            html.Append(CultureInfo.InvariantCulture, $" for <b>{E(q.Trunk)}</b>");
        }
        if (resolved is not null)
        {
            html.Append(CultureInfo.InvariantCulture, $" · “{E(q.Text)}” is <b>{E(resolved.EnglishName)}</b> ({E(resolved.Autonym)}, <code>{E(resolved.Code)}</code>)");
        }
        html.Append("</p><p class=\"legend\"><span class=\"measured\">measured by the hub</span> the hub's evaluator, on the standard evaluation set no package trains on (comparable) · ")
            .Append("<span class=\"reported\">reported by the publisher</span> the package's own claim, on text of its choosing (not verified)</p>");
        html.Append("<table id=\"languages\"><thead><tr>");
        html.Append(SortHeader(q, "name", "Language", null)).Append("<th>Autonym</th>").Append(SortHeader(q, "code", "Code", null))
            .Append("<th>Script</th><th>Family</th><th>Trunk</th><th>Version</th>")
            .Append(SortHeader(q, "measured", "Perplexity <small>measured by the hub</small>", MeasuredTitle, "measured num"))
            .Append(SortHeader(q, "top1", "Top-1", "fill-mask top-1 accuracy, measured by the hub", "measured num"))
            .Append(SortHeader(q, "top5", "Top-5", "fill-mask top-5 accuracy, measured by the hub", "measured num"))
            .Append(SortHeader(q, "reported", "Perplexity <small>reported by the publisher</small>", ReportedTitle, "reported num"))
            .Append(SortHeader(q, "downloads", "Downloads", null, "num")).Append("</tr></thead><tbody>");
        foreach (var row in rows)
        {
            var l = row.Package;
            html.Append(CultureInfo.InvariantCulture, $"<tr><td><a href=\"/packages/{U(l.Id)}\">{E(l.EnglishName ?? l.Id)}</a></td><td lang=\"{E(l.Bcp47)}\">{E(l.Autonym)}</td>")
                .Append(CultureInfo.InvariantCulture, $"<td><code>{E(HubRoutes.ShortId(l))}</code></td><td>{E(l.Script)}</td><td>{E(l.Family)}</td>")
                .Append(CultureInfo.InvariantCulture, $"<td><a href=\"/trunks/{U(l.TrunkId)}\">{E(l.TrunkId)}</a></td><td>{E(l.Version)}</td>")
                .Append(CultureInfo.InvariantCulture, $"<td class=\"measured num\">{BrowseData.Number(row.MeasuredPerplexity, "F1")}</td>")
                .Append(CultureInfo.InvariantCulture, $"<td class=\"measured num\">{BrowseData.Percent(row.Measured?.Metrics.GetValueOrDefault(EvaluationMetrics.Top1))}</td>")
                .Append(CultureInfo.InvariantCulture, $"<td class=\"measured num\">{BrowseData.Percent(row.Measured?.Metrics.GetValueOrDefault(EvaluationMetrics.Top5))}</td>")
                .Append(CultureInfo.InvariantCulture, $"<td class=\"reported num\">{BrowseData.Number(row.Reported, "F1")}</td><td class=\"num\">{row.Downloads}</td></tr>");
        }
        if (rows.Count == 0)
        {
            html.Append("<tr><td colspan=\"12\" class=\"empty\">No language matches. Publish one with <code>xmod-hub publish lang-xx</code>.</td></tr>");
        }
        html.Append("</tbody></table><p class=\"api\">As JSON: <a href=\"/api/languages\">/api/languages</a> (same parameters).</p>");
        return Html(html);
    }

    /// <summary>A column header that sorts by it (a link: no script); the current order is marked and clicking again reverses it.</summary>
    private static string SortHeader(LanguageQuery q, string key, string labelHtml, string? title, string? cls = null)
    {
        var current = q.Sort == key;
        var dir = current && !q.Descending ? "desc" : "asc";
        var parameters = new List<string>();
        foreach (var (k, v) in new[] { ("q", q.Text), ("trunk", q.Trunk), ("script", q.Script), ("family", q.Family), ("sort", key), ("dir", dir) })
        {
            if (v is not null)
            {
                parameters.Add($"{k}={Uri.EscapeDataString(v)}");
            }
        }
        var arrow = current ? (q.Descending ? " ▼" : " ▲") : "";
        return $"<th{(cls is null ? "" : $" class=\"{cls}\"")}{(title is null ? "" : $" title=\"{E(title)}\"")}{(current ? " aria-sort=\"" + (q.Descending ? "descending" : "ascending") + "\"" : "")}>"
            + $"<a href=\"/?{E(string.Join("&", parameters))}\">{labelHtml}{arrow}</a></th>";
    }

    private static string Facet(string name, string label, IReadOnlyList<(string Value, int Count)> values, string? selected)
    {
        var sb = new StringBuilder($"<label>{E(label)} <select name=\"{name}\"><option value=\"\">all ({values.Sum(v => v.Count)})</option>");
        foreach (var (v, n) in values)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<option value=\"{E(v)}\"{(string.Equals(v, selected, StringComparison.OrdinalIgnoreCase) ? " selected" : "")}>{E(v)} ({n})</option>");
        }
        if (selected is not null && !values.Any(v => string.Equals(v.Value, selected, StringComparison.OrdinalIgnoreCase)))
        {
            sb.Append(CultureInfo.InvariantCulture, $"<option value=\"{E(selected)}\" selected>{E(selected)} (0)</option>");
        }
        return sb.Append("</select></label>").ToString();
    }

    public static async Task<IResult> Trunks(IPackageIndex store, PackageSearch search, EvaluationService evaluations, CancellationToken cancel)
    {
        var data = new BrowseData(store, search, evaluations);
        var trunks = await data.ListedAsync(PackageKind.Trunk, null, cancel);
        var html = Start("XModHub: trunks", "Trunks", "<h1>Trunks</h1>", "Frozen shared encoders: each language and task package is built for one trunk.");
        html.Append("<table id=\"trunks\"><thead><tr><th>Trunk</th><th>Version</th><th>Architecture</th><th>Languages</th><th>Task models</th><th class=\"num\">Size</th><th class=\"num\">Downloads</th></tr></thead><tbody>");
        foreach (var t in trunks)
        {
            var view = await data.TrunkAsync(t.Package.Id, cancel);
            html.Append(CultureInfo.InvariantCulture, $"<tr><td><a href=\"/trunks/{U(t.Package.Id)}\">{E(t.Package.Id)}</a></td><td>{E(t.Package.Version)}</td><td>{E(Architecture(view?.Config))}</td>")
                .Append(CultureInfo.InvariantCulture, $"<td class=\"num\">{view?.Languages.Count ?? 0}</td><td class=\"num\">{view?.Tasks.Count ?? 0}</td><td class=\"num\">{Bytes(t.Package.Size)}</td><td class=\"num\">{t.Downloads}</td></tr>");
        }
        if (trunks.Count == 0)
        {
            html.Append("<tr><td colspan=\"7\" class=\"empty\">No trunk yet: <code>xmod-hub publish --model DIR --trunk-id ID --version 1.0.0</code>.</td></tr>");
        }
        html.Append("</tbody></table><p class=\"api\">As JSON: <a href=\"/api/trunks\">/api/trunks</a>.</p>");
        return Html(html);
    }

    private static string Architecture(XModConfig? c) => c is null ? "–"
        : $"{(c.SharedModule ? "SHARED" : "X-MOD")} · {c.NumLayers} layers × {c.HiddenSize} · {c.NumHeads} heads · FFN {c.IntermediateSize} · bottleneck {c.BottleneckSize} · vocabulary {c.VocabSize:N0} · {(c.PreNorm ? "pre" : "post")}-norm";

    public static async Task<IResult> Trunk(string id, IPackageIndex store, PackageSearch search, EvaluationService evaluations, CancellationToken cancel)
    {
        var view = await new BrowseData(store, search, evaluations).TrunkAsync(id, cancel);
        if (view is null)
        {
            return NotFound($"No trunk {id}");
        }
        var t = view.Latest;
        var html = Start($"{t.Id} – XModHub", "Trunks", $"<h1>{E(t.Id)} <small>trunk {E(t.Version)}</small></h1>", t.Description);
        html.Append("<section><h2>Architecture</h2><dl>");
        Row(html, "kind", view.Config is null ? null : view.Config.SharedModule ? "SHARED baseline: one module for all languages" : "X-MOD: a module per language in every layer");
        Row(html, "layers", view.Config?.NumLayers.ToString(CultureInfo.InvariantCulture));
        Row(html, "hidden size", view.Config?.HiddenSize.ToString(CultureInfo.InvariantCulture));
        Row(html, "attention heads", view.Config?.NumHeads.ToString(CultureInfo.InvariantCulture));
        Row(html, "FFN size", view.Config?.IntermediateSize.ToString(CultureInfo.InvariantCulture));
        Row(html, "module bottleneck", view.Config?.BottleneckSize.ToString(CultureInfo.InvariantCulture));
        Row(html, "vocabulary", view.Config?.VocabSize.ToString("N0", CultureInfo.InvariantCulture));
        Row(html, "max positions", view.Config?.MaxPositions.ToString(CultureInfo.InvariantCulture));
        Row(html, "normalisation", view.Config is null ? null : view.Config.PreNorm ? "pre-norm" : "post-norm");
        Row(html, "pre-trained languages", view.Config is null ? null : string.Join(", ", view.Config.Languages));
        Row(html, "package size", Bytes(t.Size));
        Row(html, "weights", BrowseData.Manifest(t)?.Files.FirstOrDefault(f => f.Path == "trunk.safetensors") is { } w ? $"trunk.safetensors, {Bytes(w.Size)}, sha256 {w.Sha256}" : null);
        html.Append("</dl></section>");
        html.Append(CultureInfo.InvariantCulture, $"<section class=\"install\"><h2>Install</h2><pre>{E(BrowseData.Install(t).Cli)}</pre><pre>{E(BrowseData.Install(t).Runtime)}</pre></section>");
        html.Append(CultureInfo.InvariantCulture, $"<section><h2>Languages <small>{view.Languages.Count}</small></h2>");
        LanguageTable(html, view.Languages);
        html.Append(CultureInfo.InvariantCulture, $"</section><section><h2>Task models <small>{view.Tasks.Count}</small></h2>");
        TaskTable(html, view.Tasks);
        html.Append("</section><section><h2>Versions</h2><table><thead><tr><th>Version</th><th>Published</th><th class=\"num\">Size</th><th>Weights sha256</th><th class=\"num\">Languages that fit</th></tr></thead><tbody>");
        var (_, modules) = await search.SearchAsync(new SearchQuery { Trunk = t.Id, Kind = PackageKind.Language, Take = 100_000 }, cancel);
        foreach (var v in view.Versions.AsEnumerable().Reverse())
        {
            var fitting = modules.Count(m => BrowseData.Fits(m, v));
            html.Append(CultureInfo.InvariantCulture, $"<tr{(v.Listed ? "" : " class=\"unlisted\"")}><td>{E(v.Version)}{(v.Listed ? "" : " (unlisted)")}</td><td>{v.Published:yyyy-MM-dd}</td>")
                .Append(CultureInfo.InvariantCulture, $"<td class=\"num\">{Bytes(v.Size)}</td><td><code>{E(Short(v.WeightsSha256))}</code></td><td class=\"num\">{fitting}</td></tr>");
        }
        html.Append(CultureInfo.InvariantCulture, $"</tbody></table></section><p class=\"api\">As JSON: <a href=\"/api/trunks/{U(t.Id)}\">/api/trunks/{E(t.Id)}</a> · <a href=\"/packages/{U(t.Id)}\">package page</a></p>");
        return Html(html);
    }

    private static void LanguageTable(StringBuilder html, IReadOnlyList<PackageRow> rows)
    {
        html.Append("<table class=\"languages\"><thead><tr><th>Language</th><th>Autonym</th><th>Code</th><th>Version</th>")
            .Append(CultureInfo.InvariantCulture, $"<th class=\"measured num\" title=\"{E(MeasuredTitle)}\">Perplexity <small>measured by the hub</small></th><th class=\"measured num\">Top-1</th><th class=\"measured num\">Top-5</th>")
            .Append(CultureInfo.InvariantCulture, $"<th class=\"reported num\" title=\"{E(ReportedTitle)}\">Perplexity <small>reported by the publisher</small></th></tr></thead><tbody>");
        foreach (var row in rows)
        {
            var l = row.Package;
            html.Append(CultureInfo.InvariantCulture, $"<tr><td><a href=\"/packages/{U(l.Id)}\">{E(l.EnglishName ?? l.Id)}</a></td><td lang=\"{E(l.Bcp47)}\">{E(l.Autonym)}</td><td><code>{E(HubRoutes.ShortId(l))}</code></td><td>{E(l.Version)}</td>")
                .Append(CultureInfo.InvariantCulture, $"<td class=\"measured num\">{BrowseData.Number(row.MeasuredPerplexity, "F1")}</td><td class=\"measured num\">{BrowseData.Percent(row.Measured?.Metrics.GetValueOrDefault(EvaluationMetrics.Top1))}</td>")
                .Append(CultureInfo.InvariantCulture, $"<td class=\"measured num\">{BrowseData.Percent(row.Measured?.Metrics.GetValueOrDefault(EvaluationMetrics.Top5))}</td><td class=\"reported num\">{BrowseData.Number(row.Reported, "F1")}</td></tr>");
        }
        if (rows.Count == 0)
        {
            html.Append("<tr><td colspan=\"8\" class=\"empty\">None yet.</td></tr>");
        }
        html.Append("</tbody></table>");
    }

    private static void TaskTable(StringBuilder html, IReadOnlyList<PackageRow> rows)
    {
        html.Append("<table class=\"tasks\"><thead><tr><th>Task model</th><th>Task</th><th>Labels</th><th>Trunk</th><th>Version</th><th class=\"num\">Downloads</th></tr></thead><tbody>");
        foreach (var row in rows)
        {
            var t = row.Package;
            var labels = BrowseData.TaskLabels(t);
            html.Append(CultureInfo.InvariantCulture, $"<tr><td><a href=\"/packages/{U(t.Id)}\">{E(HubRoutes.ShortId(t))}</a><br><small>{E(t.Description)}</small></td><td>{E(BrowseData.TaskName(t) ?? "–")}</td>")
                .Append(CultureInfo.InvariantCulture, $"<td>{E(labels.Count == 0 ? "–" : string.Join(", ", labels.Take(8)) + (labels.Count > 8 ? ", …" : ""))}</td>")
                .Append(CultureInfo.InvariantCulture, $"<td><a href=\"/trunks/{U(t.TrunkId)}\">{E(t.TrunkId)}</a></td><td>{E(t.Version)}</td><td class=\"num\">{row.Downloads}</td></tr>");
        }
        if (rows.Count == 0)
        {
            html.Append("<tr><td colspan=\"6\" class=\"empty\">None yet: fine-tune one with <code>xmod-hub finetune</code> and publish it.</td></tr>");
        }
        html.Append("</tbody></table>");
    }

    public static async Task<IResult> Tasks(HttpRequest r, IPackageIndex store, PackageSearch search, EvaluationService evaluations, CancellationToken cancel)
    {
        var text = r.Query["q"].FirstOrDefault();
        var rows = await new BrowseData(store, search, evaluations).ListedAsync(PackageKind.Task, string.IsNullOrWhiteSpace(text) ? null : text, cancel);
        var html = Start("XModHub: task models", "Task models", "<h1>Task models</h1>", "Fine-tuned on one trunk in one language; they run in any language of that trunk.");
        html.Append(CultureInfo.InvariantCulture, $"<form class=\"filters\" method=\"get\" action=\"/tasks\"><input type=\"search\" name=\"q\" value=\"{E(text)}\" placeholder=\"Search task models\" aria-label=\"search\"><button type=\"submit\">Search</button></form>");
        TaskTable(html, rows);
        html.Append("<p class=\"api\">As JSON: <a href=\"/api/tasks\">/api/tasks</a>.</p>");
        return Html(html);
    }

    private static IResult NotFound(string what) =>
        Html(Start("Not found – XModHub", "", $"<h1>{E(what)}</h1>").Append("<p><a href=\"/\">Back to the languages</a></p>"), 404);

    private static void Row(StringBuilder html, string k, string? v)
    {
        if (!string.IsNullOrEmpty(v))
        {
            html.Append(CultureInfo.InvariantCulture, $"<dt>{E(k)}</dt><dd>{E(v)}</dd>");
        }
    }

    private static string Short(string? sha) => sha is { Length: > 16 } ? sha[..16] + "…" : sha ?? "–";

    public static async Task<IResult> Package(string id, IPackageIndex store, IOwnerStore owners, PackageSearch search, EvaluationService evaluations, CancellationToken cancel)
    {
        var data = new BrowseData(store, search, evaluations);
        var versions = await store.GetVersionsAsync(id, includeUnlisted: true, cancel);
        if (versions.Count == 0)
        {
            return NotFound($"No package {id}");
        }
        var p = versions.Where(v => v.Listed).DefaultIfEmpty(versions[^1]).Last()!;
        var row = (await data.RowsAsync([p], cancel))[0];
        var manifest = BrowseData.Manifest(p);
        var heading = $"<p class=\"crumbs\"><a href=\"/\">Languages</a> › <a href=\"/trunks/{U(p.TrunkId ?? p.Id)}\">{E(p.TrunkId ?? p.Id)}</a></p>"
            + $"<h1>{E(p.EnglishName ?? p.Id)} <small>{E(p.Autonym)}</small></h1>";
        var html = Start($"{p.Id} – XModHub", p.Kind == PackageKind.Language ? "Languages" : p.Kind == PackageKind.Trunk ? "Trunks" : "Task models", heading, p.Description);

        var (cli, runtime) = BrowseData.Install(p);
        html.Append(CultureInfo.InvariantCulture, $"<section class=\"install\"><h2>Install</h2><p>Command line:</p><pre id=\"install\">{E(cli)}</pre>")
            .Append(CultureInfo.InvariantCulture, $"<p>Runtime API (<code>XMod.Runtime.Serving</code>):</p><pre id=\"install-runtime\">{E(runtime)}</pre></section>");

        if (p.Kind == PackageKind.Language)
        {
            html.Append("<section class=\"metrics\"><h2>Quality</h2><div class=\"pair\">");
            html.Append("<div class=\"box measured\" id=\"measured\"><h3>Measured by the hub</h3>");
            if (row.Measured is { } m)
            {
                html.Append(CultureInfo.InvariantCulture, $"<p class=\"big\">perplexity <b>{BrowseData.Number(m.Metrics.GetValueOrDefault(EvaluationMetrics.Perplexity))}</b></p>")
                    .Append(CultureInfo.InvariantCulture, $"<p>fill-mask top-1 <b>{BrowseData.Percent(m.Metrics.GetValueOrDefault(EvaluationMetrics.Top1))}</b> · top-5 <b>{BrowseData.Percent(m.Metrics.GetValueOrDefault(EvaluationMetrics.Top5))}</b></p>")
                    .Append(CultureInfo.InvariantCulture, $"<p class=\"small\">on <b>{E(m.EvalSet)}</b> (data sha256 <code>{E(Short(m.DataSha256))}</code>{(m.Metrics.TryGetValue(EvaluationMetrics.MaskedTokens, out var n) ? $", {n:N0} masked tokens" : "")}), ")
                    .Append(CultureInfo.InvariantCulture, $"evaluator {E(m.EvaluatorVersion)}, with trunk {E(m.TrunkId)} {E(m.TrunkVersion)}, {m.Created:yyyy-MM-dd HH:mm} UTC. Fixed masking: the same positions for every package.</p>");
            }
            else
            {
                html.Append("<p>Not measured yet: the hub's evaluator evaluates each new version on the standard set.</p>");
            }
            html.Append("</div><div class=\"box reported\" id=\"reported\"><h3>Reported by the publisher</h3>");
            if (manifest?.Metrics is { Count: > 0 } reported)
            {
                foreach (var (k, v) in reported)
                {
                    html.Append(CultureInfo.InvariantCulture, $"<p>{E(k.Replace('_', ' '))} <b>{BrowseData.Number(v)}</b></p>");
                }
                html.Append(CultureInfo.InvariantCulture, $"<p class=\"small\">From the package's manifest: held-out text of the publisher's choosing ({E(manifest.Provenance.GetValueOrDefault("heldout") ?? "not described")}). Not verified by the hub, not comparable between packages.</p>");
            }
            else
            {
                html.Append("<p>The publisher reports no metric.</p>");
            }
            html.Append("</div></div></section>");
        }

        html.Append("<section><h2>Package</h2><dl>");
        Row(html, "id", p.Id);
        Row(html, "kind", p.Kind.ToString());
        Row(html, "trunk", p.TrunkId is null || p.Kind == PackageKind.Trunk ? null : $"{p.TrunkId} (weights sha256 {p.TrunkSha256}, versions {manifest?.Trunk?.VersionRange ?? "*"})");
        Row(html, "language", p.LanguageCode is null ? null : $"{p.LanguageCode} · BCP-47 {p.Bcp47} · ISO 639-3 {p.Iso6393} · {p.Script} · {p.Family}");
        Row(html, "task", BrowseData.TaskName(p));
        Row(html, "size", $"{Bytes(p.Size)} ({p.Size:N0} bytes)");
        Row(html, "sha256", p.Sha256);
        Row(html, "license", BrowseData.License(p) ?? "not stated by the publisher");
        Row(html, "owners", string.Join(", ", await owners.GetOwnersAsync(p.Id, cancel)));
        Row(html, "downloads", versions.Sum(v => v.Downloads).ToString(CultureInfo.InvariantCulture));
        Row(html, "published", p.Published.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        html.Append("</dl></section>");

        if (manifest is { Files.Count: > 0 })
        {
            html.Append("<section><h2>Files</h2><table id=\"files\"><thead><tr><th>Path</th><th class=\"num\">Size</th><th>sha256</th></tr></thead><tbody>");
            foreach (var f in manifest.Files)
            {
                html.Append(CultureInfo.InvariantCulture, $"<tr><td><code>{E(f.Path)}</code></td><td class=\"num\">{Bytes(f.Size)}</td><td><code class=\"sha\">{E(f.Sha256)}</code></td></tr>");
            }
            html.Append("</tbody></table></section>");
        }

        if (await data.CompatibilityAsync(versions, cancel) is { } compat)
        {
            html.Append(CultureInfo.InvariantCulture, $"<section><h2>Compatibility</h2><p>Which versions of this package load into which versions of <a href=\"/trunks/{U(compat.TrunkId)}\">{E(compat.TrunkId)}</a> (same trunk weights, within the declared version range).</p>");
            html.Append(CultureInfo.InvariantCulture, $"<table id=\"compatibility\" class=\"matrix\"><thead><tr><th>{E(HubRoutes.ShortId(p))} ╲ {E(compat.TrunkId)}</th>");
            foreach (var tv in compat.TrunkVersions)
            {
                html.Append(CultureInfo.InvariantCulture, $"<th>{E(tv)}</th>");
            }
            html.Append("</tr></thead><tbody>");
            foreach (var pv in compat.PackageVersions.AsEnumerable().Reverse())
            {
                html.Append(CultureInfo.InvariantCulture, $"<tr><th>{E(pv)}</th>");
                foreach (var tv in compat.TrunkVersions)
                {
                    html.Append(compat.Fits[pv].Contains(tv) ? "<td class=\"yes\" title=\"fits\">✓</td>" : "<td class=\"no\" title=\"does not fit\">–</td>");
                }
                html.Append("</tr>");
            }
            html.Append("</tbody></table></section>");
        }

        html.Append("<section><h2>Versions</h2><table><thead><tr><th>Version</th><th>Published</th><th class=\"num\">Downloads</th><th class=\"num\">Size</th><th>sha256</th></tr></thead><tbody>");
        foreach (var v in versions.AsEnumerable().Reverse())
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr{(v.Listed ? "" : " class=\"unlisted\"")}><td>{E(v.Version)}{(v.Listed ? "" : " (unlisted)")}</td><td>{v.Published:yyyy-MM-dd}</td><td class=\"num\">{v.Downloads}</td><td class=\"num\">{Bytes(v.Size)}</td><td><code>{E(Short(v.Sha256))}</code></td></tr>");
        }
        html.Append("</tbody></table></section>");

        var history = await data.HistoryAsync(p.Id, cancel);
        if (history.Count > 0)
        {
            html.Append("<section><h2>Evaluations by the hub</h2><table id=\"evaluations\"><thead><tr><th>#</th><th>Version</th><th>Trunk</th><th>Set</th><th>Data sha256</th><th>Evaluator</th><th class=\"num\">Perplexity</th><th class=\"num\">Top-1</th><th class=\"num\">Top-5</th><th>When</th></tr></thead><tbody>");
            foreach (var e in history.AsEnumerable().Reverse())
            {
                html.Append(CultureInfo.InvariantCulture, $"<tr><td>{e.Sequence}</td><td>{E(e.PackageVersion)}</td><td>{E(e.TrunkVersion)}</td><td>{E(e.EvalSet)}</td><td><code>{E(Short(e.DataSha256))}</code></td><td>{E(e.EvaluatorVersion)}</td>")
                    .Append(CultureInfo.InvariantCulture, $"<td class=\"num\">{BrowseData.Number(e.Metrics.GetValueOrDefault(EvaluationMetrics.Perplexity))}</td><td class=\"num\">{BrowseData.Percent(e.Metrics.GetValueOrDefault(EvaluationMetrics.Top1))}</td>")
                    .Append(CultureInfo.InvariantCulture, $"<td class=\"num\">{BrowseData.Percent(e.Metrics.GetValueOrDefault(EvaluationMetrics.Top5))}</td><td>{e.Created:yyyy-MM-dd HH:mm}</td></tr>");
            }
            html.Append("</tbody></table><p class=\"small\">Evaluations are never edited: a re-evaluation (owners: <code>POST /api/packages/{id}/{version}/reevaluate</code>) adds a row.</p></section>");
        }

        html.Append("<section class=\"card\" id=\"model-card\"><h2>Model card</h2>");
        html.Append(p.Readme is { } readme ? RenderCard(readme) : "<p>This package has no model card.</p>");
        html.Append(CultureInfo.InvariantCulture, $"</section><p class=\"api\">As JSON: <a href=\"/api/packages/{U(p.Id)}\">/api/packages/{E(p.Id)}</a></p>");
        return Html(html);
    }

    private static string Bytes(long n) =>
        n >= 1_000_000 ? $"{n / 1e6:F1} MB" : n >= 1000 ? $"{n / 1e3:F0} kB" : $"{n} B";

    private static string Head(string title) => $$"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{E(title)}}</title>
        <style>
          body { font: 15px/1.5 system-ui, sans-serif; margin: 0; color: #1d2330; background: #fafbfc; }
          header, main { max-width: 1100px; margin: 0 auto; padding: 0 24px; }
          header { padding-top: 20px; } h1 { margin: 8px 0; } h1 small { color: #5b6475; font-weight: normal; }
          .filters { display: flex; gap: 12px; flex-wrap: wrap; align-items: center; margin: 12px 0; }
          .filters input[type=search] { flex: 1 1 260px; padding: 8px 10px; border: 1px solid #c8cfdb; border-radius: 6px; }
          select, button { padding: 7px 10px; border: 1px solid #c8cfdb; border-radius: 6px; background: white; }
          button { background: #2f5bd3; color: white; border-color: #2f5bd3; }
          table { width: 100%; border-collapse: collapse; background: white; box-shadow: 0 1px 2px rgba(0,0,0,.06); }
          th, td { text-align: left; padding: 8px 10px; border-bottom: 1px solid #e7eaf0; } th { background: #f0f3f8; font-size: 13px; }
          td.num { text-align: right; font-variant-numeric: tabular-nums; } .empty { text-align: center; color: #5b6475; }
          a { color: #2f5bd3; text-decoration: none; } a:hover { text-decoration: underline; }
          pre { background: #1d2330; color: #e8ecf3; padding: 12px; border-radius: 6px; overflow-x: auto; }
          dl { display: grid; grid-template-columns: max-content auto; gap: 4px 16px; } dt { color: #5b6475; }
          .unlisted { color: #8a93a3; } .card { background: white; padding: 4px 20px 12px; margin: 20px 0; border-radius: 6px; box-shadow: 0 1px 2px rgba(0,0,0,.06); }
          nav { background: #1d2330; } nav .bar { max-width: 1100px; margin: 0 auto; padding: 10px 24px; display: flex; gap: 20px; align-items: center; }
          nav a { color: #c9d3e6; } nav a.active { color: white; font-weight: 600; } nav a.brand { color: white; font-weight: 700; font-size: 17px; margin-right: 12px; }
          .sub { color: #5b6475; margin-top: 0; } .crumbs { margin: 0; font-size: 13px; } th a { color: inherit; } th small, h2 small { color: #5b6475; font-weight: normal; }
          section { margin: 20px 0; } h2 { font-size: 19px; margin: 16px 0 8px; } .small, .api, .legend { font-size: 13px; color: #5b6475; }
          th.measured, td.measured { background: #eef7f0; } th.reported, td.reported { background: #fbf5e9; }
          .legend span { padding: 1px 6px; border-radius: 4px; font-weight: 600; } .legend .measured { background: #dcefe1; color: #1f6b3a; } .legend .reported { background: #f6e7c8; color: #7a5410; }
          .pair { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; } .box { padding: 4px 16px; border-radius: 6px; border: 1px solid #e7eaf0; background: white; }
          .box.measured { border-left: 5px solid #2e8b57; } .box.reported { border-left: 5px solid #c9931e; } .box h3 { margin: 8px 0; } .big { font-size: 20px; margin: 4px 0; }
          .matrix td, .matrix th { text-align: center; } .matrix td.yes { color: #1f6b3a; font-weight: 700; background: #eef7f0; } .matrix td.no { color: #a0a7b4; }
          code.sha { font-size: 12px; word-break: break-all; } td small { color: #5b6475; }
        </style></head><body>
        """;
}
