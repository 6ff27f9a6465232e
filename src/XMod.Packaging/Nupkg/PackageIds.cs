using System.Text.RegularExpressions;
using XMod.Packaging.Manifests;

namespace XMod.Packaging.Nupkg;

/// <summary>
/// Package ids on the hub. A language module is valid for one trunk only, so its NuGet id is
/// qualified by the trunk: <c>{trunk}.lang-de</c>; two trunks can each have a German module while a
/// user still types <c>lang-de</c>, which the client resolves against the trunk it has.
/// Trunks are published under their own id; task models as <c>{trunk}.task-{name}</c>.
/// </summary>
public static partial class PackageIds
{
    public const int MaxLength = 100;

    public static string PackageTypeOf(PackageKind kind) => kind switch
    {
        PackageKind.Trunk => "XModTrunk",
        PackageKind.Language => "XModLanguage",
        _ => "XModTask",
    };

    public static PackageKind? KindOfPackageType(string type) => type switch
    {
        "XModTrunk" => PackageKind.Trunk,
        "XModLanguage" => PackageKind.Language,
        "XModTask" => PackageKind.Task,
        _ => null,
    };

    /// <summary>The NuGet id a manifest is published under.</summary>
    public static string NuGetId(PackageManifest m) =>
        m.Kind == PackageKind.Trunk ? m.Id : $"{m.Trunk?.Id ?? throw new PackagingException($"{m.Id} names no trunk")}.{m.Id}";

    /// <summary>The id qualified by a trunk: lang-de on xmod-mini is xmod-mini.lang-de.</summary>
    public static string Qualified(string trunkId, string shortId) => $"{trunkId}.{shortId}";

    public static bool IsValid(string id) => id.Length <= MaxLength && Pattern().IsMatch(id);

    public static void Check(string id, string what)
    {
        if (!IsValid(id))
        {
            throw new PackagingException($"{what} '{id}' is not a valid package id (NuGet's rules: letters, digits and '_', joined by single '.' or '-'; at most {MaxLength} characters)");
        }
    }

    // NuGet's id rule (\w+([.-]\w+)*, ASCII): no leading, trailing or doubled '.' or '-', so never '..'.
    [GeneratedRegex(@"^[A-Za-z0-9_]+([.-][A-Za-z0-9_]+)*$")]
    private static partial Regex Pattern();
}
