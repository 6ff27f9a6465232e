namespace XMod.Packaging.Nupkg;

/// <summary>
/// Paths that come from a package (zip entry names, manifest file paths) are hostile: each is
/// checked to be a plain relative path, and every join with a folder is proven to stay under it.
/// </summary>
public static class PackagePaths
{
    /// <summary>
    /// True for a/b/c: no empty, '.' or '..' segment (so no leading '/', no '//'), no '\', ':' or
    /// control character; a trailing '/' (a zip directory entry) is allowed when <paramref name="directory"/> is.
    /// </summary>
    public static bool IsSafeRelative(string? path, bool directory = false)
    {
        if (string.IsNullOrEmpty(path))
        {
            return false;
        }
        if (directory && path.EndsWith('/'))
        {
            path = path[..^1];
        }
        return path.Length > 0 && !path.Any(c => c is '\\' or ':' || char.IsControl(c))
            && path.Split('/').All(s => s.Length > 0 && s is not "." and not "..");
    }

    /// <summary>root + a relative package path, refused unless it is a safe relative path that stays under root.</summary>
    public static string Combine(string root, string relative)
    {
        if (!IsSafeRelative(relative))
        {
            throw new PackagingException($"'{relative}' is not a relative path inside the package (absolute, empty segment, '.', '..', '\\' or ':'); nothing was written");
        }
        var fullRoot = Path.GetFullPath(root).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        var full = Path.GetFullPath(Path.Combine(fullRoot, relative));
        if (!full.StartsWith(fullRoot, StringComparison.Ordinal))
        {
            throw new PackagingException($"'{relative}' leaves the folder it belongs in; nothing was written");
        }
        return full;
    }
}

/// <summary>CRC-32 (IEEE, as zip uses it), to check every entry against its central directory.</summary>
public static class Crc32
{
    private static readonly uint[] s_table = Enumerable.Range(0, 256).Select(n =>
    {
        var c = (uint)n;
        for (var k = 0; k < 8; k++)
        {
            c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        return c;
    }).ToArray();

    /// <summary>Continues a CRC: start with 0, feed every block, the result is the zip CRC.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        var c = ~crc;
        var table = s_table;
        foreach (var b in data)
        {
            c = table[(c ^ b) & 0xFF] ^ (c >> 8);
        }
        return ~c;
    }
}
