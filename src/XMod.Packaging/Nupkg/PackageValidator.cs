using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml;
using System.Xml.Linq;
using NuGet.Versioning;
using XMod.Packaging.Checkpoints;
using XMod.Packaging.Manifests;
using XMod.Packaging.SafeTensors;

namespace XMod.Packaging.Nupkg;

/// <summary>
/// Limits a pushed package must respect. The defaults fit xmod-large's trunk (pre-norm, 24 x 1024,
/// vocabulary 250,002: 560,193,682 float32 parameters, 2.24 GB; README "Packages of real size") with room to
/// spare; a hub raises them with Hub:MaxPackageBytes and Hub:MaxExpandedBytes.
/// </summary>
public sealed record PackageLimits
{
    public long MaxPackageBytes { get; init; } = 3L << 30;
    public long MaxExpandedBytes { get; init; } = 4L << 30;
    public int MaxEntries { get; init; } = 1000;
    public long MaxSafeTensorsHeaderBytes { get; init; } = SafeTensorsFile.MaxHeaderBytes;
    /// <summary>An entry may inflate to at most this many times its compressed size (a zip bomb inflates thousands of times).</summary>
    public int MaxExpansionRatio { get; init; } = 100;
    /// <summary>Entries below this size are not held to the ratio (tiny text files compress well).</summary>
    public long RatioExemptBytes { get; init; } = 1 << 20;
    /// <summary>xmod.json is read into memory and kept in the hub's index for every version: it stays small.</summary>
    public long MaxManifestBytes { get; init; } = 256 << 10;
}

/// <summary>A package that passed every check.</summary>
public sealed record ValidatedPackage(
    string Id, NuGetVersion Version, PackageKind Kind, PackageManifest Manifest, string Description, string Authors,
    IReadOnlyList<string> Tags, XModConfig? TrunkConfig, long Size, string Sha256);

/// <summary>The one reason a package was refused (the hub answers 400 with it).</summary>
public sealed class PackageValidationException(string message) : XModException(message);

