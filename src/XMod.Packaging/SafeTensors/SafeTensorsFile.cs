using System.IO.MemoryMappedFiles;
using System.Text.Json;

namespace XMod.Packaging.SafeTensors;

/// <summary>
/// A safetensors file opened read-only and memory-mapped: tensor data is read in place, without
/// copies. The header is validated completely before anything is returned (length cap, known
/// dtypes, offsets in bounds, sizes matching shapes, no overlap, no gaps), so a hostile file is
/// rejected with a message naming the problem rather than read out of bounds.
/// </summary>
public sealed unsafe class SafeTensorsFile : IDisposable
{
    /// <summary>The Hugging Face reader's cap: headers beyond 100 MB are refused.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _base;
    private readonly long _dataStart;
    private readonly Dictionary<string, TensorInfo> _tensors;
    private int _disposed;

    private SafeTensorsFile(string path, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* basePtr,
        long dataStart, Dictionary<string, TensorInfo> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        _map = map;
        _view = view;
        _base = basePtr;
        _dataStart = dataStart;
        _tensors = tensors;
        Metadata = metadata;
    }

    public string Path { get; }

    /// <summary>Where the data area starts in the file (8 + the header's length): tensor offsets count from here.</summary>
    public long DataStart => _dataStart;

    /// <summary>The header's "__metadata__" (string to string), empty when absent.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Tensors in file order (by data offset).</summary>
    public IReadOnlyList<TensorInfo> Tensors => [.. _tensors.Values.OrderBy(t => t.Begin)];

    public IReadOnlyCollection<string> Names => _tensors.Keys;

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public TensorInfo Info(string name) =>
        _tensors.TryGetValue(name, out var info) ? info : throw new PackagingException($"{Path}: no tensor named '{name}'");

    /// <summary>The tensor's bytes, in place in the mapping; valid until this file is disposed.</summary>
    public ReadOnlySpan<byte> Data(string name)
    {
        var info = Info(name);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return info.ByteLength == 0 ? ReadOnlySpan<byte>.Empty : new ReadOnlySpan<byte>(_base + _dataStart + info.Begin, checked((int)info.ByteLength));
    }

    /// <summary>Address of the tensor's bytes in the mapping (for zero-copy tensor views).</summary>
    public IntPtr DataPointer(string name)
    {
        var info = Info(name);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return (IntPtr)(_base + _dataStart + info.Begin);
    }

    public static SafeTensorsFile Open(string path)
    {
        var length = new FileInfo(path) is { Exists: true } fi ? fi.Length : throw new PackagingException($"{path} does not exist");
        if (length < 8)
        {
            throw new PackagingException($"{path}: {length} bytes is too short for a safetensors file (8-byte header length first)");
        }
        var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        MemoryMappedViewAccessor? view = null;
        try
        {
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            p += view.PointerOffset;
            var (tensors, metadata, dataStart) = ParseHeader(path, new ReadOnlySpan<byte>(p, (int)Math.Min(length, int.MaxValue)), length);
            return new SafeTensorsFile(path, map, view, p, dataStart, tensors, metadata);
        }
        catch
        {
            if (view is not null)
            {
                view.SafeMemoryMappedViewHandle.ReleasePointer();
                view.Dispose();
            }
            map.Dispose();
            throw;
        }
    }

