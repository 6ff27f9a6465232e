namespace XMod.Bench;

/// <summary>facebook/xmod-base's shape as the benchmarks rebuild it: its 81 language codes, in its config's order.</summary>
internal static class XmodBase
{
    public static readonly IReadOnlyList<string> Languages = (
        "en_XX id_ID vi_VN ru_RU fa_IR sv_SE ja_XX fr_XX de_DE ro_RO ko_KR hu_HU es_XX fi_FI uk_UA da_DK pt_XX no_XX th_TH pl_PL " +
        "bg_BG nl_XX zh_CN he_IL el_GR it_IT sk_SK hr_HR tr_TR ar_AR cs_CZ lt_LT hi_IN zh_TW ca_ES ms_MY sl_SI lv_LV ta_IN bn_IN et_EE az_AZ sq_AL sr_RS " +
        "kk_KZ ka_GE tl_XX ur_PK is_IS hy_AM ml_IN mk_MK be_BY la_VA te_IN eu_ES gl_ES mn_MN kn_IN ne_NP sw_KE si_LK mr_IN af_ZA gu_IN cy_GB eo_EO km_KH " +
        "ky_KG uz_UZ ps_AF pa_IN ga_IE ha_NG am_ET lo_LA ku_TR so_SO my_MM or_IN sa_IN").Split(' ');
}
