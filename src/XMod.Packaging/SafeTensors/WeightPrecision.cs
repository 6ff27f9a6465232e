using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace XMod.Packaging.SafeTensors;

/// <summary>
/// The precision package weights are stored in: float32 (the default), or bfloat16 / float16,
/// which halve what users download. The runtime upcasts half-precision weights to float32 when
/// it loads them, so every op runs in float32 either way.
/// </summary>
public static class WeightPrecision
{
    public const string Float32 = "f32";
    public const string BFloat16 = "bf16";
    public const string Float16 = "f16";

    /// <summary>The manifest's spelling of a precision given by a user ("bf16", "f16", "f32"; also "bfloat16", "float16", "float32").</summary>
    public static string Parse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "f32" or "fp32" or "float32" => Float32,
        "bf16" or "bfloat16" => BFloat16,
        "f16" or "fp16" or "float16" or "half" => Float16,
        _ => throw new PackagingException($"weight dtype '{text}' is not one of f32, bf16, f16"),
    };

    public static SafeTensorsDType StorageType(string precision) => Parse(precision) switch
    {
        BFloat16 => SafeTensorsDType.BF16,
        Float16 => SafeTensorsDType.F16,
        _ => SafeTensorsDType.F32,
    };

    /// <summary>
    /// Writes <paramref name="source"/> to <paramref name="target"/> (atomically) with every F32
    /// tensor stored in <paramref name="precision"/>, rounded to nearest even; other dtypes and the
    /// metadata are kept. A float16 overflow (a finite value beyond 65504) is refused by name.
    /// </summary>
    public static void Convert(string source, string target, string precision)
    {
        var to = StorageType(precision);
        using var file = SafeTensorsFile.Open(source);
        var entries = file.Tensors.Select(info =>
        {
            if (info.DType != SafeTensorsDType.F32 || to == SafeTensorsDType.F32)
            {
                return new TensorEntry(info.Name, info.DType, info.Shape, s => s.Write(file.Data(info.Name)));
            }
            return new TensorEntry(info.Name, to, info.Shape, s => WriteConverted(file, info, to, s));
        }).ToList();
        SafeTensorsWriter.Write(target, entries, file.Metadata);
    }

    private static void WriteConverted(SafeTensorsFile file, TensorInfo info, SafeTensorsDType to, Stream stream)
    {
        var data = file.Data(info.Name);
        var buffer = new byte[1 << 16];
        for (var at = 0; at < data.Length;)
        {
            var n = Math.Min(data.Length - at, buffer.Length * 2);
            var floats = MemoryMarshal.Cast<byte, float>(data.Slice(at, n));
            for (var i = 0; i < floats.Length; i++)
            {
                var bits = to == SafeTensorsDType.BF16 ? ToBFloat16(floats[i]) : ToFloat16(floats[i], info.Name);
                BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(i * 2), bits);
            }
            stream.Write(buffer, 0, floats.Length * 2);
            at += n;
        }
    }

    /// <summary>float32 -> bfloat16 bits, round to nearest even (NaN stays NaN), as PyTorch rounds.</summary>
    public static ushort ToBFloat16(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x0040); // a quiet NaN of the same sign
        }
        var rounding = 0x7FFFu + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    public static float FromBFloat16(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    private static ushort ToFloat16(float value, string tensor)
    {
        var half = (Half)value;
        if (Half.IsInfinity(half) && float.IsFinite(value))
        {
            throw new PackagingException($"tensor '{tensor}' holds {value}, beyond float16's range (±65504): store it as bf16 instead");
        }
        return BitConverter.HalfToUInt16Bits(half);
    }
}
