using System.Buffers.Binary;

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

/// <summary>
/// CRC-32 (IEEE, as zip uses it), to check every entry against its central directory. Slicing-by-8
/// (eight tables, eight bytes a step): about 2.7x the byte-at-a-time loop, which ran as slow as the
/// SHA-256 beside it (355 MB/s here) on a 1 GB package.
/// </summary>
public static class Crc32
{
    private static readonly uint[] s_table = Tables();

    private static uint[] Tables()
    {
        var t = new uint[8 * 256];
        for (uint n = 0; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }
            t[n] = c;
        }
        for (var n = 0; n < 256; n++)
        {
            for (var s = 1; s < 8; s++)
            {
                var prev = t[(s - 1) * 256 + n];
                t[s * 256 + n] = (prev >> 8) ^ t[prev & 0xFF];
            }
        }
        return t;
    }

    /// <summary>Continues a CRC: start with 0, feed every block, the result is the zip CRC.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        var c = ~crc;
        var t = s_table;
        var i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            var lo = BinaryPrimitives.ReadUInt32LittleEndian(data[i..]) ^ c;
            var hi = BinaryPrimitives.ReadUInt32LittleEndian(data[(i + 4)..]);
            c = t[(7 * 256) + (lo & 0xFF)] ^ t[(6 * 256) + ((lo >> 8) & 0xFF)] ^ t[(5 * 256) + ((lo >> 16) & 0xFF)] ^ t[(4 * 256) + (lo >> 24)]
                ^ t[(3 * 256) + (hi & 0xFF)] ^ t[(2 * 256) + ((hi >> 8) & 0xFF)] ^ t[256 + ((hi >> 16) & 0xFF)] ^ t[hi >> 24];
        }
        for (; i < data.Length; i++)
        {
            c = t[(c ^ data[i]) & 0xFF] ^ (c >> 8);
        }
        return ~c;
    }
}
