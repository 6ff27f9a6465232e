using XMod.Packaging.Languages;
using XMod.Packaging.Nupkg;

namespace XMod.Packaging.Tests;

/// <summary>
/// facebook/xmod-base's 81 languages, as its config names them, are all known: a base model's
/// languages publish (a language package needs its catalogue description) under 81 distinct ids.
/// </summary>
public sealed class XmodBaseLanguagesTests
{
    // config.json "languages" of facebook/xmod-base, in its order.
    private const string XmodBase = "en_XX id_ID vi_VN ru_RU fa_IR sv_SE ja_XX fr_XX de_DE ro_RO ko_KR hu_HU es_XX fi_FI uk_UA da_DK pt_XX no_XX th_TH pl_PL " +
        "bg_BG nl_XX zh_CN he_IL el_GR it_IT sk_SK hr_HR tr_TR ar_AR cs_CZ lt_LT hi_IN zh_TW ca_ES ms_MY sl_SI lv_LV ta_IN bn_IN et_EE az_AZ sq_AL sr_RS " +
        "kk_KZ ka_GE tl_XX ur_PK is_IS hy_AM ml_IN mk_MK be_BY la_VA te_IN eu_ES gl_ES mn_MN kn_IN ne_NP sw_KE si_LK mr_IN af_ZA gu_IN cy_GB eo_EO km_KH " +
        "ky_KG uz_UZ ps_AF pa_IN ga_IE ha_NG am_ET lo_LA ku_TR so_SO my_MM or_IN sa_IN";

    [Fact]
    public void EveryLanguageOfXmodBaseIsKnownAndHasItsOwnValidPackageId()
    {
        var codes = XmodBase.Split(' ');
        Assert.Equal(81, codes.Length);
        var ids = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var code in codes)
        {
            var info = LanguageResolver.ResolveKnown(code);
            Assert.Equal(code, info.Code);
            Assert.Matches("^[A-Z][a-z]{3}$", info.Script); // ISO 15924
            Assert.Matches("^[a-z]{3}$", info.Iso6393);
            var id = LanguageCatalog.PackageIdOf(info.Bcp47);
            Assert.True(PackageIds.IsValid(id), id);
            Assert.True(ids.Add(id), $"{code} would publish as {id}, which another language of xmod-base has");
            Assert.Equal(code, LanguageResolver.ResolveKnown(id).Code); // lang-xx names it back
        }
    }

    [Fact]
    public void ChineseInTwoScriptsIsNamedByScriptAndBareZhAsksWhichOne()
    {
        Assert.Equal("lang-zh-hans", LanguageCatalog.PackageIdOf("zh-Hans"));
        Assert.Equal("lang-zh-hant", LanguageCatalog.PackageIdOf("zh-Hant"));
        Assert.Equal("zh_TW", LanguageResolver.ResolveKnown("lang-zh-hant").Code);
        Assert.Equal("zh_CN", LanguageResolver.ResolveKnown("zh_CN").Code);
        var e = Assert.Throws<XModException>(() => LanguageResolver.ResolveKnown("zh"));
        Assert.Contains("could mean zh_CN (Chinese (Simplified)) or zh_TW (Chinese (Traditional))", e.Message, StringComparison.Ordinal);
        // A language with its subtag alone keeps the short id.
        Assert.Equal("lang-de", LanguageCatalog.PackageIdOf("de"));
        Assert.Equal("lang-pt", LanguageCatalog.PackageIdOf("pt-BR"));
    }
}
