using System.Text.Json;

namespace Hub.Cli.Tests;

/// <summary>Issue 12, items 1, 2 and 4 through the verbs: any form of a language, references that lead nowhere, honest evaluation.</summary>
public sealed class IdsAndLanguagesCliTests
{
    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        await using var cli = new CliHarness();
        var code = await cli.RunAsync(args);
        return (code, cli.StdOut, cli.StdErr);
    }

    private static async Task OneClearLine(string expected, params string[] args)
    {
        var (code, stdout, stderr) = await Run(args);
        Assert.Equal(1, code);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.DoesNotContain("this is a bug", stdout + stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EvaluateTakesAnyFormOfTheCorpusLanguages()
    {
        var nano = PretrainedNano.Get();
        var (code, stdout, stderr) = await Run("evaluate", "--model", nano.XModRun, "--corpus", nano.CorpusDir, "--langs", "deu,lang-fr, en-XX", "--seq", "32", "--max-tokens", "300", "--json");
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal(["de_DE", "fr_XX", "en_XX"], json.RootElement.EnumerateArray().Select(l => l.GetProperty("Language").GetString()));
        await OneClearLine("has no language 'it'", "evaluate", "--model", nano.XModRun, "--corpus", nano.CorpusDir, "--langs", "it");
        // Too short to mask anything is refused, never "perplexity 1.00 on 0 tokens".
        await OneClearLine("--seq 1 is too short", "evaluate", "--model", nano.XModRun, "--corpus", nano.CorpusDir, "--langs", "de", "--seq", "1");
    }

    [Theory]
    [InlineData("lang-de")]
    [InlineData("deu")]
    [InlineData("de-DE")]
    [InlineData("German")]
    public async Task FillMaskAndEncodeTakeAnyFormOfALanguage(string lang)
    {
        var nano = PretrainedNano.Get();
        var (code, _, stderr) = await Run("fill-mask", "--model", nano.XModRun, "--lang", lang, "--text", "Die Datei wird <mask>.", "--json");
        Assert.True(code == 0, stderr);
        (code, _, stderr) = await Run("encode", "--model", nano.XMod, "--lang", lang, "--ids", "0,10,2", "--json");
        Assert.True(code == 0, stderr);
    }

    [Theory]
    [InlineData("../../etc", "not found")]
    [InlineData("xmod-base@../../1.0", "is not a version")]
    [InlineData("xmod-base", "install it with 'xmod-hub install xmod-base'")]
    [InlineData("a b", "not found")]
    public async Task AModelThatLeadsNowhereIsOneLineSayingWhatWasTried(string model, string expected)
    {
        await OneClearLine(expected, "fill-mask", "--model", model, "--lang", "de", "--text", "<mask>");
        await OneClearLine(expected, "encode", "--model", model, "--lang", "de", "--ids", "0,2");
        await OneClearLine(expected, "export-hf", "--model", model, "--out", Path.Combine(Path.GetTempPath(), "xmod-never-written"));
        await OneClearLine(expected, "predict", "--model", model, "--lang", "de", "--text", "x");
    }

    [Fact]
    public async Task TrainingVerbsRefuseATrunkThatLeadsNowhereBeforeWork()
    {
        var corpus = Path.Combine(Path.GetTempPath(), $"xmod-yo-{Guid.NewGuid():N}.txt");
        File.WriteAllText(corpus, "Gbogbo ènìyàn ni a bí ní òmìnira\n");
        File.WriteAllText(corpus + ".tsv", "a\tGbogbo ènìyàn\nb\tni a bí ní òmìnira\n");
        try
        {
            await OneClearLine("trunk 'xmod-nothere' not found", "add-language", "lang-yo", "--corpus", corpus, "--trunk", "xmod-nothere", "--out", corpus + ".out");
            await OneClearLine("trunk '../x' not found", "finetune", "--trunk", "../x", "--train", corpus + ".tsv", "--lang", "yo", "--out", corpus + ".task");
            Assert.False(Directory.Exists(corpus + ".out"));
        }
        finally
        {
            File.Delete(corpus);
            File.Delete(corpus + ".tsv");
        }
    }

    [Fact]
    public async Task AnUnknownOrAmbiguousLanguageIsOneLine()
    {
        var nano = PretrainedNano.Get();
        await OneClearLine("no language 'zz'", "fill-mask", "--model", nano.XModRun, "--lang", "zz", "--text", "<mask>");
        await OneClearLine("no language 'de?DE'", "fill-mask", "--model", nano.XModRun, "--lang", "de\nDE", "--text", "<mask>");
    }
}
