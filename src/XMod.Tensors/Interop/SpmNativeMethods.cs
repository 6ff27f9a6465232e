using System.Runtime.InteropServices;

namespace XMod.Tensors.Interop;

/// <summary>P/Invoke declarations of libxmod_spm.so (Native/src/sentencepiece.cpp).</summary>
internal static unsafe partial class SpmNativeMethods
{
    private const string Lib = NativeLibraryLoader.SpmLibraryName;

    static SpmNativeMethods() => NativeLibraryLoader.Register();

    [LibraryImport(Lib)] internal static partial IntPtr xmod_spm_last_error();
    [LibraryImport(Lib)] internal static partial void xmod_spm_clear_error();
    [LibraryImport(Lib)] internal static partial IntPtr xmod_spm_version();

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int xmod_spm_train(string args, uint seed);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr xmod_spm_load(string path);

    [LibraryImport(Lib)] internal static partial IntPtr xmod_spm_load_proto(void* data, long n);
    [LibraryImport(Lib)] internal static partial void xmod_spm_free(IntPtr s);
    [LibraryImport(Lib)] internal static partial int xmod_spm_encode(IntPtr s, byte* text, long len, int* ids, int cap);
    [LibraryImport(Lib)] internal static partial IntPtr xmod_spm_decode(IntPtr s, int* ids, int n, long* len);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int xmod_spm_piece_to_id(IntPtr s, string piece);

    [LibraryImport(Lib)] internal static partial IntPtr xmod_spm_id_to_piece(IntPtr s, int id);
    [LibraryImport(Lib)] internal static partial int xmod_spm_vocab_size(IntPtr s);
    [LibraryImport(Lib)] internal static partial int xmod_spm_special_ids(IntPtr s, int* ids);
    [LibraryImport(Lib)] internal static partial IntPtr xmod_spm_serialize(IntPtr s, long* len);
}
