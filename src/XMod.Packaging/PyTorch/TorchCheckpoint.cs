using System.Buffers.Binary;
using System.IO.Compression;
using System.Numerics;
using XMod.Packaging.SafeTensors;

namespace XMod.Packaging.PyTorch;

/// <summary>One storage a checkpoint references: its element type and element count.</summary>
public sealed record TorchStorage(string Key, SafeTensorsDType DType, long Numel);

/// <summary>A tensor as torch saves it: a view (offset, shape, strides in elements) of a storage.</summary>
public sealed record TorchTensor(TorchStorage Storage, long Offset, long[] Shape, long[] Strides)
{
    public SafeTensorsDType DType => Storage.DType;

    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    public bool IsContiguous
    {
        get
        {
            long expected = 1;
            for (var i = Shape.Length - 1; i >= 0; i--)
            {
                if (Shape[i] != 1 && Strides[i] != expected)
                {
                    return false;
                }
                expected *= Shape[i];
            }
            return true;
        }
    }
}

/// <summary>
/// A state dict saved by <c>torch.save</c> (pytorch_model.bin, fairseq's model.pt), read without
/// executing anything: both of torch's serializations (the zip archive of torch 1.6 and later, and
/// the legacy stream of pickles followed by raw storages) are parsed by <see cref="PickleMachine"/>
/// with an allow-list of the globals a state dict uses. Tensor data is read on demand, one storage
/// at a time; views (offsets, strides, storages shared by several tensors, tied weights) are
/// materialised as contiguous copies.
/// </summary>
public sealed class TorchCheckpoint : IDisposable
{
    private const string LegacyMagic = "119547037146038801333356"; // torch.serialization.MAGIC_NUMBER
    private const long LegacyProtocol = 1001;

    private readonly Dictionary<string, TorchTensor> _tensors;
    private readonly Func<TorchStorage, byte[]> _readStorage;
    private readonly IDisposable _owner;

