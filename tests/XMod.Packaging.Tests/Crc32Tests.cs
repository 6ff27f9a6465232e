using System.IO.Compression;
using XMod.Packaging.Nupkg;

namespace XMod.Packaging.Tests;

/// <summary>The slicing-by-8 CRC-32 that checks every zip entry: the standard check value, and zip's own CRCs at every length and split.</summary>
public sealed class Crc32Tests
{
    [Fact]
    public void TheCheckValueOfTheStandardIsMet() =>
        Assert.Equal(0xCBF43926u, Crc32.Append(0, "123456789"u8));

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(1_000_003)]
    public void EqualsTheCrcZipWritesWhateverTheLengthAndHoweverTheDataIsSplit(int length)
    {
        var data = new byte[length];
        new Random(length).NextBytes(data);
        using var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        using (var s = zip.CreateEntry("x", CompressionLevel.NoCompression).Open())
        {
            s.Write(data);
        }
        ms.Position = 0;
        using var read = new ZipArchive(ms, ZipArchiveMode.Read);
        var expected = read.Entries[0].Crc32;

        Assert.Equal(expected, Crc32.Append(0, data));
        // Fed in uneven pieces (not multiples of 8), as a stream delivers it.
        uint crc = 0;
        for (var i = 0; i < length; i += 13 + i % 5)
        {
            crc = Crc32.Append(crc, data.AsSpan(i, Math.Min(13 + i % 5, length - i)));
        }
        Assert.Equal(expected, crc);
    }
}
