using System.Text;
using XMod.Packaging.Languages;
using XMod.Training.Corpora;

namespace XMod.Training.AddLanguage;

/// <summary>
/// A new language's text, split so that held-out text is never training text: the held-out
/// perplexity a module publishes is measured on paragraphs it was not trained on, or not at all.
/// </summary>
/// <param name="Train">Paragraphs to train on.</param>
/// <param name="HeldOut">Paragraphs to evaluate on; none of them is in <paramref name="Train"/>. Empty when nothing could be held out.</param>
/// <param name="Source">Where the text came from (the model card's corpus line).</param>
/// <param name="HeldOutSource">How the held-out paragraphs were chosen.</param>
public sealed record LanguageText(IReadOnlyList<string> Train, IReadOnlyList<string> HeldOut, string Source, string HeldOutSource)
{
    /// <summary>
    /// Reads --corpus: a corpus directory (its split for <paramref name="language"/>), a file
    /// with a sibling heldout.txt (corpus build's DIR/LANG/train.txt layout), or any other file,
    /// of which <paramref name="heldOutPercent"/>% of the paragraphs are held out by hash.
    /// </summary>
    public static LanguageText Read(string path, string language, int heldOutPercent)
    {
        if (Directory.Exists(path))
        {
            var corpus = Corpus.Open(path);
            var code = LanguageResolver.Resolve(language, corpus.Languages, $"the corpus at {path}");
            return Split(corpus.Train(code), corpus.HeldOut(code), $"{path} ({code})", $"the corpus's held-out split ({corpus.HeldOutFile(code)})");
        }
        if (!File.Exists(path))
        {
            throw new XModException($"--corpus {path} does not exist: give a text file (one paragraph per line) or a corpus directory");
        }
        var lines = File.ReadAllLines(path, Encoding.UTF8);
        var sibling = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "heldout.txt");
        if (Path.GetFileName(path) == "train.txt" && File.Exists(sibling))
        {
            return Split(lines, File.ReadAllLines(sibling, Encoding.UTF8), Path.GetFileName(path), $"the sibling {sibling}");
        }
        return ByHash(lines, Path.GetFileName(path), heldOutPercent);
    }

    /// <summary>Holds out <paramref name="percent"/>% of the paragraphs by hash (as corpus build does); the rest is trained on.</summary>
    public static LanguageText ByHash(IReadOnlyList<string> lines, string source, int percent)
    {
        var clean = Clean(lines);
        return new LanguageText(
            clean.Where(l => !CorpusBuilder.IsHeldOut(CorpusBuilder.Hash(l), percent)).ToList(),
            clean.Where(l => CorpusBuilder.IsHeldOut(CorpusBuilder.Hash(l), percent)).ToList(),
            source, $"{percent}% of the paragraphs, chosen by hash");
    }

    /// <summary>A given split; a held-out paragraph that also occurs in the training text is dropped from the held-out side.</summary>
    public static LanguageText Split(IEnumerable<string> train, IEnumerable<string> heldOut, string source, string heldOutSource)
    {
        var t = Clean(train);
        var seen = new HashSet<string>(t, StringComparer.Ordinal);
        return new LanguageText(t, Clean(heldOut).Where(l => !seen.Contains(l)).ToList(), source, heldOutSource);
    }

    /// <summary>Whether the hub's evaluation set was left out of the training text (recorded in the provenance), or null when unknown.</summary>
    public string? EvalSet { get; init; }

    /// <summary>
    /// Leaves the hub's standard evaluation set (<see cref="Corpora.EvalSet"/>) out of the training
    /// text, unless <paramref name="include"/>; text from a corpus that corpus build already cleaned
    /// is taken as it is. Says what it did through <paramref name="log"/>.
    /// </summary>
    public LanguageText WithoutEvalSet(string corpusPath, LanguageInfo? language, string sourceCache, bool include, Action<string> log)
    {
        if (include)
        {
            log(Corpora.EvalSet.ExclusionNote(0, included: true));
            return this with { EvalSet = $"{Corpora.EvalSet.Id} included" };
        }
        var dir = Directory.Exists(corpusPath) ? corpusPath : Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(corpusPath)));
        if (dir is not null && File.Exists(Path.Combine(dir, Corpus.ManifestFile))
            && Corpus.Open(dir).Manifest.EvalSet == $"{Corpora.EvalSet.Id} excluded")
        {
            log($"the corpus at {dir} was built without the hub's evaluation set ({Corpora.EvalSet.Id})");
            return this with { EvalSet = $"{Corpora.EvalSet.Id} excluded" };
        }
        var (kept, removed) = Corpora.EvalSet.Exclude(Train, language, sourceCache, log);
        log(Corpora.EvalSet.ExclusionNote(removed, included: false));
        return this with { Train = kept, EvalSet = $"{Corpora.EvalSet.Id} excluded" };
    }

    /// <summary>Bytes of text (UTF-8, a newline per paragraph), training and held-out.</summary>
    public long Bytes => Train.Concat(HeldOut).Sum(l => (long)Encoding.UTF8.GetByteCount(l) + 1);

    private static List<string> Clean(IEnumerable<string> lines) =>
        lines.Select(l => l.Trim()).Where(l => l.Length > 0).Distinct(StringComparer.Ordinal).ToList();
}
