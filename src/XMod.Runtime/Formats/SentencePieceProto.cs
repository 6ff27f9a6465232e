using System.Buffers.Binary;
using System.Text;

namespace XMod.Runtime.Formats;

/// <summary>SentencePiece's piece types (sentencepiece_model.proto).</summary>
public enum PieceType
{
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
}

public sealed record ModelPiece(string Piece, float Score, PieceType Type);

/// <summary>
/// The parts of a SentencePiece ModelProto that XModHub writes or rewrites, in protobuf's wire
/// format by hand (it is small): pieces (field 1), trainer_spec (2), normalizer_spec (3).
/// Fields it does not interpret are kept as raw bytes and written back unchanged.
/// </summary>
public sealed class SentencePieceProto
{
    public List<ModelPiece> Pieces { get; } = [];

    /// <summary>TrainerSpec fields by number, each a list of raw encoded (tag + value) records.</summary>
    public List<(int Field, byte[] Record)> TrainerSpec { get; } = [];

    public List<(int Field, byte[] Record)> NormalizerSpec { get; } = [];

    /// <summary>Top-level fields other than 1-3 (self_test_data, denormalizer_spec), raw.</summary>
    public List<(int Field, byte[] Record)> Other { get; } = [];

    // trainer_spec field numbers
    public const int ModelTypeField = 3, VocabSizeField = 4, ByteFallbackField = 35, UnkIdField = 40, BosIdField = 41, EosIdField = 42, PadIdField = 43;

    // normalizer_spec field numbers
    public const int NameField = 1, CharsMapField = 2, AddDummyPrefixField = 3, RemoveExtraWhitespacesField = 4, EscapeWhitespacesField = 5;

    public static SentencePieceProto Parse(ReadOnlySpan<byte> bytes)
    {
        var proto = new SentencePieceProto();
        foreach (var (field, record, payload) in Fields(bytes))
        {
            switch (field)
            {
                case 1:
                    string? piece = null;
                    float score = 0;
                    var type = PieceType.Normal;
                    foreach (var (f, r, p) in Fields(payload))
                    {
                        switch (f)
                        {
                            case 1: piece = Encoding.UTF8.GetString(p); break;
                            case 2: score = p.Length == 4 ? BinaryPrimitives.ReadSingleLittleEndian(p) : throw new XModException("SentencePiece model: a piece's score is not a float"); break;
                            case 3: type = (PieceType)ReadVarint(p, out _); break;
                        }
                    }
                    proto.Pieces.Add(new ModelPiece(piece ?? throw new XModException("SentencePiece model: a piece has no text"), score, type));
                    break;
                case 2:
                    foreach (var (f, r, _) in Fields(payload))
                    {
                        proto.TrainerSpec.Add((f, r));
                    }
                    break;
                case 3:
                    foreach (var (f, r, _) in Fields(payload))
                    {
                        proto.NormalizerSpec.Add((f, r));
                    }
                    break;
                default:
                    proto.Other.Add((field, record));
                    break;
            }
        }
        return proto;
    }

    public byte[] ToBytes()
    {
        using var ms = new MemoryStream();
        foreach (var p in Pieces)
        {
            using var piece = new MemoryStream();
            WriteBytes(piece, 1, Encoding.UTF8.GetBytes(p.Piece));
            WriteTag(piece, 2, 5);
            var score = new byte[4];
            BinaryPrimitives.WriteSingleLittleEndian(score, p.Score);
            piece.Write(score);
            WriteVarintField(piece, 3, (long)p.Type);
            WriteBytes(ms, 1, piece.ToArray());
        }
        WriteBytes(ms, 2, TrainerSpec.SelectMany(r => r.Record).ToArray());
        WriteBytes(ms, 3, NormalizerSpec.SelectMany(r => r.Record).ToArray());
        foreach (var (_, record) in Other)
        {
            ms.Write(record);
        }
        return ms.ToArray();
    }

    /// <summary>The payload of a length-delimited normalizer_spec field (the charsmap), or null.</summary>
    public byte[]? NormalizerBytes(int field) =>
        NormalizerSpec.Where(r => r.Field == field).Select(r => Fields(r.Record)[0].Payload).LastOrDefault();

    /// <summary>Sets a varint field of trainer_spec (replacing any earlier value).</summary>
    public void SetTrainer(int field, long value) => Set(TrainerSpec, field, Varint(field, value));

    public void SetNormalizer(int field, long value) => Set(NormalizerSpec, field, Varint(field, value));

    public void SetNormalizer(int field, byte[] value) => Set(NormalizerSpec, field, LengthDelimited(field, value));

    private static void Set(List<(int Field, byte[] Record)> fields, int field, byte[] record)
    {
        fields.RemoveAll(r => r.Field == field);
        fields.Add((field, record));
    }

    public static byte[] Varint(int field, long value)
    {
        using var ms = new MemoryStream();
        WriteVarintField(ms, field, value);
        return ms.ToArray();
    }

    public static byte[] LengthDelimited(int field, byte[] value)
    {
        using var ms = new MemoryStream();
        WriteBytes(ms, field, value);
        return ms.ToArray();
    }

    private static void WriteTag(Stream s, int field, int wire) => WriteVarint(s, (ulong)((field << 3) | wire));

    private static void WriteVarintField(Stream s, int field, long value)
    {
        WriteTag(s, field, 0);
        WriteVarint(s, unchecked((ulong)value)); // negative int32 values take ten bytes, as protobuf writes them
    }

    private static void WriteBytes(Stream s, int field, byte[] value)
    {
        WriteTag(s, field, 2);
        WriteVarint(s, (ulong)value.Length);
        s.Write(value);
    }

    private static void WriteVarint(Stream s, ulong v)
    {
        while (v >= 0x80)
        {
            s.WriteByte((byte)(v | 0x80));
            v >>= 7;
        }
        s.WriteByte((byte)v);
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> b, out int length)
    {
        ulong v = 0;
        for (var i = 0; i < 10; i++)
        {
            if (i >= b.Length)
            {
                break;
            }
            v |= (ulong)(b[i] & 0x7f) << (7 * i);
            if ((b[i] & 0x80) == 0)
            {
                length = i + 1;
                return v;
            }
        }
        throw new XModException("SentencePiece model: malformed protobuf varint");
    }

    /// <summary>Each field of a message: number, the whole record (tag included), the payload.</summary>
    private static List<(int Field, byte[] Record, byte[] Payload)> Fields(ReadOnlySpan<byte> b)
    {
        var result = new List<(int, byte[], byte[])>();
        var at = 0;
        while (at < b.Length)
        {
            var start = at;
            var tag = ReadVarint(b[at..], out var n);
            at += n;
            var field = (int)(tag >> 3);
            int payloadStart, payloadLength;
            switch ((int)(tag & 7))
            {
                case 0: ReadVarint(b[at..], out n); payloadStart = at; payloadLength = n; break;
                case 1: payloadStart = at; payloadLength = 8; break;
                case 5: payloadStart = at; payloadLength = 4; break;
                case 2:
                    var len = ReadVarint(b[at..], out n);
                    payloadStart = at + n;
                    payloadLength = len <= int.MaxValue ? (int)len : -1;
                    break;
                default: throw new XModException($"SentencePiece model: unsupported protobuf wire type {tag & 7}");
            }
            if (payloadLength < 0 || payloadStart + (long)payloadLength > b.Length)
            {
                throw new XModException("SentencePiece model: a protobuf field runs past the end");
            }
            at = payloadStart + payloadLength;
            result.Add((field, b[start..at].ToArray(), b.Slice(payloadStart, payloadLength).ToArray()));
        }
        return result;
    }
}