    private TorchCheckpoint(string path, List<KeyValuePair<string, TorchTensor>> tensors, Func<TorchStorage, byte[]> readStorage, IDisposable owner)
    {
        Path = path;
        Names = tensors.Select(kv => kv.Key).ToList();
        _tensors = new Dictionary<string, TorchTensor>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            if (!_tensors.TryAdd(name, tensor))
            {
                throw new PackagingException($"{path}: the state dict holds '{name}' twice");
            }
        }
        _readStorage = readStorage;
        _owner = owner;
    }

    public string Path { get; }

    /// <summary>Tensor names in the state dict's order.</summary>
    public IReadOnlyList<string> Names { get; }

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public TorchTensor Info(string name) =>
        _tensors.TryGetValue(name, out var t) ? t : throw new PackagingException($"{Path}: no tensor named '{name}'");

    /// <summary>
    /// Opens a checkpoint whose top-level object is a state dict (pytorch_model.bin). Any global
    /// outside the allow-list is refused by name before anything else is read.
    /// </summary>
    public static TorchCheckpoint Open(string path) => Open(path, null);

    /// <summary>
    /// Opens a checkpoint whose top-level object is a dict holding the state dict under
    /// <paramref name="entry"/> (fairseq's model.pt: "model", next to args, cfg and optimizer state).
    /// The other entries may name any global (argparse.Namespace, omegaconf's DictConfig): those are
    /// never called, only recorded as inert placeholders and dropped; the state dict itself must
    /// hold nothing but tensors.
    /// </summary>
    public static TorchCheckpoint OpenEntry(string path, string entry) => Open(path, entry);

    private static TorchCheckpoint Open(string path, string? entry)
    {
        if (!File.Exists(path))
        {
            throw new PackagingException($"{path} does not exist");
        }
        var stream = File.OpenRead(path);
        try
        {
            Span<byte> head = stackalloc byte[4];
            if (stream.Length < 4)
            {
                throw new PackagingException($"{path}: {stream.Length} bytes is too short for a PyTorch checkpoint");
            }
            stream.ReadExactly(head);
            stream.Position = 0;
            return head.SequenceEqual("PK\x03\x04"u8) ? OpenZip(path, stream, entry) : OpenLegacy(path, stream, entry);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private static TorchCheckpoint OpenZip(string path, FileStream stream, string? entry)
    {
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: false);
        }
        catch (InvalidDataException e)
        {
            throw new PackagingException($"{path}: not a readable zip archive ({e.Message})");
        }
        try
        {
            var pickles = zip.Entries.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal)
                && e.FullName.IndexOf('/', StringComparison.Ordinal) == e.FullName.Length - "/data.pkl".Length).ToList();
            if (pickles.Count != 1)
            {
                throw new PackagingException($"{path}: a torch zip checkpoint has exactly one <name>/data.pkl; this one has {pickles.Count}");
            }
            var prefix = pickles[0].FullName[..^"data.pkl".Length];
            if (zip.GetEntry(prefix + "byteorder") is { } order)
            {
                using var r = new StreamReader(order.Open());
                var text = r.ReadToEnd().Trim();
                if (text != "little")
                {
                    throw new PackagingException($"{path}: byte order '{text}' is not supported (only little-endian checkpoints)");
                }
            }
            var resolver = new StateDictResolver(path, tolerant: entry is not null, legacy: false);
            object? root;
            using (var pkl = new BufferedStream(pickles[0].Open()))
            {
                root = PickleMachine.Load(pkl, path, resolver);
            }
            var tensors = StateDict(path, root, entry);
            byte[] Read(TorchStorage s)
            {
                var e = zip.GetEntry(prefix + "data/" + s.Key)
                    ?? throw new PackagingException($"{path}: storage '{s.Key}' is referenced but {prefix}data/{s.Key} is missing");
                var bytes = StorageBytes(path, s);
                if (e.Length != bytes)
                {
                    throw new PackagingException($"{path}: storage '{s.Key}' holds {e.Length} bytes, its {s.Numel} {s.DType} elements need {bytes}");
                }
                var data = new byte[bytes];
                using var es = e.Open();
                es.ReadExactly(data);
                return data;
            }
            return new TorchCheckpoint(path, tensors, Read, zip);
        }
        catch
        {
            zip.Dispose();
            throw;
        }
    }

    private static TorchCheckpoint OpenLegacy(string path, FileStream stream, string? entry)
    {
        var input = new BufferedStream(stream, 1 << 16);
        var plain = new StateDictResolver(path, tolerant: false, legacy: true);
        var magic = PickleMachine.Load(input, path, plain);
        if (magic is not BigInteger big || big.ToString(System.Globalization.CultureInfo.InvariantCulture) != LegacyMagic)
        {
            throw new PackagingException($"{path}: neither a torch zip checkpoint nor torch's legacy format (wrong magic number); is it a PyTorch file?");
        }
        if (PickleMachine.Load(input, path, plain) is not LegacyProtocol)
        {
            throw new PackagingException($"{path}: legacy torch protocol version is not {LegacyProtocol}");
        }
        if (PickleMachine.Load(input, path, plain) is PyDict sysInfo && sysInfo["little_endian"] is false)
        {
            throw new PackagingException($"{path}: saved on a big-endian machine; only little-endian checkpoints are supported");
        }
        var resolver = new StateDictResolver(path, tolerant: entry is not null, legacy: true);
        var root = PickleMachine.Load(input, path, resolver);
        var tensors = StateDict(path, root, entry);
        if (PickleMachine.Load(input, path, plain) is not List<object?> keys || keys.Any(k => k is not string))
        {
            throw new PackagingException($"{path}: the legacy storage key list is missing or malformed");
        }
        // The storages follow in the order of the key list: an 8-byte element count, then the bytes.
        var offsets = new Dictionary<string, long>(StringComparer.Ordinal);
        var position = input.Position;
        Span<byte> count = stackalloc byte[8];
        foreach (string key in keys!)
        {
            if (!resolver.Storages.TryGetValue(key, out var storage))
            {
                throw new PackagingException($"{path}: storage '{key}' is written but no tensor references it");
            }
            stream.Position = position;
            if (stream.ReadAtLeast(count, 8, throwOnEndOfStream: false) != 8 || BinaryPrimitives.ReadInt64LittleEndian(count) != storage.Numel)
            {
                throw new PackagingException($"{path}: storage '{key}' does not hold the {storage.Numel} elements its tensors claim");
            }
            offsets[key] = position + 8;
            position += 8 + StorageBytes(path, storage);
            if (position > stream.Length)
            {
                throw new PackagingException($"{path}: storage '{key}' runs past the end of the file");
            }
        }
        foreach (var key in resolver.Storages.Keys.Where(k => !offsets.ContainsKey(k)))
        {
            throw new PackagingException($"{path}: storage '{key}' is referenced but not written");
        }
        byte[] Read(TorchStorage s)
        {
            var data = new byte[StorageBytes(path, s)];
            stream.Position = offsets[s.Key];
            stream.ReadExactly(data);
            return data;
        }
        return new TorchCheckpoint(path, tensors, Read, stream);
    }

    private static long StorageBytes(string path, TorchStorage s)
    {
        var bytes = s.Numel * s.DType.Size();
        return bytes <= Array.MaxLength ? bytes
            : throw new PackagingException($"{path}: storage '{s.Key}' of {bytes} bytes exceeds the {Array.MaxLength}-byte limit of one read");
    }

    private static List<KeyValuePair<string, TorchTensor>> StateDict(string path, object? root, string? entry)
    {
        var where = entry is null ? "the checkpoint" : $"entry '{entry}'";
        if (entry is not null)
        {
            root = root is PyDict top && top.ContainsKey(entry)
                ? top[entry]
                : throw new PackagingException($"{path}: the checkpoint is not a dict with a '{entry}' entry");
        }
        if (root is not PyDict dict)
        {
            throw new PackagingException($"{path}: {where} is a {PickleMachine.Describe(root)}, not a state dict");
        }
        var result = new List<KeyValuePair<string, TorchTensor>>();
        foreach (var (k, v) in dict.Items)
        {
            var name = k as string ?? throw new PackagingException($"{path}: {where} has a {PickleMachine.Describe(k)} key; state dict keys are strings");
            result.Add(new(name, v as TorchTensor
                ?? throw new PackagingException($"{path}: '{name}' in {where} is a {PickleMachine.Describe(v)}, not a tensor")));
        }
        return result;
    }

    /// <summary>The tensor's elements in row-major order (a copy; views are gathered).</summary>
    public byte[] ReadContiguous(string name)
    {
        var t = Info(name);
        var size = t.DType.Size();
        var storage = _readStorage(t.Storage);
        var count = t.ElementCount;
        if (count * size > Array.MaxLength)
        {
            throw new PackagingException($"{Path}: tensor '{name}' of {count * size} bytes exceeds the {Array.MaxLength}-byte limit of one read");
        }
        if (t.IsContiguous)
        {
            return t.Offset == 0 && count == t.Storage.Numel ? storage : storage.AsSpan(checked((int)(t.Offset * size)), checked((int)(count * size))).ToArray();
        }
        var result = new byte[count * size];
        var index = new long[t.Shape.Length];
        var source = t.Offset;
        for (long i = 0; i < count; i++)
        {
            storage.AsSpan(checked((int)(source * size)), size).CopyTo(result.AsSpan(checked((int)(i * size)), size));
            // Advance the row-major index; the source offset follows the strides.
            for (var d = index.Length - 1; d >= 0; d--)
            {
                index[d]++;
                source += t.Strides[d];
                if (index[d] < t.Shape[d])
                {
                    break;
                }
                source -= t.Strides[d] * t.Shape[d];
                index[d] = 0;
            }
        }
        return result;
    }

    public void Dispose() => _owner.Dispose();
}

