using XMod.Packaging.Languages;

namespace XMod.Training.Corpora;

public static class CorpusLanguages
{
    /// <summary>
    /// The corpus languages to train on: the requested ones (any form <see cref="LanguageResolver"/>
    /// takes: de, deu, de-DE, lang-de), or all of the corpus's when none are requested.
    /// </summary>
    public static IReadOnlyList<string> SelectLanguages(this Corpus corpus, IReadOnlyList<string> requested) =>
        requested.Count == 0 ? corpus.Languages
            : requested.Select(l => LanguageResolver.Resolve(l, corpus.Languages, $"the corpus at {corpus.Directory}")).Distinct().ToList();

    /// <summary>
    /// The languages to evaluate a model on: those requested (any form, resolved against the
    /// corpus), or the model's that the corpus has.
    /// </summary>
    public static IReadOnlyList<string> LanguagesFor(this Corpus corpus, IReadOnlyList<string> requested, IReadOnlyList<string> modelLanguages) =>
        requested.Count > 0 ? corpus.SelectLanguages(requested)
            : modelLanguages.Where(corpus.Languages.Contains).ToList() is { Count: > 0 } shared ? shared
            : throw new XModException(modelLanguages.Count == 0
                ? "the model has no languages loaded: name them with --langs (installed language packages of its trunk are loaded)"
                : $"the corpus at {corpus.Directory} has none of the model's languages ({string.Join(", ", modelLanguages)})");
}
