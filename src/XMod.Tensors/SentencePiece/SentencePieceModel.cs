using System.Buffers;
using System.Text;
using XMod.Tensors.Interop;

namespace XMod.Tensors.SentencePiece;

/// <summary>A loaded SentencePiece model: text to piece ids and back.</summary>
/// <remarks>
/// Encoding and decoding are safe from several threads at once (SentencePiece's processor is const).
/// Owns its native processor (see <see cref="NativeObject"/> for the disposal policy).
/// </remarks>
public sealed class SentencePieceModel : NativeObject
{
    private SentencePieceModel(IntPtr handle)
        : base(handle)
    {
    }

    public static SentencePieceModel Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new XModException($"SentencePiece model {path} does not exist");
        }
        return new SentencePieceModel(SpmError.Check(SpmNativeMethods.xmod_spm_load(path)));
    }

    /// <summary>Loads a model from its serialized protobuf bytes (as stored inside a package).</summary>
    public static unsafe SentencePieceModel FromBytes(ReadOnlySpan<byte> proto)
    {
        fixed (byte* p = proto)
        {
            return new SentencePieceModel(SpmError.Check(SpmNativeMethods.xmod_spm_load_proto(p, proto.Length)));
        }
    }

    public int VocabSize => Kept(SpmError.Check(SpmNativeMethods.xmod_spm_vocab_size(Handle)));

    public unsafe (int Unk, int Bos, int Eos, int Pad) SpecialIds
    {
        get
        {
            var ids = stackalloc int[4];
            Kept(SpmError.Check(SpmNativeMethods.xmod_spm_special_ids(Handle, ids)));
            return (ids[0], ids[1], ids[2], ids[3]);
        }
    }

    public unsafe int[] Encode(string text)
    {
        var byteCount = Encoding.UTF8.GetByteCount(text);
        var bytes = ArrayPool<byte>.Shared.Rent(Math.Max(byteCount, 1));
        try
        {
            Encoding.UTF8.GetBytes(text, bytes);
            // A piece covers at least one byte, plus possibly one word-boundary piece per byte.
            var ids = new int[2 * byteCount + 2];
            int n;
            fixed (byte* t = bytes)
            fixed (int* o = ids)
            {
                n = Kept(SpmError.Check(SpmNativeMethods.xmod_spm_encode(Handle, t, byteCount, o, ids.Length)));
            }
            if (n > ids.Length)
            {
                throw new InvalidOperationException($"SentencePiece produced {n} ids for {byteCount} bytes");
            }
            return ids[..n];
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    public unsafe string Decode(ReadOnlySpan<int> ids)
    {
        long len;
        fixed (int* p = ids)
        {
            var s = Kept(SpmError.Check(SpmNativeMethods.xmod_spm_decode(Handle, p, ids.Length, &len)));
            return Encoding.UTF8.GetString((byte*)s, checked((int)len));
        }
    }

    /// <summary>The id of a piece; the unknown id when the vocabulary lacks it.</summary>
    public int PieceToId(string piece) => Kept(SpmError.Check(SpmNativeMethods.xmod_spm_piece_to_id(Handle, piece)));

    public string IdToPiece(int id) => Kept(SpmError.String(SpmNativeMethods.xmod_spm_id_to_piece(Handle, id)));

    /// <summary>The model as serialized protobuf bytes (what a .model file holds).</summary>
    public unsafe byte[] ToBytes()
    {
        long len;
        var p = Kept(SpmNativeMethods.xmod_spm_serialize(Handle, &len));
        return new ReadOnlySpan<byte>((void*)SpmError.Check(p), checked((int)len)).ToArray();
    }

    // Native calls on this processor's handle go through this: using `this` after the call keeps
    // the finalizer from freeing the processor while native code still reads it.
    private T Kept<T>(T result)
    {
        GC.KeepAlive(this);
        return result;
    }

    protected override void Free(IntPtr handle, bool finalizing) => SpmNativeMethods.xmod_spm_free(handle);
}
