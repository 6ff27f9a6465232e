using XMod.Packaging.Languages;
using XMod.Training.Corpora;

namespace XMod.Training.AddLanguage;

/// <summary>What add-language is given: a language id in any form, and its text as a file or a corpus.</summary>
public static class LanguageText
{
    /// <summary>lang-yo, yo, yor or yo_NG -> the X-MOD code when the catalogue knows it, else the bare id.</summary>
    public static string LanguageCode(string id) => LanguageCatalog.Find(id)?.Code ?? (id.StartsWith("lang-", StringComparison.Ordinal) ? id[5..] : id);

    /// <summary>modules/lang-{id} for an id given with or without the lang- prefix.</summary>
    public static string DefaultModuleDir(string id) => Path.Combine("modules", id.StartsWith("lang-", StringComparison.Ordinal) ? id : "lang-" + id);

    /// <summary>A text file (one paragraph per line), or a corpus directory's paragraphs (train and held-out) of the language.</summary>
    public static (IReadOnlyList<string> Lines, string Source) Read(string path, string language)
    {
        if (Directory.Exists(path))
        {
            var corpus = Corpus.Open(path);
            return ([.. corpus.Train(language), .. corpus.HeldOut(language)], $"{path} ({language})");
        }
        if (!File.Exists(path))
        {
            throw new XModException($"--corpus {path} does not exist");
        }
        return (File.ReadAllLines(path), Path.GetFileName(path));
    }
}
