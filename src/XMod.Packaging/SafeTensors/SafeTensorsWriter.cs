using System.Text.Json;

namespace XMod.Packaging.SafeTensors;

/// <summary>One tensor to write: its bytes are produced by a callback when the file is written.</summary>
public sealed record TensorEntry(string Name, SafeTensorsDType DType, long[] Shape, Action<Stream> WriteData)
{
    public long ByteLength => Shape.Aggregate(1L, (a, b) => a * b) * DType.Size();

    public static TensorEntry FromBytes(string name, SafeTensorsDType dtype, long[] shape, byte[] data) =>
        new(name, dtype, shape, s => s.Write(data));
}

/// <summary>Writes safetensors files atomically (temp file + rename), tensors in the order given.</summary>
public static class SafeTensorsWriter
{
    public static void Write(string path, IReadOnlyList<TensorEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in tensors)
        {
            if (t.Name == "__metadata__" || !names.Add(t.Name))
            {
                throw new PackagingException($"tensor name '{t.Name}' is duplicated or reserved");
            }
        }
        var header = BuildHeader(tensors, metadata);
        AtomicFile.Write(path, stream =>
        {
            stream.Write(BitConverter.GetBytes((ulong)header.Length));
            stream.Write(header);
            foreach (var t in tensors)
            {
                var before = stream.Position;
                t.WriteData(stream);
                if (stream.Position - before != t.ByteLength)
                {
                    throw new PackagingException($"tensor '{t.Name}' wrote {stream.Position - before} bytes, its shape needs {t.ByteLength}");
                }
            }
        });
    }

    private static byte[] BuildHeader(IReadOnlyList<TensorEntry> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    w.WriteString(k, v);
                }
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var t in tensors)
            {
                w.WriteStartObject(t.Name);
                w.WriteString("dtype", t.DType.ToString());
                w.WriteStartArray("shape");
                foreach (var d in t.Shape)
                {
                    w.WriteNumberValue(d);
                }
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + t.ByteLength);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += t.ByteLength;
            }
            w.WriteEndObject();
        }
        // Pad with spaces to 8 bytes so the data area starts aligned (as the reference writer does).
        var json = ms.ToArray();
        var padded = (json.Length + 7) / 8 * 8;
        var header = new byte[padded];
        json.CopyTo(header, 0);
        Array.Fill(header, (byte)' ', json.Length, padded - json.Length);
        return header;
    }
}
