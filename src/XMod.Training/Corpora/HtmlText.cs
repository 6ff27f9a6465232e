using System.Net;
using System.Text.RegularExpressions;

namespace XMod.Training.Corpora;

/// <summary>Paragraphs (headings, p, li elements) of a UDHR declaration page.</summary>
public static partial class HtmlText
{
    public static IEnumerable<string> Paragraphs(string html)
    {
        foreach (Match m in Block().Matches(html))
        {
            var text = WebUtility.HtmlDecode(Tag().Replace(m.Groups[2].Value, " "));
            text = Space().Replace(text, " ").Trim();
            if (text.Length > 0)
            {
                yield return text;
            }
        }
    }

    /// <summary>
    /// Paragraphs with the UDHR article they belong to (&lt;article data-number="N"&gt;), or null
    /// for the preamble and headings outside every article.
    /// </summary>
    public static IEnumerable<(int? Article, string Text)> ArticleParagraphs(string html)
    {
        var articles = Article().Matches(html).Select(m => (Start: m.Index, End: m.Index + m.Length, Number: int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))).ToList();
        foreach (Match m in Block().Matches(html))
        {
            var text = Space().Replace(WebUtility.HtmlDecode(Tag().Replace(m.Groups[2].Value, " ")), " ").Trim();
            if (text.Length > 0)
            {
                var article = articles.FirstOrDefault(a => m.Index >= a.Start && m.Index < a.End);
                yield return (article.End > 0 ? article.Number : null, text);
            }
        }
    }

    [GeneratedRegex(@"<article\s[^>]*data-number=""(\d{1,3})""[^>]*>.*?</article>", RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex Article();

    [GeneratedRegex(@"<(p|li|h[1-6])(?:\s[^>]*)?>(.*?)</\1>", RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex Block();

    [GeneratedRegex("<[^>]+>")]
    private static partial Regex Tag();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Space();
}
