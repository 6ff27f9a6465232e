using System.Globalization;
using System.Net;
using System.Text;
using Markdig;
using Markdig.Extensions.GenericAttributes;
using Markdig.Renderers;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;
using XMod.Packaging.Manifests;
using XModHub.Core;

namespace XModHub.Server;

/// <summary>
/// The browse pages, rendered on the server (they work without JavaScript): every language for a
/// trunk with name, autonym, code, script, family, latest version, held-out perplexity and
/// downloads, with search and filters; a page per package with its model card and install command.
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

    public static async Task<IResult> Index(HttpRequest r, PackageSearch search, IPackageIndex store, CancellationToken cancel)
    {
        var query = HubRoutes.Query(r, 1000);
        var (_, trunks) = await search.SearchAsync(new SearchQuery { Kind = PackageKind.Trunk, Take = 1000 }, cancel);
        var trunk = query.Trunk ?? trunks.FirstOrDefault()?.Id;
        var (total, languages) = await search.SearchAsync(query with { Kind = PackageKind.Language, Trunk = trunk }, cancel);
        var (_, all) = await search.SearchAsync(new SearchQuery { Kind = PackageKind.Language, Trunk = trunk, Take = 10_000 }, cancel);
        var html = new StringBuilder();
        html.Append(Head("XModHub: languages"));
        html.Append("<header><h1>XModHub</h1><p>Language modules for X-MOD trunks: install one, and a running model speaks it.</p></header><main>");
        html.Append("<form class=\"filters\" method=\"get\" action=\"/\">");
        html.Append($"<input type=\"search\" name=\"q\" placeholder=\"Search languages: name, autonym, code\" value=\"{E(query.Text)}\" aria-label=\"search\">");
        html.Append(Select("trunk", "Trunk", trunks.Select(t => t.Id).Distinct(), trunk, includeAll: false));
        html.Append(Select("script", "Script", all.Select(l => l.Script).OfType<string>().Distinct().Order(), query.Script, includeAll: true));
        html.Append(Select("family", "Family", all.Select(l => l.Family?.Split(" > ")[0]).OfType<string>().Distinct().Order(), query.Family, includeAll: true));
        html.Append("<button type=\"submit\">Filter</button></form>");
        html.Append($"<p class=\"count\" id=\"count\">{total} language{(total == 1 ? "" : "s")} for <b>{E(trunk ?? "no trunk yet")}</b></p>");
        html.Append("<table id=\"languages\"><thead><tr><th>Language</th><th>Autonym</th><th>Code</th><th>Script</th><th>Family</th><th>Version</th><th title=\"held-out MLM perplexity: lower is better\">Perplexity</th><th>Downloads</th></tr></thead><tbody>");
        foreach (var l in languages)
        {
            var downloads = (await store.GetVersionsAsync(l.Id, true, cancel)).Sum(v => v.Downloads);
            html.Append(CultureInfo.InvariantCulture, $"<tr><td><a href=\"/packages/{E(l.Id)}\">{E(l.EnglishName)}</a></td><td lang=\"{E(l.Bcp47)}\">{E(l.Autonym)}</td>")
                .Append(CultureInfo.InvariantCulture, $"<td><code>{E(HubRoutes.ShortId(l))}</code></td><td>{E(l.Script)}</td><td>{E(l.Family)}</td><td>{E(l.Version)}</td>")
                .Append(CultureInfo.InvariantCulture, $"<td class=\"num\">{(l.Perplexity is { } p ? p.ToString("F1", CultureInfo.InvariantCulture) : "–")}</td><td class=\"num\">{downloads}</td></tr>");
        }
        if (languages.Count == 0)
        {
            html.Append("<tr><td colspan=\"8\" class=\"empty\">No language matches. Publish one with <code>xmod-hub publish lang-xx</code>.</td></tr>");
        }
        html.Append("</tbody></table></main></body></html>");
        return Results.Content(html.ToString(), "text/html; charset=utf-8");
    }

    public static async Task<IResult> Package(string id, IPackageIndex store, IOwnerStore owners, CancellationToken cancel)
    {
        var versions = await store.GetVersionsAsync(id, includeUnlisted: true, cancel);
        if (versions.Count == 0)
        {
            return Results.Content(Head("Not found") + $"<main><h1>No package {E(id)}</h1><p><a href=\"/\">Back to the languages</a></p></main></body></html>", "text/html; charset=utf-8", statusCode: 404);
        }
        var p = versions.Where(v => v.Listed).DefaultIfEmpty(versions[^1]).Last()!;
        var html = new StringBuilder(Head($"{p.Id} – XModHub"));
        html.Append(CultureInfo.InvariantCulture, $"<header><p><a href=\"/?trunk={E(p.TrunkId)}\">← all languages</a></p><h1>{E(p.EnglishName ?? p.Id)} <small>{E(p.Autonym)}</small></h1>");
        html.Append(CultureInfo.InvariantCulture, $"<p>{E(p.Description)}</p></header><main>");
        html.Append(CultureInfo.InvariantCulture, $"<section class=\"install\"><h2>Install</h2><pre id=\"install\">{E(HubRoutes.InstallCommand(p))}</pre></section>");
        html.Append("<section><h2>Package</h2><dl>");
        void Row(string k, string? v)
        {
            if (!string.IsNullOrEmpty(v))
            {
                html.Append(CultureInfo.InvariantCulture, $"<dt>{E(k)}</dt><dd>{E(v)}</dd>");
            }
        }
        Row("id", p.Id);
        Row("kind", p.Kind.ToString());
        Row("trunk", p.TrunkId is null ? null : $"{p.TrunkId} (weights sha256 {p.TrunkSha256})");
        Row("language", p.LanguageCode is null ? null : $"{p.LanguageCode} · BCP-47 {p.Bcp47} · ISO 639-3 {p.Iso6393} · {p.Script} · {p.Family}");
        Row("held-out perplexity", p.Perplexity?.ToString("F2", CultureInfo.InvariantCulture));
        Row("downloads", versions.Sum(v => v.Downloads).ToString(CultureInfo.InvariantCulture));
        Row("owners", string.Join(", ", await owners.GetOwnersAsync(p.Id, cancel)));
        html.Append("</dl></section><section><h2>Versions</h2><table><thead><tr><th>Version</th><th>Published</th><th>Downloads</th><th>Size</th><th>sha256</th></tr></thead><tbody>");
        foreach (var v in versions.AsEnumerable().Reverse())
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr{(v.Listed ? "" : " class=\"unlisted\"")}><td>{E(v.Version)}{(v.Listed ? "" : " (unlisted)")}</td><td>{v.Published:yyyy-MM-dd}</td><td class=\"num\">{v.Downloads}</td><td class=\"num\">{Bytes(v.Size)}</td><td><code>{E(v.Sha256[..16])}…</code></td></tr>");
        }
        html.Append("</tbody></table></section>");
        html.Append("<section class=\"card\" id=\"model-card\"><h2>Model card</h2>");
        html.Append(p.Readme is { } readme ? RenderCard(readme) : "<p>This package has no model card.</p>");
        html.Append("</section></main></body></html>");
        return Results.Content(html.ToString(), "text/html; charset=utf-8");
    }

    private static string Bytes(long n) =>
        n >= 1_000_000 ? $"{n / 1e6:F1} MB" : n >= 1000 ? $"{n / 1e3:F0} kB" : $"{n} B";

    private static string Select(string name, string label, IEnumerable<string> values, string? selected, bool includeAll)
    {
        var sb = new StringBuilder($"<label>{E(label)} <select name=\"{name}\">");
        if (includeAll)
        {
            sb.Append("<option value=\"\">all</option>");
        }
        foreach (var v in values)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<option value=\"{E(v)}\"{(string.Equals(v, selected, StringComparison.OrdinalIgnoreCase) ? " selected" : "")}>{E(v)}</option>");
        }
        return sb.Append("</select></label>").ToString();
    }

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
        </style></head><body>
        """;
}
