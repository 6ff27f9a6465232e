using System.Text.Json;

namespace Hub.Cli.Tests;

/// <summary>Issue 4's verbs through the real CLI process: add-language, finetune, predict, evaluate-task.</summary>
public sealed class LanguageVerbsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-cli-lang-").FullName;

    public void Dispose() => TempDir.Delete(_dir);

    private CliProcess.Result Run(params string[] args) => CliProcess.RunOk(_dir, args);

    [Fact]
    public void AddYorubaFineTuneOnEnglishPredictInYoruba()
    {
        // The run's shared nano trunk (English, German, French man pages) and Yoruba UDHR corpus; the trunk copied, as the verbs read it.
        var nano = PretrainedNano.Get();
        var corpus = nano.CorpusDir;
        var trunk = PretrainedNano.CopyRun(nano.XModRun, Path.Combine(_dir, "trunk"));
        var trunkFile = Path.Combine(XMod.Runtime.Model.ModelDirectory.Resolve(trunk), "trunk.safetensors");
        var trunkSha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(trunkFile)));

        var module = Path.Combine(_dir, "modules", "lang-yo");
        var added = Run("add-language", "lang-yo", "--corpus", Path.Combine(nano.UdhrDir, "yo_NG", "train.txt"), "--trunk", trunk,
            "--out", module, "--steps", "6", "--batch", "4", "--seq", "32", "--vocab", "600");
        Assert.Contains("added yo_NG", added.StdOut);
        using (var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(module, "xmod.json"))))
        {
            Assert.Equal(trunkSha, manifest.RootElement.GetProperty("trunk").GetProperty("sha256").GetString());
            Assert.Equal("Yoruba", manifest.RootElement.GetProperty("language").GetProperty("english_name").GetString());
        }
        Assert.Equal(trunkSha, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(trunkFile))));

        // A tiny English task: which of two manual sections a paragraph comes from.
        var train = Path.Combine(_dir, "train.tsv");
        File.WriteAllLines(train, File.ReadAllLines(Path.Combine(corpus, "en_XX", "train.txt"))
            .Zip(File.ReadAllLines(Path.Combine(corpus, "en_XX", "train.meta")))
            .Where(x => x.Second.StartsWith("man1", StringComparison.Ordinal) || x.Second.StartsWith("man3", StringComparison.Ordinal))
            .Take(40).Select(x => $"{x.Second[..4]}\t{x.First}"));
        Assert.True(File.ReadAllLines(train).Length >= 8, "too few section 1 and 3 paragraphs in the corpus");
        var task = Path.Combine(_dir, "task");
        var tuned = Run("finetune", "--trunk", trunk, "--train", train, "--lang", "en_XX", "--out", task, "--epochs", "1", "--batch", "8", "--max-length", "48");
        Assert.Contains("task model written", tuned.StdOut);

        var predicted = Run("predict", "--model", task, "--trunk", trunk, "--module", module, "--lang", "yo_NG",
            "--text", "Gbogbo ènìyàn ni a bí ní òmìnira");
        Assert.Matches(@"^man[13]\t\d\.\d{3}\tGbogbo", predicted.StdOut.Trim());
        var accuracy = Run("evaluate-task", "--model", task, "--trunk", trunk, "--lang", "de_DE", "--data", train);
        Assert.Matches($@"accuracy in de_DE: \d+\.\d+ % on {File.ReadAllLines(train).Length} examples", accuracy.StdOut);

        // Without its module, Yoruba is unknown; a module is bound to its trunk.
        var missing = CliProcess.Run(null, "predict", "--model", task, "--trunk", trunk, "--lang", "yo_NG", "--text", "x");
        Assert.Contains("no language 'yo_NG'", missing.StdErr);
        var otherTrunk = nano.SharedRun; // another trunk with English: the SHARED baseline
        var refused = CliProcess.Run(null, "predict", "--model", task, "--trunk", otherTrunk, "--lang", "en_XX", "--text", "x");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("was fine-tuned on trunk", refused.StdErr);
    }
}
