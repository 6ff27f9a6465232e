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

    [GeneratedRegex(@"<(p|li|h[1-6])(?:\s[^>]*)?>(.*?)</\1>", RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex Block();

    [GeneratedRegex("<[^>]+>")]
    private static partial Regex Tag();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Space();
}
