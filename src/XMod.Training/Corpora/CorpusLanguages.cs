using XMod.Packaging.Languages;

namespace XMod.Training.Corpora;

public static class CorpusLanguages
{
    /// <summary>
    /// The corpus languages to train on: the requested ones (any code the catalogue knows, as
    /// X-MOD codes), or all of the corpus's when none are requested. Missing ones are one error.
    /// </summary>
    public static IReadOnlyList<string> SelectLanguages(this Corpus corpus, IReadOnlyList<string> requested)
    {
        var languages = requested.Count == 0 ? corpus.Languages : requested.Select(l => LanguageCatalog.Find(l)?.Code ?? l).ToList();
        var missing = languages.Where(l => !corpus.Languages.Contains(l)).ToList();
        return missing.Count == 0 ? languages
            : throw new XModException($"the corpus at {corpus.Directory} has no {string.Join(", ", missing)}; it has {string.Join(", ", corpus.Languages)}");
    }

    /// <summary>The languages to evaluate a model on: those requested, or the model's that the corpus has.</summary>
    public static IReadOnlyList<string> LanguagesFor(this Corpus corpus, IReadOnlyList<string> requested, IReadOnlyList<string> modelLanguages) =>
        requested.Count > 0 ? requested
            : modelLanguages.Where(corpus.Languages.Contains).ToList() is { Count: > 0 } shared ? shared
            : throw new XModException($"the corpus at {corpus.Directory} has none of the model's languages ({string.Join(", ", modelLanguages)})");
}
