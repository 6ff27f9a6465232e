namespace XMod.Runtime.Model;

/// <summary>How a model's weights come into memory.</summary>
public sealed record ModelLoadOptions
{
    /// <summary>Read every weight into memory and every module now: what training and export need.</summary>
    public static readonly ModelLoadOptions Default = new();

    /// <summary>
    /// Serving: weights memory-mapped from their files, each language's module loaded on the
    /// first use of the language. Encoding German with a base-sized model then holds the trunk
    /// (only the pages it touches) and one module, not 81.
    /// </summary>
    public static readonly ModelLoadOptions Inference = new() { MapWeights = true, LazyLanguages = true };

    /// <summary>
    /// Memory-map weights stored in their compute dtype at aligned offsets (copy-on-write: the
    /// file is never written); others are read. XMOD_MMAP=0 turns mapping off everywhere.
    /// </summary>
    public bool MapWeights { get; init; }

    /// <summary>Load a language's module on its first use instead of at open (X-MOD models).</summary>
    public bool LazyLanguages { get; init; }

    /// <summary>With <see cref="LazyLanguages"/>: at most this many modules stay loaded; the least recently used is evicted (null: no limit).</summary>
    public int? MaxLoadedLanguages { get; init; }

    internal bool Map => MapWeights && Environment.GetEnvironmentVariable("XMOD_MMAP") != "0";
}
