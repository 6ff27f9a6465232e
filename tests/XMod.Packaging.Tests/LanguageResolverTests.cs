using XMod.Packaging.Languages;

namespace XMod.Packaging.Tests;

/// <summary>Issue 12, item 2: one language resolver for every command and the runtime API.</summary>
public sealed class LanguageResolverTests
{
    [Theory]
    [InlineData("lang-de")]
    [InlineData("de")]
    [InlineData("deu")]
    [InlineData("de_DE")]
    [InlineData("de-DE")]
    [InlineData("DE-de")]
    [InlineData(" German ")]
    [InlineData("xmod-base.lang-de")]
    public void EveryFormOfALanguageIsOneCode(string typed)
    {
        Assert.Equal("de_DE", LanguageResolver.ResolveKnown(typed).Code);
        Assert.Equal("de_DE", LanguageCatalog.Get(typed).Code); // corpus build --langs de-DE, recipes, the quickstart
        Assert.Equal("de_DE", LanguageResolver.Resolve(typed, ["en_XX", "de_DE", "it_IT"]));
    }

    [Theory]
    [InlineData("it", "it_IT")]
    [InlineData("ita", "it_IT")]
    [InlineData("pt-BR", "pt_XX")]
    [InlineData("nb", "no_XX")]
    [InlineData("no", "no_XX")]
    public void CodesTheCatalogueMapsDifferentlyStillResolve(string typed, string code)
    {
        Assert.Equal(code, LanguageResolver.ResolveKnown(typed).Code);
        Assert.Equal(code, LanguageResolver.Resolve(typed, ["en_XX", code]));
    }

    [Fact]
    public void AnAmbiguousFormListsTheChoices()
    {
        var e = Assert.Throws<XModException>(() => LanguageResolver.Resolve("kab", ["kab_DZ", "kab_MA", "en_XX"]));
        Assert.Equal("'kab' could mean kab_DZ or kab_MA: name one of them", e.Message);
        Assert.Throws<XModException>(() => LanguageResolver.TryResolve("kab", ["kab_DZ", "kab_MA"]));
        // The exact form wins over a broader one: de is the catalogue's German, de-CH the other.
        Assert.Equal("de_DE", LanguageResolver.Resolve("de", ["de_DE", "de_CH"]));
        Assert.Equal("de_CH", LanguageResolver.Resolve("de-CH", ["de_DE", "de_CH"]));
    }

    [Theory]
    [InlineData("zz")]
    [InlineData("../de")]
    [InlineData("de\nDE")]
    [InlineData("")]
    [InlineData("lang-")]
    public void UnknownOrHostileFormsAreOneClearLine(string typed)
    {
        var e = Assert.Throws<XModException>(() => LanguageResolver.Resolve(typed, ["en_XX", "de_DE"]));
        Assert.Contains("has no language", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Null(LanguageResolver.TryResolve(typed, ["en_XX", "de_DE"]));
        e = Assert.Throws<XModException>(() => LanguageCatalog.Get(typed));
        Assert.StartsWith("unknown language", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Null(LanguageCatalog.Find(typed));
    }

    [Fact]
    public void ALanguageTheCatalogueLacksIsFoundByItsPrimarySubtag()
    {
        Assert.Equal("kab_DZ", LanguageResolver.Resolve("kab", ["kab_DZ", "en_XX"]));
        Assert.Null(LanguageResolver.TryResolve("kab", ["en_XX"]));
    }
}
