using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace XMod.Packaging.Manifests;

/// <summary>
/// What a model card states besides the numbers, kept in the manifest so the hub and `info` can
/// show it without parsing the README: the license (an SPDX expression), the data the package was
/// trained on, what it is for and not for, and for each metric the data it was measured on.
/// </summary>
public sealed record CardInfo
{
    [JsonPropertyName("license")] public string? License { get; init; }
    [JsonPropertyName("data_sources")] public IReadOnlyList<string> DataSources { get; init; } = [];
    [JsonPropertyName("intended_use")] public string? IntendedUse { get; init; }
    [JsonPropertyName("limitations")] public string? Limitations { get; init; }
    /// <summary>Metric name (as in <see cref="PackageManifest.Metrics"/>) -> the data it was measured on.</summary>
    [JsonPropertyName("metric_data")] public IReadOnlyDictionary<string, string> MetricData { get; init; } = new Dictionary<string, string>();

    /// <summary>JSON null in a list or map passes the deserializer; the first such field, named, or null.</summary>
    public string? Problem()
    {
        if (DataSources is null || DataSources.Any(s => s is null))
        {
            return "card: data_sources must be a list of strings";
        }
        if (MetricData is null || MetricData.Values.Any(v => v is null))
        {
            return "card: metric_data must be an object of strings";
        }
        if (License is not null && !Licenses.IsValid(License))
        {
            return $"card: license '{ModelCard.Printable(License)}' is not an SPDX license expression (like MIT, Apache-2.0 or CC-BY-4.0)";
        }
        var texts = DataSources.Concat(MetricData.Keys).Concat(MetricData.Values).Append(IntendedUse ?? "").Append(Limitations ?? "");
        return texts.Any(t => t.Length > ModelCard.MaxFieldChars || t.Any(c => char.IsControl(c) && c is not '\n'))
            ? $"card: every text is at most {ModelCard.MaxFieldChars} characters without control characters" : null;
    }
}

/// <summary>SPDX license expressions: known identifiers (or LicenseRef-…) joined by AND / OR, with an optional WITH exception.</summary>
public static partial class Licenses
{
    /// <summary>The SPDX identifiers people license models and data under; others can be named as LicenseRef-….</summary>
    private static readonly HashSet<string> s_known = new(StringComparer.OrdinalIgnoreCase)
    {
        "0BSD", "AFL-3.0", "AGPL-3.0-only", "AGPL-3.0-or-later", "Apache-2.0", "Artistic-2.0", "BSD-2-Clause", "BSD-3-Clause",
        "BSD-3-Clause-Clear", "BSL-1.0", "CC-BY-2.0", "CC-BY-3.0", "CC-BY-4.0", "CC-BY-NC-4.0", "CC-BY-NC-ND-4.0", "CC-BY-NC-SA-4.0",
        "CC-BY-ND-4.0", "CC-BY-SA-3.0", "CC-BY-SA-4.0", "CC0-1.0", "CDLA-Permissive-2.0", "CDLA-Sharing-1.0", "ECL-2.0", "EPL-1.0",
        "EPL-2.0", "EUPL-1.2", "GFDL-1.3-only", "GFDL-1.3-or-later", "GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0-only",
        "GPL-3.0-or-later", "ISC", "LGPL-2.1-only", "LGPL-2.1-or-later", "LGPL-3.0-only", "LGPL-3.0-or-later", "LPPL-1.3c", "MIT",
        "MIT-0", "MPL-2.0", "ODbL-1.0", "ODC-By-1.0", "OFL-1.1", "OpenRAIL", "OSL-3.0", "PDDL-1.0", "PostgreSQL", "Unicode-DFS-2016",
        "Unlicense", "UPL-1.0", "WTFPL", "Zlib",
    };

    private static readonly HashSet<string> s_exceptions = new(StringComparer.OrdinalIgnoreCase) { "Classpath-exception-2.0", "LLVM-exception" };

    public static bool IsValid(string expression) => Normalize(expression) is not null;

    /// <summary>The expression with each identifier spelled as SPDX spells it; throws a one-line error naming the bad part.</summary>
    public static string Check(string expression, string option = "--license") =>
        Normalize(expression) ?? throw new XModException(
            $"{option} '{ModelCard.Printable(expression)}' is not an SPDX license identifier: use one like MIT, Apache-2.0, CC-BY-4.0, CC-BY-SA-4.0 or CC0-1.0 " +
            "(or LicenseRef-Name for your own terms; combine with AND / OR)");

