using XMod.Packaging.Nupkg;
using XMod.Runtime.Model;
using XMod.Training.AddLanguage;

namespace XMod.Training.Checks;

/// <summary>
/// The trunk id an artefact built on a trunk names (a language module's or task model's
/// manifest), chosen and checked before any training: publish sends it to the hub, which accepts
/// the artefact only when a trunk with that id and those weights is there.
/// </summary>
public static class TrunkIds
{
    /// <summary>
    /// --trunk-id when given; else the installed trunk's package id; else the id of an installed
    /// trunk with the same weights (a run that was published and installed); else the run's name,
    /// with a warning that publish needs the trunk under that id.
    /// </summary>
    /// <param name="shortId">The artefact's own id (lang-yo, task-x): the qualified id must be valid too.</param>
    public static string Choose(string? given, LocatedModel trunk, string home, string shortId, Action<string> warn)
    {
        string id;
        if (given is not null)
        {
            id = given.Trim();
        }
        else if (trunk.PackageId is { } installed)
        {
            id = installed;
        }
        else if (ModelLocator.InstalledTrunkId(home, ModelDirectory.TrunkSha256(trunk.Directory)) is { } same)
        {
            id = same;
        }
        else
        {
            id = LanguageExtender.DefaultTrunkId(trunk.Directory);
            warn($"the trunk is named '{id}' after its directory; publishing needs the trunk on the hub under that id: " +
                "give --trunk-id with the id the trunk is (or will be) published under");
        }
        InputChecks.PackageId(id, "the trunk (--trunk-id)");
        InputChecks.PackageId(PackageIds.Qualified(id, shortId), $"{shortId} on {id}");
        return id;
    }
}
