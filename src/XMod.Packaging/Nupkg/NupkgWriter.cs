using System.IO.Compression;
using System.Security;
using System.Text;
using XMod.Packaging.Manifests;

namespace XMod.Packaging.Nupkg;

/// <summary>
/// Packs a package directory (with its xmod.json) into a .nupkg: a zip holding the .nuspec at the
/// root (package type XModTrunk / XModLanguage / XModTask), the OPC parts NuGet clients expect,
/// and the directory's files under xmod/. Entry order and timestamps are fixed, so the same
/// directory always packs to the same bytes.
/// </summary>
public static class NupkgWriter
{
    public const string ContentRoot = "xmod/";
    private static readonly DateTimeOffset s_timestamp = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static string Pack(string dir, string outputDir, string? authors = null)
    {
        var manifest = PackageManifest.Load(dir);
        manifest.Verify(dir);
        var id = PackageIds.NuGetId(manifest);
        PackageIds.Check(id, "package id");
        var version = NuGet.Versioning.NuGetVersion.TryParse(manifest.Version, out var v) ? v.ToNormalizedString()
            : throw new PackagingException($"{dir}: version '{manifest.Version}' is not SemVer");
        Directory.CreateDirectory(outputDir);
        var path = Path.Combine(outputDir, $"{id}.{version}.nupkg".ToLowerInvariant());
        AtomicFile.Write(path, stream =>
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            Add(zip, $"{id}.nuspec", Encoding.UTF8.GetBytes(Nuspec(manifest, id, version, authors)));
            Add(zip, "[Content_Types].xml", Encoding.UTF8.GetBytes(
                """<?xml version="1.0" encoding="utf-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml" /><Default Extension="nuspec" ContentType="application/octet" /><Default Extension="json" ContentType="application/octet" /><Default Extension="safetensors" ContentType="application/octet" /><Default Extension="model" ContentType="application/octet" /><Default Extension="md" ContentType="application/octet" /></Types>"""));
            Add(zip, "_rels/.rels", Encoding.UTF8.GetBytes(
                $"""<?xml version="1.0" encoding="utf-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Type="http://schemas.microsoft.com/packaging/2010/07/manifest" Target="/{id}.nuspec" Id="R1" /></Relationships>"""));
            Add(zip, ContentRoot + PackageManifest.FileName, File.ReadAllBytes(Path.Combine(dir, PackageManifest.FileName)));
            foreach (var f in manifest.Files)
            {
                // Weights are stored, not deflated: trained floats gain a few percent at most, and
                // deflating and inflating a 1 GB trunk costs more than its packing, pushing and
                // checking together; text files (cards, vocabularies) still compress.
                var entry = zip.CreateEntry(ContentRoot + f.Path,
                    f.Path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) ? CompressionLevel.NoCompression : CompressionLevel.Fastest);
                entry.LastWriteTime = s_timestamp;
                using var target = entry.Open();
                using var source = File.OpenRead(Path.Combine(dir, f.Path));
                source.CopyTo(target);
            }
        });
        return path;
    }

    private static void Add(ZipArchive zip, string name, byte[] data)
    {
        var entry = zip.CreateEntry(name, CompressionLevel.Optimal);
        entry.LastWriteTime = s_timestamp;
        using var s = entry.Open();
        s.Write(data);
    }

    /// <summary>The card's SPDX license as NuGet's license expression, so NuGet clients and feeds show it too.</summary>
    private static string License(PackageManifest m) =>
        m.Card?.License is { Length: > 0 } license ? $"\n    <license type=\"expression\">{SecurityElement.Escape(license)}</license>" : "";

    private static string Nuspec(PackageManifest m, string id, string version, string? authors)
    {
        static string X(string s) => SecurityElement.Escape(s) ?? "";
        var tags = new List<string> { "xmod", m.Kind.ToString().ToLowerInvariant() };
        if (m.Language is { } l)
        {
            tags.AddRange([l.Code, l.Bcp47, l.Iso6393, l.Script]);
        }
        if (m.Trunk is { } t)
        {
            tags.Add("trunk:" + t.Id);
        }
        var description = m.Description.Length > 0 ? m.Description : $"{m.Kind} package {id}";
        return $"""
            <?xml version="1.0" encoding="utf-8"?>
            <package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
              <metadata>
                <id>{X(id)}</id>
                <version>{X(version)}</version>
                <authors>{X(authors ?? Environment.UserName)}</authors>
                <description>{X(description)}</description>
                <tags>{X(string.Join(' ', tags.Distinct()))}</tags>{License(m)}
                <packageTypes>
                  <packageType name="{PackageIds.PackageTypeOf(m.Kind)}" />
                </packageTypes>
              </metadata>
            </package>
            """;
    }
}
