using NuGet.Versioning;
using XMod.Packaging.Nupkg;

namespace XMod.Training.Checks;

/// <summary>
/// Checks a trainer makes before any work: what would otherwise fail only after minutes of
/// training (at save or at publish) fails at once, with one line naming the option.
/// </summary>
public static class InputChecks
{
    /// <summary>A SemVer 2.0 version as the hub's package validator accepts it.</summary>
    public static string Version(string? version, string option = "--version")
    {
        // Strict SemVer (three numbers): what publish writes into the nuspec and the hub checks.
        if (string.IsNullOrWhiteSpace(version) || !SemanticVersion.TryParse(version, out _))
        {
            throw new XModException($"{option} '{version}' is not a SemVer version (like 1.0.0 or 1.2.0-beta.1)");
        }
        return version;
    }

    /// <summary>
    /// An output directory may be written only when it does not exist, is empty, or
    /// <paramref name="force"/> allows replacing what is there. A file in its place is refused.
    /// </summary>
    public static void Output(string dir, bool force, string option = "--out")
    {
        if (File.Exists(dir))
        {
            throw new XModException($"{option} {dir} is a file; give a directory");
        }
        if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any() && !force)
        {
            throw new XModException($"{option} {dir} already exists and is not empty; give --force to replace it, or choose another {option}");
        }
    }

    /// <summary>A package id that publish accepts.</summary>
    public static string PackageId(string id, string what)
    {
        if (!PackageIds.IsValid(id))
        {
            throw new XModException($"{what} would be published as '{id}', which is not a valid package id (letters, digits, '.', '-', '_'; at most {PackageIds.MaxLength} characters)");
        }
        return id;
    }
}
