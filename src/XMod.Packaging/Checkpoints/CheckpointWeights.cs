using System.Text.Json;
using XMod.Packaging.PyTorch;
using XMod.Packaging.SafeTensors;

namespace XMod.Packaging.Checkpoints;

/// <summary>
/// The named tensors of a released checkpoint, whatever file format holds them: model.safetensors,
/// pytorch_model.bin (read by <see cref="TorchCheckpoint"/>, never unpickled by Python), or shards
/// listed by an *.index.json.
/// </summary>
public interface ICheckpointWeights : IDisposable
{
    /// <summary>What the weights were read from (for messages).</summary>
    string Source { get; }

    IReadOnlyCollection<string> Names { get; }

    bool Contains(string name);

    (SafeTensorsDType DType, long[] Shape) Info(string name);

    /// <summary>A tensor's elements, contiguous and row-major; valid until the next call.</summary>
    ReadOnlySpan<byte> Data(string name);
}

public static class CheckpointWeights
{
    public const string SafeTensors = "model.safetensors";
    public const string PyTorch = "pytorch_model.bin";
    public const string IndexSuffix = ".index.json";

    /// <summary>The weight files a Hugging Face folder may hold, in the order they are preferred.</summary>
    public static readonly IReadOnlyList<string> Candidates = [SafeTensors, SafeTensors + IndexSuffix, PyTorch, PyTorch + IndexSuffix];

    /// <summary>Opens the weights of a Hugging Face folder: safetensors first, as transformers does.</summary>
    public static ICheckpointWeights OpenFolder(string dir)
    {
        foreach (var name in Candidates)
        {
            var path = Path.Combine(dir, name);
            if (File.Exists(path))
            {
                return OpenFile(path);
            }
        }
        throw new PackagingException($"{dir} has no weights: none of {string.Join(", ", Candidates)}");
    }

    public static ICheckpointWeights OpenFile(string path)
    {
        if (path.EndsWith(IndexSuffix, StringComparison.Ordinal))
        {
            return ShardedWeights.Open(path);
        }
        return path.EndsWith(".safetensors", StringComparison.Ordinal)
            ? new SafeTensorsWeights(SafeTensorsFile.Open(path))
            : new TorchWeights(TorchCheckpoint.Open(path));
    }

    public static string ShapeString(long[] shape) => "[" + string.Join(", ", shape) + "]";
}

internal sealed class SafeTensorsWeights(SafeTensorsFile file) : ICheckpointWeights
{
    public string Source => file.Path;

    public IReadOnlyCollection<string> Names => file.Names;

    public bool Contains(string name) => file.Contains(name);

    public (SafeTensorsDType DType, long[] Shape) Info(string name) => (file.Info(name).DType, file.Info(name).Shape);

    public ReadOnlySpan<byte> Data(string name) => file.Data(name);

    public void Dispose() => file.Dispose();
}

/// <summary>A torch checkpoint's state dict, optionally under other names (fairseq's, mapped to HF's).</summary>
public sealed class TorchWeights : ICheckpointWeights
{
    private readonly TorchCheckpoint _checkpoint;
    private readonly Dictionary<string, string> _toSource;

    public TorchWeights(TorchCheckpoint checkpoint, IReadOnlyDictionary<string, string>? renamed = null)
    {
        _checkpoint = checkpoint;
        _toSource = renamed is null
            ? checkpoint.Names.ToDictionary(n => n, n => n, StringComparer.Ordinal)
            : new Dictionary<string, string>(renamed, StringComparer.Ordinal);
    }

    public string Source => _checkpoint.Path;

    public IReadOnlyCollection<string> Names => _toSource.Keys;

    public bool Contains(string name) => _toSource.ContainsKey(name);

    public (SafeTensorsDType DType, long[] Shape) Info(string name)
    {
        var t = _checkpoint.Info(SourceName(name));
        return (t.DType, t.Shape);
    }

