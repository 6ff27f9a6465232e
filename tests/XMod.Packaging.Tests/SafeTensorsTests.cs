using System.Text;
using XMod.Packaging.SafeTensors;

namespace XMod.Packaging.Tests;

/// <summary>The safetensors reader and writer: a byte-exact round trip, and hostile headers refused with the reason.</summary>
public sealed class SafeTensorsTests : IDisposable
{
    private readonly TempDir _dir = new("xmod-safetensors-");

    public void Dispose() => _dir.Dispose();

    private static byte[] Floats(params float[] values) => [.. values.SelectMany(BitConverter.GetBytes)];

    private string WriteSample(string name = "sample.safetensors")
    {
        var path = _dir[name];
        SafeTensorsWriter.Write(path, [
            TensorEntry.FromBytes("a.weight", SafeTensorsDType.F32, [2, 3], Floats(1, 2, 3, 4, 5, 6)),
            TensorEntry.FromBytes("b.bias", SafeTensorsDType.F32, [3], Floats(-1, 0, 1)),
            TensorEntry.FromBytes("empty", SafeTensorsDType.F32, [0, 4], []),
        ], new Dictionary<string, string> { ["format"] = "pt", ["z"] = "last" });
        return path;
    }

    [Fact]
    public void RoundTripKeepsNamesShapesBytesAndMetadata()
    {
        using var file = SafeTensorsFile.Open(WriteSample());
        Assert.Equal(["a.weight", "b.bias", "empty"], file.Names.Order(StringComparer.Ordinal));
        Assert.Equal([2L, 3L], file.Info("a.weight").Shape);
        Assert.Equal(SafeTensorsDType.F32, file.Info("b.bias").DType);
        Assert.Equal(Floats(1, 2, 3, 4, 5, 6), file.Data("a.weight").ToArray());
        Assert.Equal(Floats(-1, 0, 1), file.Data("b.bias").ToArray());
        Assert.Equal(0, file.Data("empty").Length);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal("last", file.Metadata["z"]);
    }

    [Fact]
    public void TheDataAreaStartsAlignedToEightBytes()
    {
        var bytes = File.ReadAllBytes(WriteSample());
        var headerLength = BitConverter.ToUInt64(bytes, 0);
        Assert.Equal(0UL, (8 + headerLength) % 8);
    }

    [Fact]
    public void WritingTheSameTensorsTwiceGivesTheSameBytes() =>
        Assert.Equal(File.ReadAllBytes(WriteSample("one.safetensors")), File.ReadAllBytes(WriteSample("two.safetensors")));

    [Fact]
    public void TheWriterRefusesDuplicateOrReservedNamesAndShortData()
    {
        var dup = Assert.Throws<PackagingException>(() => SafeTensorsWriter.Write(_dir["d.safetensors"], [
            TensorEntry.FromBytes("x", SafeTensorsDType.F32, [1], Floats(1)), TensorEntry.FromBytes("x", SafeTensorsDType.F32, [1], Floats(2))]));
        Assert.Contains("tensor name 'x' is duplicated or reserved", dup.Message);
        Assert.Throws<PackagingException>(() => SafeTensorsWriter.Write(_dir["m.safetensors"], [TensorEntry.FromBytes("__metadata__", SafeTensorsDType.F32, [1], Floats(1))]));
        var shortData = Assert.ThrowsAny<Exception>(() => SafeTensorsWriter.Write(_dir["s.safetensors"], [TensorEntry.FromBytes("y", SafeTensorsDType.F32, [4], Floats(1))]));
        Assert.Contains("'y'", shortData.Message);
        // Writes are atomic: a refused write leaves no file behind.
        Assert.False(File.Exists(_dir["s.safetensors"]));
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    /// <summary>A file with the given JSON header (length field computed unless overridden) and data area.</summary>
    private string Hostile(string header, byte[]? data = null, ulong? length = null)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var path = _dir[$"hostile-{Guid.NewGuid():N}.safetensors"];
        File.WriteAllBytes(path, [.. BitConverter.GetBytes(length ?? (ulong)h.Length), .. h, .. data ?? []]);
        return path;
    }

    public static TheoryData<string, string, int, ulong?, string> HostileHeaders => new()
    {
        { "cap", "{}", 0, 200_000_000UL, "exceeds the 100000000-byte cap" },
        { "past-end", "{}", 0, 5000UL, "runs past the end of the" },
        { "not-json", "{ nope", 0, null, "header is not valid JSON" },
        { "not-object", "[1, 2]", 0, null, "header must be a JSON object" },
        { "metadata-not-strings", """{"__metadata__": {"a": 1}}""", 0, null, "__metadata__ value 'a' is not a string" },
        { "missing-fields", """{"t": {"dtype": "F32"}}""", 0, null, "needs dtype, shape and data_offsets" },
        { "unknown-dtype", """{"t": {"dtype": "F128", "shape": [1], "data_offsets": [0, 4]}}""", 4, null, "unknown dtype 'F128'" },
        { "negative-dim", """{"t": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}""", 4, null, "invalid dimension" },
        { "overflowing-shape", """{"t": {"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 4]}}""", 4, null, "more elements than a file can hold" },
        { "bytes-do-not-hold-shape", """{"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}""", 4, null, "do not hold shape [2]" },
        { "end-before-begin", """{"t": {"dtype": "F32", "shape": [0], "data_offsets": [4, 0]}}""", 4, null, "invalid end offset" },
        { "overlap", """{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}""", 8, null, "overlaps the tensor before it" },
        { "gap", """{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}""", 8, null, "gap of 4 bytes before tensor 'a'" },
        { "data-past-end", """{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}""", 8, null, "tensor data runs past the end of the file" },
        { "trailing-bytes", """{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}""", 8, null, "4 bytes after the last tensor" },
    };

    [Theory]
    [MemberData(nameof(HostileHeaders))]
    public void HostileHeadersAreRefusedWithTheReason(string name, string header, int dataBytes, ulong? length, string expected)
    {
        var path = Hostile(header, new byte[dataBytes], length);
        var e = Assert.Throws<PackagingException>(() => SafeTensorsFile.Open(path).Dispose());
        Assert.True(e.Message.Contains(expected, StringComparison.Ordinal), $"{name}: {e.Message}");
    }

    [Fact]
    public void TooShortAndMissingFilesAreRefused()
    {
        var tiny = _dir["tiny.safetensors"];
        File.WriteAllBytes(tiny, [1, 2, 3]);
        Assert.Contains("too short for a safetensors file", Assert.Throws<PackagingException>(() => SafeTensorsFile.Open(tiny)).Message);
        Assert.Contains("does not exist", Assert.Throws<PackagingException>(() => SafeTensorsFile.Open(_dir["none.safetensors"])).Message);
    }

    [Fact]
    public void ADisposedFileRefusesReads()
    {
        var file = SafeTensorsFile.Open(WriteSample());
        file.Dispose();
        file.Dispose(); // idempotent
        Assert.Throws<ObjectDisposedException>(() => file.DataPointer("a.weight"));
    }
}