/// <summary>
/// Checks a pushed .nupkg completely before anything is stored: a well-formed zip without path
/// traversal within size and expanded-size limits; a nuspec with id, SemVer version and an XMod
/// package type; an xmod.json that follows the schema and agrees with the nuspec; every file's
/// sha256; safetensors headers (length cap, offsets in bounds, no overlap, known dtypes); and tensor
/// names and shapes consistent with the declared trunk's config.
/// </summary>
public static partial class PackageValidator
{
    /// <param name="trunkConfig">Finds the config of a trunk the hub has (by id and weights sha256), or null.</param>
    /// <param name="knownSha256">The whole file's sha256 when the caller computed it while writing the file (a hub receiving a push,
    /// a client downloading): the package is then read once, entry by entry, instead of twice.</param>
    public static ValidatedPackage Validate(Stream nupkg, PackageLimits limits, Func<TrunkReference, XModConfig?> trunkConfig, string? knownSha256 = null)
    {
        var size = nupkg.Length;
        if (size > limits.MaxPackageBytes)
        {
            Fail($"the package is {size:N0} bytes; the limit is {limits.MaxPackageBytes:N0}");
        }
        nupkg.Position = 0;
        var sha = knownSha256 ?? Convert.ToHexStringLower(SHA256.HashData(nupkg));
        nupkg.Position = 0;
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(nupkg, ZipArchiveMode.Read, leaveOpen: true);
            _ = zip.Entries.Count; // reads the central directory here, where a non-zip is caught
        }
        catch (InvalidDataException)
        {
            throw new PackageValidationException("the package is not a valid zip archive (.nupkg)");
        }
        using (zip)
        {
            try
            {
                return ValidateArchive(zip, limits, trunkConfig, size, sha);
            }
            catch (Exception e) when (e is InvalidDataException or NotSupportedException or IOException or OverflowException or FormatException
                or ArgumentException or InvalidOperationException or JsonException or KeyNotFoundException or IndexOutOfRangeException)
            {
                // A damaged archive or a value of the wrong shape deep inside: still one line naming it, never a crash.
                throw new PackageValidationException($"the package is malformed: {e.Message}");
            }
        }
    }

    private static ValidatedPackage ValidateArchive(ZipArchive zip, PackageLimits limits, Func<TrunkReference, XModConfig?> trunkConfig, long size, string sha)
    {
        {
            var (entries, hashes) = CheckEntries(zip, limits);
            var (id, version, description, authors, tags, packageType) = ReadNuspec(entries);
            var manifest = ReadManifest(entries, limits);
            var kind = PackageIds.KindOfPackageType(packageType)
                ?? throw new PackageValidationException($"package type '{packageType}' is not one of XModTrunk, XModLanguage, XModTask");
            CheckManifest(manifest, kind, id, version);
            CheckFiles(manifest, entries, hashes, limits);
            XModConfig? config = null;
            if (kind == PackageKind.Trunk)
            {
                config = CheckTrunk(entries);
            }
            else
            {
                config = trunkConfig(manifest.Trunk!)
                    ?? throw new PackageValidationException($"trunk '{manifest.Trunk!.Id}' with weights sha256 {manifest.Trunk.Sha256} is not on this hub: publish the trunk first");
                if (kind == PackageKind.Language)
                {
                    CheckLanguageTensors(manifest, entries, config);
                }
            }
            return new ValidatedPackage(id, version, kind, manifest, description, authors, tags, kind == PackageKind.Trunk ? config : null, size, sha);
        }
    }

    /// <summary>
    /// Every entry: a safe relative name, once; within the size and expansion-ratio caps; read to
    /// its end exactly once, so its length and CRC are proven against the central directory (an
    /// entry that inflates beyond what it declares is a bomb) and files under xmod/ are hashed.
    /// </summary>
    private static (Dictionary<string, ZipArchiveEntry> Entries, Dictionary<string, (string Sha256, long Size)> Hashes) CheckEntries(ZipArchive zip, PackageLimits limits)
    {
        if (zip.Entries.Count > limits.MaxEntries)
        {
            Fail($"the package has {zip.Entries.Count} entries; the limit is {limits.MaxEntries}");
        }
        var entries = new Dictionary<string, ZipArchiveEntry>(StringComparer.Ordinal);
        var hashes = new Dictionary<string, (string, long)>(StringComparer.Ordinal);
        long expanded = 0;
        foreach (var e in zip.Entries)
        {
            var name = e.FullName;
            if (!PackagePaths.IsSafeRelative(name, directory: true))
            {
                Fail($"entry '{name}' has an unsafe path (absolute, empty segment, '..', '.', '\\' or ':')");
            }
            if (!entries.TryAdd(name, e))
            {
                Fail($"entry '{name}' appears twice");
            }
            expanded += e.Length;
            if (expanded > limits.MaxExpandedBytes)
            {
                Fail($"the package expands to more than {limits.MaxExpandedBytes:N0} bytes");
            }
            if (e.Length > limits.RatioExemptBytes && e.Length > (double)limits.MaxExpansionRatio * Math.Max(1, e.CompressedLength))
            {
                Fail($"entry '{name}' expands {e.Length / (double)Math.Max(1, e.CompressedLength):F0}:1; the expansion ratio is capped at {limits.MaxExpansionRatio}:1 (a zip bomb?)");
            }
            var hashed = ReadEntry(e, name.StartsWith(NupkgWriter.ContentRoot, StringComparison.Ordinal));
            if (hashed is { } h)
            {
                hashes[name] = h;
            }
        }
        return (entries, hashes);
    }

    /// <summary>Reads an entry to its end (never past its declared length + 1 byte): checks length and CRC, returns sha256 and size when asked.</summary>
    private static (string Sha256, long Size)? ReadEntry(ZipArchiveEntry e, bool hash)
    {
        var name = e.FullName;
        using var sha = hash ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
        var buffer = new byte[1 << 20];
        long total = 0;
        uint crc = 0;
        try
        {
            using var s = e.Open();
            int n;
            while ((n = s.Read(buffer, 0, (int)Math.Min(buffer.Length, e.Length - total + 1))) > 0)
            {
                total += n;
                if (total > e.Length)
                {
                    Fail($"entry '{name}' inflates beyond the {e.Length:N0} bytes it declares (a zip bomb?)");
                }
                if (sha is not null && n >= 1 << 18)
                {
                    // Large blocks: the CRC and the sha256 on two cores at once.
                    var block = n;
                    Parallel.Invoke(() => crc = Crc32.Append(crc, buffer.AsSpan(0, block)), () => sha.AppendData(buffer, 0, block));
                }
                else
                {
                    crc = Crc32.Append(crc, buffer.AsSpan(0, n));
                    sha?.AppendData(buffer, 0, n);
                }
            }
        }
        catch (InvalidDataException x)
        {
            throw new PackageValidationException($"entry '{name}' is corrupt or uses an unsupported compression method: {x.Message}");
        }
        catch (NotSupportedException x)
        {
            throw new PackageValidationException($"entry '{name}' uses an unsupported compression method (deflate or stored only): {x.Message}");
        }
        if (total != e.Length)
        {
            Fail($"entry '{name}' holds {total:N0} bytes but declares {e.Length:N0} (corrupt)");
        }
        if (crc != e.Crc32)
        {
            Fail($"entry '{name}' fails its CRC check (corrupt)");
        }
        return sha is null ? null : (Convert.ToHexStringLower(sha.GetHashAndReset()), total);
    }

    private static (string Id, NuGetVersion Version, string Description, string Authors, IReadOnlyList<string> Tags, string PackageType) ReadNuspec(
        Dictionary<string, ZipArchiveEntry> entries)
    {
        var nuspecs = entries.Keys.Where(n => !n.Contains('/') && n.EndsWith(".nuspec", StringComparison.OrdinalIgnoreCase)).ToList();
        if (nuspecs.Count != 1)
        {
            Fail(nuspecs.Count == 0 ? "the package has no .nuspec at its root" : "the package has more than one .nuspec");
        }
        XDocument doc;
        try
        {
            using var s = entries[nuspecs[0]].Open();
            using var reader = XmlReader.Create(s, new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, MaxCharactersInDocument = 1_000_000 });
            doc = XDocument.Load(reader);
        }
        catch (XmlException e)
        {
            throw new PackageValidationException($"the nuspec is not valid XML: {e.Message}");
        }
        var metadata = doc.Root?.Elements().FirstOrDefault(e => e.Name.LocalName == "metadata")
            ?? throw new PackageValidationException("the nuspec has no <metadata>");
        string? Field(string name) => metadata.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value.Trim();
        var id = Field("id") ?? throw new PackageValidationException("the nuspec has no <id>");
        if (!PackageIds.IsValid(id))
        {
            Fail($"nuspec id '{id}' is not a valid package id");
        }
        if (!NuGetVersion.TryParse(Field("version"), out var version))
        {
            Fail($"nuspec version '{Field("version")}' is not a SemVer version");
        }
        var types = metadata.Elements().Where(e => e.Name.LocalName == "packageTypes").Elements().Select(e => e.Attribute("name")?.Value ?? "").ToList();
        if (types.Count != 1)
        {
            Fail("the nuspec must declare exactly one package type (XModTrunk, XModLanguage or XModTask)");
        }
        var tags = (Field("tags") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return (id, version!, Field("description") ?? "", Field("authors") ?? "", tags, types[0]);
    }

    private static PackageManifest ReadManifest(Dictionary<string, ZipArchiveEntry> entries, PackageLimits limits)
    {
        if (!entries.TryGetValue(NupkgWriter.ContentRoot + PackageManifest.FileName, out var entry))
        {
            throw new PackageValidationException($"the package has no {NupkgWriter.ContentRoot}{PackageManifest.FileName}");
        }
        if (entry.Length > limits.MaxManifestBytes)
        {
            Fail($"{PackageManifest.FileName} is larger than {limits.MaxManifestBytes / 1024} KiB ({entry.Length:N0} bytes): keep long texts in README.md");
        }
        PackageManifest m;
        try
        {
            using var s = entry.Open();
            m = JsonSerializer.Deserialize<PackageManifest>(s) ?? throw new PackageValidationException($"{PackageManifest.FileName} is empty");
        }
        catch (JsonException e)
        {
            throw new PackageValidationException($"{PackageManifest.FileName} does not follow the manifest schema: {e.Message}");
        }
        CheckPresent(m);
        return m;
    }

    /// <summary>JSON null passes the deserializer for required members and lists: each is named here instead of failing later.</summary>
    private static void CheckPresent(PackageManifest m)
    {
        if (m.MissingField() is { } missing)
        {
            Fail($"{PackageManifest.FileName}: {missing} is missing or null");
        }
    }

    private static void CheckManifest(PackageManifest m, PackageKind kind, string id, NuGetVersion version)
    {
        if (m.Schema is not (1 or 2))
        {
            Fail($"manifest schema {m.Schema} is not supported (1, or 2 for half-precision weights)");
        }
        if (m.DType is not (null or SafeTensors.WeightPrecision.Float32 or SafeTensors.WeightPrecision.BFloat16 or SafeTensors.WeightPrecision.Float16)
            || m.Schema != PackageManifest.SchemaFor(m.DType))
        {
            Fail($"manifest dtype '{m.DType ?? "f32"}' with schema {m.Schema}: the dtype is f32 (schema 1), bf16 or f16 (schema 2)");
        }
        if (m.Kind != kind)
        {
            Fail($"the manifest says {m.Kind}, the nuspec's package type says {kind}");
        }
        if (!NuGetVersion.TryParse(m.Version, out var mv) || mv != version)
        {
            Fail($"the manifest's version '{m.Version}' differs from the nuspec's {version}");
        }
        if (kind != PackageKind.Trunk)
        {
            if (m.Trunk is null || !Sha256Pattern().IsMatch(m.Trunk.Sha256 ?? "") || !PackageIds.IsValid(m.Trunk.Id ?? "") || VersionRange.TryParse(m.Trunk.VersionRange ?? "", out _) is false && m.Trunk.VersionRange != "*")
            {
                Fail("the manifest must name its trunk: id, version range and the trunk weights' sha256 (64 hex digits)");
            }
        }
        var expectedId = kind == PackageKind.Trunk ? m.Id : $"{m.Trunk!.Id}.{m.Id}";
        if (!string.Equals(expectedId, id, StringComparison.OrdinalIgnoreCase))
        {
            Fail($"the nuspec id '{id}' should be '{expectedId}' (the manifest's id{(kind == PackageKind.Trunk ? "" : ", qualified by its trunk")})");
        }
        if (kind == PackageKind.Language)
        {
            var l = m.Language ?? throw new PackageValidationException("a language package's manifest needs its language (code, bcp47, iso639_3, names, script, family)");
            if (string.IsNullOrWhiteSpace(l.Code) || !Bcp47Pattern().IsMatch(l.Bcp47 ?? "") || !Iso6393Pattern().IsMatch(l.Iso6393 ?? "")
                || !ScriptPattern().IsMatch(l.Script ?? "") || string.IsNullOrWhiteSpace(l.EnglishName) || string.IsNullOrWhiteSpace(l.Autonym)
                || string.IsNullOrWhiteSpace(l.Family))
            {
                Fail($"language '{l.Code}': code, BCP-47 tag, ISO 639-3 code (3 letters), names, ISO 15924 script (4 letters) and family are required");
            }
            if (!m.Id.StartsWith("lang-", StringComparison.Ordinal))
            {
                Fail($"a language package's id starts with lang- (got '{m.Id}')");
            }
        }
        if (kind == PackageKind.Task && m.Task is null)
        {
            Fail("a task package's manifest needs its task (kind, labels, source language)");
        }
        if (m.Card?.Problem() is { } card)
        {
            Fail($"{PackageManifest.FileName}: {card}");
        }
        foreach (var (name, value) in m.Metrics)
        {
            if (!double.IsFinite(value))
            {
                Fail($"metric '{name}' is not a finite number");
            }
        }
    }

    private static void CheckFiles(PackageManifest m, Dictionary<string, ZipArchiveEntry> entries, Dictionary<string, (string Sha256, long Size)> hashes, PackageLimits limits)
    {
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in m.Files)
        {
            if (!PackagePaths.IsSafeRelative(f.Path))
            {
                Fail($"the manifest lists '{f.Path}': file paths are relative (no leading '/', empty segment, '.', '..', '\\' or ':')");
            }
            if (!listed.Add(f.Path))
            {
                Fail($"the manifest lists {f.Path} twice");
            }
            if (!entries.TryGetValue(NupkgWriter.ContentRoot + f.Path, out var entry) || !hashes.TryGetValue(entry.FullName, out var actual))
            {
                Fail($"the manifest lists {f.Path}, which the package does not contain");
                return;
            }
            if (actual.Size != f.Size || actual.Sha256 != f.Sha256)
            {
                Fail($"{f.Path} does not match the sha256 (or size) in the manifest");
            }
            if (f.Path.EndsWith(".safetensors", StringComparison.Ordinal))
            {
                SafeTensorsHeader(entry, f.Path, limits);
            }
        }
        foreach (var name in entries.Keys.Where(n => n.StartsWith(NupkgWriter.ContentRoot, StringComparison.Ordinal) && !n.EndsWith('/')))
        {
            var rel = name[NupkgWriter.ContentRoot.Length..];
            if (rel != PackageManifest.FileName && !listed.Contains(rel))
            {
                Fail($"{rel} is in the package but not in the manifest's file list");
            }
        }
    }

    /// <summary>Validates a safetensors entry's header and returns its tensors.</summary>
    private static IReadOnlyList<TensorInfo> SafeTensorsHeader(ZipArchiveEntry entry, string path, PackageLimits limits)
    {
        using var s = entry.Open();
        var lengthBytes = new byte[8];
        if (s.ReadAtLeast(lengthBytes, 8, throwOnEndOfStream: false) < 8)
        {
            Fail($"{path}: too short for a safetensors file");
        }
        var headerLength = BitConverter.ToUInt64(lengthBytes);
        if (headerLength > (ulong)Math.Min(limits.MaxSafeTensorsHeaderBytes, SafeTensorsFile.MaxHeaderBytes))
        {
            Fail($"{path}: safetensors header length {headerLength} exceeds the cap");
        }
        if (8 + (long)headerLength > entry.Length)
        {
            Fail($"{path}: safetensors header runs past the end of the file");
        }
        var head = new byte[8 + (int)headerLength];
        lengthBytes.CopyTo(head, 0);
        s.ReadExactly(head, 8, (int)headerLength);
        try
        {
            var (tensors, _, _) = SafeTensorsFile.ParseHeader(path, head, entry.Length);
            return tensors.Values.ToList();
        }
        catch (PackagingException e)
        {
            throw new PackageValidationException(e.Message);
        }
    }

    private static XModConfig CheckTrunk(Dictionary<string, ZipArchiveEntry> entries)
    {
        if (!entries.TryGetValue(NupkgWriter.ContentRoot + "config.json", out var configEntry))
        {
            throw new PackageValidationException("a trunk package needs config.json");
        }
        XModConfig config;
        try
        {
            using var s = configEntry.Open();
            config = (JsonSerializer.Deserialize<XModConfig>(s) ?? throw new PackageValidationException("config.json is empty")).Validate();
        }
        catch (Exception e) when (e is JsonException or PackagingException)
        {
            throw new PackageValidationException($"config.json: {e.Message}");
        }
        if (!entries.TryGetValue(NupkgWriter.ContentRoot + "trunk.safetensors", out var weights))
        {
            throw new PackageValidationException("a trunk package needs trunk.safetensors");
        }
        var tensors = SafeTensorsHeader(weights, "trunk.safetensors", new PackageLimits()).ToDictionary(t => t.Name, StringComparer.Ordinal);
        CheckShapes(XModLayout.Trunk(config), tensors, "trunk.safetensors", exact: true);
        return config;
    }

    private static void CheckLanguageTensors(PackageManifest m, Dictionary<string, ZipArchiveEntry> entries, XModConfig config)
    {
        if (!entries.TryGetValue(NupkgWriter.ContentRoot + "module.safetensors", out var module))
        {
            throw new PackageValidationException("a language package needs module.safetensors");
        }
        var tensors = SafeTensorsHeader(module, "module.safetensors", new PackageLimits()).ToDictionary(t => t.Name, StringComparer.Ordinal);
        var code = m.Language!.Code;
        var expected = new List<ParameterSpec>();
        if (tensors.Keys.Any(k => XModLayout.ModuleKeyOf(k) is not null))
        {
            expected.AddRange(XModLayout.Module(config, config.SharedModule ? XModConfig.SharedModuleName : code));
        }
        if (tensors.TryGetValue(XModLayout.WordEmbeddings, out var word))
        {
            expected.AddRange(XModLayout.LanguageEmbeddings(config, word.Shape.FirstOrDefault()));
        }
        if (expected.Count == 0)
        {
            Fail($"module.safetensors holds neither modules for '{code}' nor embeddings");
        }
        CheckShapes(expected, tensors, "module.safetensors", exact: true);
    }

    private static void CheckShapes(IEnumerable<ParameterSpec> expected, Dictionary<string, TensorInfo> actual, string file, bool exact)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var spec in expected)
        {
            names.Add(spec.Name);
            if (!actual.TryGetValue(spec.Name, out var t))
            {
                Fail($"{file}: missing tensor {spec.Name} {spec.ShapeString} that the trunk's config requires");
            }
            if (!t!.Shape.SequenceEqual(spec.Shape))
            {
                Fail($"{file}: tensor {spec.Name} has shape {t.ShapeString}; the trunk's config requires {spec.ShapeString}");
            }
        }
        if (exact && actual.Keys.FirstOrDefault(k => !names.Contains(k)) is { } extra)
        {
            Fail($"{file}: tensor {extra} does not belong to this package for the trunk's config");
        }
    }

    private static void Fail(string message) => throw new PackageValidationException(message);

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256Pattern();

    [GeneratedRegex("^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
    private static partial Regex Bcp47Pattern();

    [GeneratedRegex("^[a-z]{3}$")]
    private static partial Regex Iso6393Pattern();

    [GeneratedRegex("^[A-Z][a-z]{3}$")]
    private static partial Regex ScriptPattern();
}