    private static string? Normalize(string expression)
    {
        if (expression.Length is 0 or > 200 || expression.Any(char.IsControl))
        {
            return null;
        }
        var tokens = expression.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var output = new List<string>();
        var i = 0;
        while (true)
        {
            // term := id ['WITH' exception]; expression := term (('AND' | 'OR') term)*
            if (i >= tokens.Length || Identifier(tokens[i++]) is not { } id)
            {
                return null;
            }
            output.Add(id);
            if (i < tokens.Length && tokens[i] == "WITH")
            {
                if (i + 1 >= tokens.Length || s_exceptions.FirstOrDefault(x => string.Equals(x, tokens[i + 1], StringComparison.OrdinalIgnoreCase)) is not { } exception)
                {
                    return null;
                }
                output.Add("WITH");
                output.Add(exception);
                i += 2;
            }
            if (i == tokens.Length)
            {
                break;
            }
            if (tokens[i] is not ("AND" or "OR"))
            {
                return null;
            }
            output.Add(tokens[i++]);
        }
        return output.Count == 0 ? null : string.Join(' ', output);
    }

    private static string? Identifier(string token)
    {
        var plus = token.EndsWith('+');
        var id = plus ? token[..^1] : token;
        var known = s_known.FirstOrDefault(k => string.Equals(k, id, StringComparison.OrdinalIgnoreCase)) ?? (LicenseRef().IsMatch(id) ? id : null);
        return known is null ? null : known + (plus ? "+" : "");
    }

    [GeneratedRegex(@"^LicenseRef-[A-Za-z0-9.\-]{1,64}$")]
    private static partial Regex LicenseRef();
}

/// <summary>
/// The README.md every generated package carries, from one template (pre-training, add-language,
/// fine-tuning), and the step that lets a person edit it before publishing: the card is the one
/// file that may change after training; every other file stays bound to its sha256.
/// </summary>
public static class ModelCard
{
    public const string FileName = "README.md";

    /// <summary>The hub stores cards up to 1 MB; a card is text, far smaller.</summary>
    public const int MaxCardBytes = 256 * 1024;

    public const int MaxFieldChars = 2000;

    /// <summary>Sections of a generated card.</summary>
    /// <param name="Facts">Rows of the summary table (label, value).</param>
    public sealed record Content(string Title, string Summary, IReadOnlyList<(string Label, string Value)> Facts, CardInfo Card,
        IReadOnlyDictionary<string, double> Metrics, string? Usage = null);

