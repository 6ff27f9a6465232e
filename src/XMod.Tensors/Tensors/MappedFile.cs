using XMod.Tensors.Interop;

namespace XMod.Tensors;

/// <summary>
/// A file mapped into memory (copy-on-write) whose bytes become tensors without a copy: pages are
/// read from the file when first touched, shared with the page cache, and a write to a tensor
/// goes to a private copy of its page, never to the file.
/// </summary>
/// <remarks>
/// Lifetime: this object holds one reference to the mapping and every tensor made from it holds
/// one; the region is unmapped when the last of them is gone, so disposing this object right after
/// taking the tensors is the normal use. The file must not be truncated or rewritten in place while
/// mapped (replacing it by a rename is fine): callers map only immutable files (the package cache,
/// model directories written by temp file + rename).
/// </remarks>
public sealed class MappedFile : NativeObject
{
    private MappedFile(IntPtr handle, string path, long length)
        : base(handle)
    {
        Path = path;
        Length = length;
    }

    public string Path { get; }

    public long Length { get; }

    /// <summary>Mappings not yet unmapped (handles and tensors both keep one alive), for leak tests.</summary>
    public static long LiveMappings => NativeMethods.xmod_mapping_live_count();

    /// <summary>Bytes spanned by the live mappings.</summary>
    public static long MappedBytes => NativeMethods.xmod_mapping_bytes();

    public static unsafe MappedFile Open(string path)
    {
        long length;
        var h = NativeError.Check(NativeMethods.xmod_mapping_open(path, &length));
        return new MappedFile(h, path, length);
    }

    /// <summary>The start of the mapped bytes (valid while this object is alive).</summary>
    public IntPtr Data
    {
        get
        {
            var p = NativeMethods.xmod_mapping_data(Handle);
            GC.KeepAlive(this);
            return p;
        }
    }

    /// <summary>
    /// A CPU tensor viewing <paramref name="shape"/> elements of <paramref name="dtype"/> at
    /// <paramref name="offset"/>; the offset must be a multiple of the element size and the bytes
    /// inside the file. The tensor keeps the mapping alive.
    /// </summary>
    public unsafe Tensor Tensor(long offset, DType dtype, ReadOnlySpan<long> shape)
    {
        fixed (long* s = shape)
        {
            var h = NativeMethods.xmod_mapping_tensor(Handle, offset, (int)dtype, s, shape.Length);
            GC.KeepAlive(this);
            return new Tensor(NativeError.Check(h));
        }
    }

    protected override void Free(IntPtr handle, bool finalizing) => NativeMethods.xmod_mapping_close(handle);
}
