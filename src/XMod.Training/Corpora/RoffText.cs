using System.Text;
using System.Text.RegularExpressions;

namespace XMod.Training.Corpora;

/// <summary>
/// Plain-text paragraphs from a manual page's roff source: macros and escapes removed; code
/// blocks (.nf/.fi, .EX/.EE), tables (.TS/.TE), equations (.EQ/.EN), macro definitions
/// (.de/..) and headings dropped; the text lines of a paragraph joined.
/// </summary>
public static partial class RoffText
{
    // Macros that end a paragraph (the text after them starts a new one).
    private static readonly HashSet<string> s_breaks = new(StringComparer.Ordinal)
    {
        "PP", "P", "LP", "TP", "IP", "HP", "SH", "SS", "sp", "br", "RS", "RE", "TQ", "in", "ti", "TH", "bp", "ne",
    };

    // Font macros whose arguments are running text (alternating fonts join without spaces).
    private static readonly HashSet<string> s_fontMacros = new(StringComparer.Ordinal) { "B", "I", "SM", "SB" };
    private static readonly HashSet<string> s_alternating = new(StringComparer.Ordinal) { "BR", "RB", "BI", "IB", "IR", "RI" };

    public static IEnumerable<string> Paragraphs(string roff)
    {
        var current = new StringBuilder();
        var noFill = false;
        foreach (var raw in roff.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.StartsWith(".\\\"", StringComparison.Ordinal) || line.StartsWith("'\\\"", StringComparison.Ordinal) || line.StartsWith("\\\"", StringComparison.Ordinal))
            {
                continue;
            }
            if (line.Length > 0 && (line[0] == '.' || line[0] == '\''))
            {
                var (macro, args) = SplitMacro(line);
                if (macro is "nf" or "EX" or "TS" or "EQ" or "de")
                {
                    noFill = true;
                }
                else if (macro is "fi" or "EE" or "TE" or "EN" or ".")
                {
                    noFill = false;
                }
                if (s_breaks.Contains(macro) || macro is "nf" or "fi" or "EX" or "EE" or "TS" or "TE" or "EQ" or "EN" or "de" or ".")
                {
                    if (Flush(current) is { } p)
                    {
                        yield return p;
                    }
                    continue; // heading and tag texts (.SH NAME, .TP tags) are not sentences
                }
                if (noFill)
                {
                    continue;
                }
                if (s_fontMacros.Contains(macro))
                {
                    Append(current, Unescape(string.Join(' ', Arguments(args))));
                }
                else if (s_alternating.Contains(macro))
                {
                    Append(current, Unescape(string.Concat(Arguments(args))));
                }
                continue; // anything else is formatting
            }
            if (noFill)
            {
                continue;
            }
            if (line.Trim().Length == 0)
            {
                if (Flush(current) is { } p)
                {
                    yield return p;
                }
                continue;
            }
            Append(current, Unescape(line));
        }
        if (Flush(current) is { } last)
        {
            yield return last;
        }
    }

    private static void Append(StringBuilder sb, string text)
    {
        var t = text.Trim();
        if (t.Length == 0)
        {
            return;
        }
        if (sb.Length > 0)
        {
            sb.Append(' ');
        }
        sb.Append(t);
    }

    private static string? Flush(StringBuilder sb)
    {
        var text = Whitespace().Replace(sb.ToString(), " ").Trim();
        sb.Clear();
        return text.Length == 0 ? null : text;
    }

    private static (string Macro, string Args) SplitMacro(string line)
    {
        var body = line[1..].TrimStart();
        var sp = body.IndexOfAny([' ', '\t']);
        return sp < 0 ? (body, "") : (body[..sp], body[(sp + 1)..]);
    }

    /// <summary>roff arguments: space-separated, double quotes group.</summary>
    private static IEnumerable<string> Arguments(string args)
    {
        foreach (Match m in ArgumentPattern().Matches(args))
        {
            yield return m.Groups[1].Success ? m.Groups[1].Value.Replace("\"\"", "\"", StringComparison.Ordinal) : m.Groups[2].Value;
        }
    }

    private static readonly Dictionary<string, string> s_glyphs = new(StringComparer.Ordinal)
    {
        ["em"] = "—", ["en"] = "–", ["hy"] = "-", ["lq"] = "“", ["rq"] = "”", ["oq"] = "‘", ["cq"] = "’", ["aq"] = "'",
        ["dq"] = "\"", ["bu"] = "•", ["co"] = "©", ["rg"] = "®", ["tm"] = "™", ["de"] = "°", ["mu"] = "×", ["di"] = "÷",
        ["<="] = "≤", [">="] = "≥", ["->"] = "→", ["<-"] = "←", ["Fo"] = "«", ["Fc"] = "»", ["fo"] = "‹", ["fc"] = "›",
        ["ti"] = "~", ["ha"] = "^", ["rs"] = "\\", ["ga"] = "`", ["ul"] = "_", ["pl"] = "+", ["mi"] = "−", ["eq"] = "=",
        ["sl"] = "/", ["ba"] = "|", ["or"] = "|", ["at"] = "@", ["sh"] = "#", ["Do"] = "$", ["Eu"] = "€", ["ss"] = "ß",
    };

    /// <summary>Removes roff escapes, keeping the characters they stand for.</summary>
    public static string Unescape(string text)
    {
        var sb = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c != '\\' || i + 1 >= text.Length)
            {
                sb.Append(c);
                continue;
            }
            var e = text[++i];
            switch (e)
            {
                case 'f': // font: \fB, \f(XX, \f[...]
                    i = SkipName(text, i + 1);
                    break;
                case 's': // size: \s+1, \s-2, \s0, \s(12, \s[...]
                    if (i + 1 < text.Length && (text[i + 1] == '+' || text[i + 1] == '-'))
                    {
                        i++;
                    }
                    if (i + 1 < text.Length && (text[i + 1] == '(' || text[i + 1] == '['))
                    {
                        i = SkipName(text, i + 1);
                    }
                    else
                    {
                        while (i + 1 < text.Length && char.IsDigit(text[i + 1]))
                        {
                            i++;
                        }
                    }
                    break;
                case '*': // string: \*x, \*(xx, \*[...]
                case 'n': // register
                case 'k':
                    i = SkipName(text, i + 1);
                    break;
                case '(': // glyph \(xx
                    if (i + 2 < text.Length)
                    {
                        sb.Append(Glyph(text.Substring(i + 1, 2)));
                        i += 2;
                    }
                    break;
                case '[': // glyph \[name]
                    var close = text.IndexOf(']', i + 1);
                    if (close > i)
                    {
                        sb.Append(Glyph(text[(i + 1)..close]));
                        i = close;
                    }
                    break;
                case '-':
                    sb.Append('-');
                    break;
                case 'e':
                case '\\':
                    sb.Append('\\');
                    break;
                case ' ':
                case '~':
                case '0':
                    sb.Append(' ');
                    break;
                case 'c': // continuation: the next line joins without a space
                case '&':
                case ',':
                case '/':
                case '%':
                case '|':
                case '^':
                case ':':
                case ')':
                    break;
                case '"': // comment to end of line
                    i = text.Length;
                    break;
                default:
                    sb.Append(e);
                    break;
            }
        }
        return sb.ToString();
    }

    private static string Glyph(string name) =>
        s_glyphs.TryGetValue(name, out var g) ? g
        : name.StartsWith("u", StringComparison.Ordinal) && int.TryParse(name.AsSpan(1), System.Globalization.NumberStyles.HexNumber, null, out var cp) && cp < 0x110000
            ? char.ConvertFromUtf32(cp)
            : "";

    /// <summary>Skips a roff name after an escape: one char, (xx, or [...]; returns the last index consumed.</summary>
    private static int SkipName(string text, int at)
    {
        if (at >= text.Length)
        {
            return text.Length - 1;
        }
        return text[at] switch
        {
            '(' => Math.Min(at + 2, text.Length - 1),
            '[' => text.IndexOf(']', at) is var close and >= 0 ? close : text.Length - 1,
            _ => at,
        };
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    [GeneratedRegex("\"((?:[^\"]|\"\")*)\"|(\\S+)")]
    private static partial Regex ArgumentPattern();
}