    public static string Render(Content c)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append("# ").Append(c.Title).Append("\n\n").Append(c.Summary.Trim()).Append("\n\n");
        if (c.Facts.Count > 0)
        {
            sb.Append("| | |\n|---|---|\n");
            foreach (var (label, value) in c.Facts)
            {
                sb.Append("| ").Append(label).Append(" | ").Append(value.Replace("|", "\\|", StringComparison.Ordinal)).Append(" |\n");
            }
            sb.Append('\n');
        }
        sb.Append("## Intended use\n\n").Append(c.Card.IntendedUse ?? "Not stated.").Append("\n\n");
        sb.Append("## Training data\n\n");
        sb.Append(c.Card.DataSources.Count == 0 ? "Not stated.\n" : string.Concat(c.Card.DataSources.Select(s => $"- {s}\n"))).Append('\n');
        sb.Append("## Evaluation\n\n");
        if (c.Metrics.Count == 0)
        {
            sb.Append("Nothing was measured.\n\n");
        }
        else
        {
            sb.Append("| metric | value | measured on |\n|---|---|---|\n");
            foreach (var (name, value) in c.Metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                sb.Append(inv, $"| {name} | {value:0.####} | {(c.Card.MetricData.TryGetValue(name, out var data) ? data : "not stated")} |\n");
            }
            sb.Append('\n');
        }
        sb.Append("## Limitations\n\n").Append(c.Card.Limitations ?? "Not stated.").Append("\n\n");
        sb.Append("## License\n\n").Append(c.Card.License is { } l
            ? $"{l} (SPDX).\n"
            : "Not stated: set one before publishing with `xmod-hub pack DIR --license SPDX-ID` (the training data's terms apply).\n");
        if (c.Usage is { } usage)
        {
            sb.Append("\n## How to use\n\n").Append(usage.Trim()).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>What an edit of the card changed, for the command to report.</summary>
    public sealed record Refreshed(PackageManifest Manifest, bool CardChanged, bool LicenseChanged, IReadOnlyList<string> Warnings);

    /// <summary>
    /// Makes a package directory's manifest match an edited README.md (and sets the license when
    /// given), after checking every other file against the sha256 the manifest lists: a weight
    /// file edited after training is refused, as is a file the manifest does not list.
    /// The manifest is rewritten atomically, and only when something changed.
    /// </summary>
    public static Refreshed Refresh(string dir, string? license = null)
    {
        var manifest = PackageManifest.Load(dir);
        var others = manifest with { Files = manifest.Files.Where(f => f.Path != FileName).ToList() };
        try
        {
            others.Verify(dir);
        }
        catch (PackagingException e)
        {
            throw new XModException($"{e.Message}: only {FileName} may be edited after training; restore the file or train again");
        }
        var listed = manifest.Files.Select(f => f.Path).Append(FileName).ToHashSet(StringComparer.Ordinal);
        var extra = PackageManifest.Inventory(dir).Select(f => f.Path).FirstOrDefault(p => !listed.Contains(p));
        if (extra is not null)
        {
            throw new XModException($"{dir}: {extra} is not listed in {PackageManifest.FileName}: only {FileName} may be edited or added after training; remove {extra}");
        }
        var warnings = new List<string>();
        var cardPath = Path.Combine(dir, FileName);
        var files = manifest.Files.Where(f => f.Path != FileName).ToList();
        if (File.Exists(cardPath))
        {
            warnings.AddRange(CheckCard(cardPath));
            files.Add(new FileEntry(FileName, PackageManifest.Sha256Of(cardPath), new FileInfo(cardPath).Length));
        }
        files.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        var card = manifest.Card ?? new CardInfo();
        var newLicense = license is null ? card.License : Licenses.Check(license);
        var updated = manifest with
        {
            Files = files,
            Card = newLicense == card.License && manifest.Card is null ? null : card with { License = newLicense },
        };
        var cardChanged = !files.SequenceEqual(manifest.Files);
        var licenseChanged = newLicense != card.License;
        if (cardChanged || licenseChanged)
        {
            updated.Save(dir);
        }
        if (newLicense is null)
        {
            warnings.Add($"{manifest.Id} states no license: add one with --license (an SPDX id such as CC-BY-4.0)");
        }
        return new Refreshed(updated, cardChanged, licenseChanged, warnings);
    }

    /// <summary>A card is UTF-8 text of bounded size; raw HTML is allowed but never rendered as HTML by the hub.</summary>
    private static IEnumerable<string> CheckCard(string path)
    {
        var size = new FileInfo(path).Length;
        if (size > MaxCardBytes)
        {
            throw new XModException($"{path} is {size:N0} bytes; a model card may be at most {MaxCardBytes / 1024} KiB");
        }
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(File.ReadAllBytes(path));
        }
        catch (DecoderFallbackException)
        {
            throw new XModException($"{path} is not UTF-8 text");
        }
        var line = 1;
        foreach (var ch in text)
        {
            if (ch == '\n')
            {
                line++;
            }
            else if (char.IsControl(ch) && ch is not ('\r' or '\t'))
            {
                throw new XModException($"{path}:{line}: control character U+{(int)ch:X4}: a model card is plain text (Markdown)");
            }
        }
        if (RawHtml().Match(text) is { Success: true } html)
        {
            yield return $"{path} contains raw HTML ({Printable(html.Value)}): the hub shows it as text, not as HTML";
        }
    }

    /// <summary>A value as it may be echoed in a one-line message: control characters escaped, long values cut.</summary>
    public static string Printable(string value)
    {
        var sb = new StringBuilder();
        foreach (var ch in value.Length > 80 ? value[..80] + "…" : value)
        {
            sb.Append(char.IsControl(ch) ? $"\\u{(int)ch:x4}" : ch.ToString());
        }
        return sb.ToString();
    }

    private static Regex RawHtml() => s_rawHtml;

    private static readonly Regex s_rawHtml = new(@"<\s*/?\s*(script|iframe|object|embed|style|img|a|div|span|form|input|svg)\b[^>]{0,40}>?", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
}