/// <summary>
/// The allow-list: the globals torch.save writes for a state dict, and nothing else. Strict mode
/// refuses any other global by name the moment the pickle names it; tolerant mode (for the
/// non-weight entries of fairseq checkpoints) turns it into an inert <see cref="PyOpaque"/>.
/// </summary>
internal sealed class StateDictResolver(string path, bool tolerant, bool legacy) : IPickleResolver
{
    private static readonly Dictionary<string, SafeTensorsDType> s_storageTypes = new(StringComparer.Ordinal)
    {
        ["FloatStorage"] = SafeTensorsDType.F32,
        ["DoubleStorage"] = SafeTensorsDType.F64,
        ["HalfStorage"] = SafeTensorsDType.F16,
        ["BFloat16Storage"] = SafeTensorsDType.BF16,
        ["LongStorage"] = SafeTensorsDType.I64,
        ["IntStorage"] = SafeTensorsDType.I32,
        ["ShortStorage"] = SafeTensorsDType.I16,
        ["CharStorage"] = SafeTensorsDType.I8,
        ["ByteStorage"] = SafeTensorsDType.U8,
        ["BoolStorage"] = SafeTensorsDType.BOOL,
    };

    private const int MaxRank = 16;

    public Dictionary<string, TorchStorage> Storages { get; } = new(StringComparer.Ordinal);

    private PackagingException Refuse(PyGlobal g) =>
        new($"refusing {path}: it calls {g}, which a state dict never does (pickles can run code; this reader runs none and accepts only torch's tensor and storage globals)");

    /// <summary>
    /// Where the non-weight entries of a fairseq checkpoint come from (its args, its omegaconf cfg,
    /// optimizer history, numpy scalars). They are never called either; the list only turns a
    /// file that names os.system or eval into a refusal instead of a silent skip.
    /// </summary>
    private static readonly string[] s_metadataModules = ["argparse", "omegaconf", "typing", "collections", "numpy", "enum", "fairseq", "_codecs", "copyreg", "copy_reg", "pathlib", "torch", "datetime", "decimal"];

    private static readonly HashSet<string> s_plainBuiltins = new(StringComparer.Ordinal)
    {
        "set", "frozenset", "slice", "dict", "list", "tuple", "object", "bytearray", "complex", "float", "int", "str", "bool", "range",
    };