    /// <summary>Validates a header; <paramref name="head"/> holds at least the header bytes.</summary>
    internal static (Dictionary<string, TensorInfo> Tensors, Dictionary<string, string> Metadata, long DataStart) ParseHeader(
        string path, ReadOnlySpan<byte> head, long fileLength)
    {
        var headerLength = BitConverter.ToUInt64(head[..8]);
        if (headerLength > MaxHeaderBytes)
        {
            throw new PackagingException($"{path}: header length {headerLength} exceeds the {MaxHeaderBytes}-byte cap");
        }
        if (8 + (long)headerLength > fileLength)
        {
            throw new PackagingException($"{path}: header length {headerLength} runs past the end of the {fileLength}-byte file");
        }
        var dataStart = 8 + (long)headerLength;
        var dataLength = fileLength - dataStart;
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(head.Slice(8, (int)headerLength).ToArray());
        }
        catch (JsonException e)
        {
            throw new PackagingException($"{path}: header is not valid JSON ({e.Message})");
        }
        using (doc)
        {
            try
            {
                return ParseTensors(path, doc, dataLength, dataStart);
            }
            catch (InvalidOperationException e)
            {
                // JsonDocument accepts invalid UTF-8 inside strings and fails only when a name is read.
                throw new PackagingException($"{path}: header holds text that is not valid UTF-8 ({e.Message})");
            }
        }
    }

    private static (Dictionary<string, TensorInfo> Tensors, Dictionary<string, string> Metadata, long DataStart) ParseTensors(
        string path, JsonDocument doc, long dataLength, long dataStart)
    {
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new PackagingException($"{path}: header must be a JSON object");
            }
            var tensors = new Dictionary<string, TensorInfo>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object)
                    {
                        throw new PackagingException($"{path}: __metadata__ must be an object of strings");
                    }
                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()!
                            : throw new PackagingException($"{path}: __metadata__ value '{m.Name}' is not a string");
                    }
                    continue;
                }
                if (!tensors.TryAdd(prop.Name, ParseEntry(path, prop)))
                {
                    throw new PackagingException($"{path}: tensor '{prop.Name}' appears twice in the header");
                }
            }
            // Offsets must tile the data area exactly: in bounds, no overlap, no gap.
            long expected = 0;
            foreach (var t in tensors.Values.OrderBy(t => t.Begin).ThenBy(t => t.End))
            {
                if (t.Begin != expected)
                {
                    throw new PackagingException(t.Begin < expected
                        ? $"{path}: tensor '{t.Name}' overlaps the tensor before it (starts at {t.Begin}, previous ends at {expected})"
                        : $"{path}: gap of {t.Begin - expected} bytes before tensor '{t.Name}'");
                }
                expected = t.End;
            }
            if (expected != dataLength)
            {
                throw new PackagingException(expected > dataLength
                    ? $"{path}: tensor data runs past the end of the file ({expected} bytes declared, {dataLength} present)"
                    : $"{path}: {dataLength - expected} bytes after the last tensor");
            }
            return (tensors, metadata, dataStart);
        }
    }

    private static TensorInfo ParseEntry(string path, JsonProperty prop)
    {
        var e = prop.Value;
        string Where() => $"{path}: tensor '{prop.Name}'";
        if (e.ValueKind != JsonValueKind.Object
            || !e.TryGetProperty("dtype", out var dtypeEl) || dtypeEl.ValueKind != JsonValueKind.String
            || !e.TryGetProperty("shape", out var shapeEl) || shapeEl.ValueKind != JsonValueKind.Array
            || !e.TryGetProperty("data_offsets", out var offEl) || offEl.ValueKind != JsonValueKind.Array || offEl.GetArrayLength() != 2)
        {
            throw new PackagingException($"{Where()} needs dtype, shape and data_offsets [begin, end]");
        }
        if (!SafeTensorsDTypes.TryParse(dtypeEl.GetString()!, out var dtype))
        {
            throw new PackagingException($"{Where()} has unknown dtype '{dtypeEl.GetString()}'");
        }
        var shape = new long[shapeEl.GetArrayLength()];
        var i = 0;
        long elements = 1;
        foreach (var d in shapeEl.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out var v) || v < 0)
            {
                throw new PackagingException($"{Where()} has an invalid dimension {d}");
            }
            shape[i++] = v;
            elements = v == 0 || elements <= long.MaxValue / v ? elements * v
                : throw new PackagingException($"{Where()}: shape [{string.Join(", ", shapeEl.EnumerateArray())}] has more elements than a file can hold (overflow)");
        }
        var begin = offEl[0].ValueKind == JsonValueKind.Number && offEl[0].TryGetInt64(out var b) && b >= 0 ? b : throw new PackagingException($"{Where()} has an invalid begin offset {offEl[0]} (a non-negative integer)");
        var end = offEl[1].ValueKind == JsonValueKind.Number && offEl[1].TryGetInt64(out var en) && en >= b ? en : throw new PackagingException($"{Where()} has an invalid end offset {offEl[1]} (an integer not below begin)");
        if (elements > long.MaxValue / dtype.Size())
        {
            throw new PackagingException($"{Where()}: shape [{string.Join(", ", shape)}] of {dtype} is larger than a file can hold (overflow)");
        }
        if (end - begin != elements * dtype.Size())
        {
            throw new PackagingException($"{Where()}: {end - begin} bytes do not hold shape [{string.Join(", ", shape)}] of {dtype}");
        }
        return new TensorInfo(prop.Name, dtype, shape, begin, end);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _map?.Dispose();
    }
}
