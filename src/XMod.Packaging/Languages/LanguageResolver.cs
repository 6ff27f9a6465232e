namespace XMod.Packaging.Languages;

/// <summary>
/// The one place that turns what a user typed for a language (lang-de, de, deu, de_DE, de-DE,
/// German) into a language code, for every command and the runtime API. Exact forms win over
/// broader ones (de-DE is de_DE even when de_CH is also loaded); a form that still fits several
/// languages is refused with the choices, never guessed.
/// </summary>
public static class LanguageResolver
{
    /// <summary>A language of the catalogue.</summary>
    public static LanguageInfo ResolveKnown(string input)
    {
        var key = Normalize(input);
        var matches = Narrowest(LanguageCatalog.All, l => Forms(l, key));
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new XModException(
                $"unknown language '{Shown(input)}': known are {string.Join(", ", LanguageCatalog.All.Select(l => l.Code))} " +
                "(X-MOD code, BCP-47, ISO 639-3 or English name; for another language give --name, --script and --family)"),
            _ => throw Ambiguous(input, matches.Select(m => m.Code)),
        };
    }

    /// <summary>The catalogue's entry for a code or tag, or null when the catalogue does not know it.</summary>
    public static LanguageInfo? TryResolveKnown(string input)
    {
        var key = Normalize(input);
        var matches = Narrowest(LanguageCatalog.All, l => Forms(l, key));
        return matches.Count == 1 ? matches[0] : null;
    }

    /// <summary>
    /// One of <paramref name="available"/> (the languages a model or run has: X-MOD codes, or codes
    /// of languages the catalogue lacks). <paramref name="owner"/> names what has them in messages.
    /// </summary>
    public static string Resolve(string input, IReadOnlyCollection<string> available, string owner = "the model") =>
        TryResolve(input, available) ?? throw new XModException(
            available.Count == 0
                ? $"{owner} has no languages loaded, so '{Shown(input)}' cannot be used"
                : $"{owner} has no language '{Shown(input)}': it has {string.Join(", ", available.Order(StringComparer.Ordinal))}");

    /// <summary>
    /// As <see cref="Resolve"/>, but null when none of <paramref name="available"/> is meant (the
    /// caller may look elsewhere, e.g. in the installed packages); still refuses an ambiguous form.
    /// </summary>
    public static string? TryResolve(string input, IReadOnlyCollection<string> available)
    {
        var key = Normalize(input);
        var matches = Narrowest(available, code =>
        {
            var norm = Normalize(code);
            if (norm == key)
            {
                return 0; // exactly what the model calls it
            }
            if (LanguageCatalog.All.FirstOrDefault(l => Normalize(l.Code) == norm) is { } info)
            {
                return Forms(info, key);
            }
            return Primary(norm) == key ? 3 : -1; // xx_YY of a language the catalogue lacks, typed as xx
        });
        return matches.Count switch
        {
            1 => matches[0],
            0 => null,
            _ => throw Ambiguous(input, matches),
        };
    }

    /// <summary>
    /// How closely <paramref name="key"/> names <paramref name="l"/>: 0 its X-MOD code, 1 its full
    /// BCP-47 tag or ISO 639-3 code, 2 its English name or autonym, 3 the primary subtag only; -1 not at all.
    /// </summary>
    private static int Forms(LanguageInfo l, string key)
    {
        if (Normalize(l.Code) == key)
        {
            return 0;
        }
        if (Normalize(l.Bcp47) == key || Normalize(l.Iso6393) == key)
        {
            return 1;
        }
        if (Normalize(l.EnglishName) == key || Normalize(l.Autonym) == key)
        {
            return 2;
        }
        return Primary(Normalize(l.Bcp47)) == key || Primary(Normalize(l.Code)) == key ? 3 : -1;
    }

    /// <summary>The candidates at the closest level any candidate matches.</summary>
    private static List<T> Narrowest<T>(IEnumerable<T> candidates, Func<T, int> level)
    {
        var scored = candidates.Select(c => (c, Level: level(c))).Where(x => x.Level >= 0).ToList();
        if (scored.Count == 0)
        {
            return [];
        }
        var best = scored.Min(x => x.Level);
        return scored.Where(x => x.Level == best).Select(x => x.c).Distinct().ToList();
    }

    private static XModException Ambiguous(string input, IEnumerable<string> codes) =>
        new($"'{Shown(input)}' could mean {string.Join(" or ", codes.Order(StringComparer.Ordinal).Select(Describe))}: name one of them");

    /// <summary>What the user typed, for a message: trimmed, control characters shown as '?' so the error stays one line.</summary>
    internal static string Shown(string input) => new(input.Trim().Select(c => char.IsControl(c) ? '?' : c).ToArray());

    private static string Describe(string code) =>
        LanguageCatalog.All.FirstOrDefault(l => l.Code == code) is { } l ? $"{code} ({l.EnglishName})" : code;

    /// <summary>Case, surrounding space, a lang- prefix (or a trunk-qualified one) and the -/_ separator do not matter.</summary>
    private static string Normalize(string s)
    {
        s = s.Trim();
        // A package id qualified by its trunk (xmod-base.lang-de) names the language after the trunk.
        var qualified = s.LastIndexOf(".lang-", StringComparison.OrdinalIgnoreCase);
        if (qualified >= 0)
        {
            s = s[(qualified + 1)..];
        }
        if (s.StartsWith("lang-", StringComparison.OrdinalIgnoreCase))
        {
            s = s[5..];
        }
        return s.Replace('-', '_').ToLowerInvariant();
    }

    private static string Primary(string normalized)
    {
        var cut = normalized.IndexOf('_');
        return cut < 0 ? normalized : normalized[..cut];
    }
}