    public object? Global(PyGlobal g)
    {
        var known = g is ("collections", "OrderedDict")
            || (g.Module == "torch._utils" && g.Name is "_rebuild_tensor_v2" or "_rebuild_parameter" or "_rebuild_parameter_with_state")
            || (g.Module == "torch" && s_storageTypes.ContainsKey(g.Name));
        var metadata = tolerant && (s_metadataModules.Any(m => g.Module == m || g.Module.StartsWith(m + ".", StringComparison.Ordinal))
            || (g.Module is "builtins" or "__builtin__" && s_plainBuiltins.Contains(g.Name))); // protocol 2 spells builtins __builtin__
        return known || metadata ? g : throw Refuse(g);
    }

    public object? Call(PyGlobal callee, PyTuple args)
    {
        switch (callee)
        {
            case ("collections", "OrderedDict"):
                return args.Items.Length == 0 ? new PyDict() : tolerant ? new PyOpaque(callee) : throw Bad("OrderedDict is built with arguments; torch.save builds it empty");
            case ("torch._utils", "_rebuild_tensor_v2"):
                return RebuildTensor(args);
            case ("torch._utils", "_rebuild_parameter" or "_rebuild_parameter_with_state"):
                return args.Items.Length >= 1 && args.Items[0] is TorchTensor t ? t : throw Bad($"{callee} is not given a tensor");
            default:
                return tolerant ? new PyOpaque(callee) : throw Refuse(callee);
        }
    }

    public object? PersistentLoad(object? pid)
    {
        // zip: ('storage', torch.XStorage, key, location, numel); legacy adds view metadata (None).
        if (pid is not PyTuple { Items: ["storage", PyGlobal type, string key, string, long numel, ..] items }
            || items.Length != (legacy ? 6 : 5))
        {
            return tolerant ? new PyOpaque(new PyGlobal("persistent_id", PickleMachine.Describe(pid))) : throw Bad("a persistent id is not a torch storage reference");
        }
        if (legacy && items[5] is not null)
        {
            throw Bad($"storage '{key}' is a view of another storage (torch before 1.0); re-save the checkpoint with a current torch");
        }
        if (type.Module != "torch" || !s_storageTypes.TryGetValue(type.Name, out var dtype))
        {
            return tolerant ? new PyOpaque(type) : throw Bad($"storage type {type} is not supported");
        }
        if (numel < 0)
        {
            throw Bad($"storage '{key}' has {numel} elements");
        }
        var storage = new TorchStorage(key, dtype, numel);
        if (Storages.TryGetValue(key, out var seen))
        {
            return seen == storage ? seen : throw Bad($"storage '{key}' is referenced as {seen.DType} x {seen.Numel} and as {dtype} x {numel}");
        }
        Storages[key] = storage;
        return storage;
    }

    private object RebuildTensor(PyTuple args)
    {
        // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        if (args.Items is not [TorchStorage storage, long offset, PyTuple size, PyTuple stride, bool, ..] || args.Items.Length is < 6 or > 7)
        {
            return tolerant ? new PyOpaque(new PyGlobal("torch._utils", "_rebuild_tensor_v2")) : throw Bad("_rebuild_tensor_v2 is called with arguments torch.save never writes");
        }
        var shape = Longs(size, "size");
        var strides = Longs(stride, "stride");
        if (shape.Length != strides.Length || shape.Length > MaxRank)
        {
            throw Bad($"a tensor of storage '{storage.Key}' has {shape.Length} sizes and {strides.Length} strides (at most {MaxRank})");
        }
        if (offset < 0 || shape.Any(s => s < 0) || strides.Any(s => s < 0))
        {
            throw Bad($"a tensor of storage '{storage.Key}' has a negative offset, size or stride");
        }
        // The last element it reaches must lie inside the storage (empty tensors reach none).
        Int128 numel = 1, last = offset;
        for (var i = 0; i < shape.Length; i++)
        {
            numel = Int128.Min(numel * shape[i], long.MaxValue); // sizes are below 2^63: no overflow before the clamp
            last = Int128.Min(last + ((Int128)Math.Max(0, shape[i] - 1) * strides[i]), long.MaxValue);
        }
        if (numel > 0 && last >= storage.Numel)
        {
            throw Bad($"a tensor [{string.Join(", ", shape)}] with strides ({string.Join(", ", strides)}) at offset {offset} reaches past storage '{storage.Key}' of {storage.Numel} elements");
        }
        return new TorchTensor(storage, offset, shape, strides);
    }

    private long[] Longs(PyTuple t, string what) =>
        t.Items.Select(v => v is long l ? l : throw Bad($"a tensor's {what} holds a {PickleMachine.Describe(v)}")).ToArray();

    private PackagingException Bad(string what) => new($"{path}: {what}");
}
