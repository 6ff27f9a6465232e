using System.Globalization;
using System.Text;
using NuGet.Versioning;

namespace XModHub.Core;

/// <summary>
/// The hub's version order (NuGet's SemVer 2 order) as a string whose byte order ("C" collation,
/// SQLite's BINARY) is that order. Stores keep it next to each version, so a database picks the
/// newest version of each id itself, without knowing SemVer, and without the hub reading every
/// version of every match.
/// </summary>
public static class VersionOrder
{
    /// <summary>What a package page shows: the newest listed version, else (all unlisted) the newest; <paramref name="versions"/> in key order, not empty.</summary>
    public static PackageRecord Newest(IReadOnlyList<PackageRecord> versions) =>
        versions.LastOrDefault(v => v.Listed) ?? versions[^1];

    public static string Key(string version)
    {
        if (!NuGetVersion.TryParse(version, out var v))
        {
            // Not a version (a store's hostile-value test): after every real version, still in a stable order.
            return "~~" + version;
        }
        var sb = new StringBuilder();
        foreach (var part in new[] { v.Major, v.Minor, v.Patch, v.Revision })
        {
            sb.Append(part.ToString("D10", CultureInfo.InvariantCulture)).Append('.');
        }
        if (!v.IsPrerelease)
        {
            // A release sorts after every pre-release of the same numbers.
            return sb.Append('~').ToString();
        }
        sb.Append(' ');
        var first = true;
        foreach (var label in v.ReleaseLabels)
        {
            // '!' sorts below every label character, so "beta" < "beta.1" < "beta-x", as NuGet orders them.
            if (!first)
            {
                sb.Append('!');
            }
            first = false;
            if (label.Length > 0 && label.All(char.IsAsciiDigit))
            {
                // Numeric labels: below alphanumeric ones, compared by value (length first, then digits).
                var digits = label.TrimStart('0');
                sb.Append('0').Append(digits.Length.ToString("D3", CultureInfo.InvariantCulture)).Append(digits);
            }
            else
            {
                sb.Append('1').Append(label.ToLowerInvariant());
            }
        }
        return sb.ToString();
    }
}