    public ReadOnlySpan<byte> Data(string name) => _checkpoint.ReadContiguous(SourceName(name));

    private string SourceName(string name) =>
        _toSource.TryGetValue(name, out var s) ? s : throw new PackagingException($"{Source}: no tensor named '{name}'");

    public void Dispose() => _checkpoint.Dispose();
}

/// <summary>
/// Shards listed by model.safetensors.index.json or pytorch_model.bin.index.json
/// ({"weight_map": {tensor: file}}): each file a plain name in the index's folder, each tensor in
/// the shard that the map names.
/// </summary>
internal sealed class ShardedWeights : ICheckpointWeights
{
    private readonly Dictionary<string, ICheckpointWeights> _shards;
    private readonly Dictionary<string, string> _map;

    private ShardedWeights(string source, Dictionary<string, ICheckpointWeights> shards, Dictionary<string, string> map)
    {
        Source = source;
        _shards = shards;
        _map = map;
    }

    public string Source { get; }

    public IReadOnlyCollection<string> Names => _map.Keys;

    public bool Contains(string name) => _map.ContainsKey(name);

    public (SafeTensorsDType DType, long[] Shape) Info(string name) => Shard(name).Info(name);

    public ReadOnlySpan<byte> Data(string name) => Shard(name).Data(name);

    private ICheckpointWeights Shard(string name) =>
        _map.TryGetValue(name, out var f) ? _shards[f] : throw new PackagingException($"{Source}: no tensor named '{name}'");

    public static ShardedWeights Open(string indexPath)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            if (doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("weight_map", out var wm) || wm.ValueKind != JsonValueKind.Object)
            {
                throw new PackagingException($"{indexPath}: no \"weight_map\" object");
            }
            foreach (var p in wm.EnumerateObject())
            {
                var file = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : throw new PackagingException($"{indexPath}: the shard of '{p.Name}' is not a string");
                // A shard is a file next to the index: no folders, no way out of the model's folder.
                if (file.Length == 0 || file != Path.GetFileName(file) || file is "." or ".." || file.Contains('\\', StringComparison.Ordinal))
                {
                    throw new PackagingException($"{indexPath}: shard '{file}' of '{p.Name}' is not a plain file name next to the index");
                }
                if (!map.TryAdd(p.Name, file))
                {
                    throw new PackagingException($"{indexPath}: '{p.Name}' is listed twice");
                }
            }
        }
        catch (JsonException e)
        {
            throw new PackagingException($"{indexPath}: not valid JSON ({e.Message})");
        }
        var shards = new Dictionary<string, ICheckpointWeights>(StringComparer.Ordinal);
        try
        {
            foreach (var file in map.Values.Distinct(StringComparer.Ordinal))
            {
                var path = Path.Combine(dir, file);
                if (!File.Exists(path))
                {
                    throw new PackagingException($"{indexPath}: shard {file} is missing");
                }
                if (file.EndsWith(CheckpointWeights.IndexSuffix, StringComparison.Ordinal))
                {
                    throw new PackagingException($"{indexPath}: shard {file} is itself an index");
                }
                shards[file] = CheckpointWeights.OpenFile(path);
            }
            foreach (var (name, file) in map)
            {
                if (!shards[file].Contains(name))
                {
                    throw new PackagingException($"{indexPath}: '{name}' is not in its shard {file}");
                }
            }
            foreach (var (file, shard) in shards)
            {
                var extra = shard.Names.FirstOrDefault(n => !map.TryGetValue(n, out var f) || f != file);
                if (extra is not null)
                {
                    throw new PackagingException($"{indexPath}: shard {file} holds '{extra}', which the index does not place there");
                }
            }
            return new ShardedWeights(indexPath, shards, map);
        }
        catch
        {
            foreach (var s in shards.Values)
            {
                s.Dispose();
            }
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var s in _shards.Values)
        {
            s.Dispose();
        }
    }
}
