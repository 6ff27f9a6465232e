using System.Globalization;
using System.Text;
using NuGet.Versioning;

namespace XModHub.Plugins.Metadata.PostgreSql;

/// <summary>
/// A string whose byte order ("C" collation) is NuGet's version order, so the database can pick the
/// newest version of each id itself (DISTINCT ON ... ORDER BY version_key DESC) instead of the hub
/// reading every version of every match.
/// </summary>
internal static class VersionKey
{
    public static string Of(string version)
    {
        var v = NuGetVersion.Parse(version);
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
