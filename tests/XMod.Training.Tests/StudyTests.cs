using XMod.Training.Studies;

namespace XMod.Training.Tests;

/// <summary>The paper-reproduction studies at smoke-test scale: every configuration runs, resumes, and reports.</summary>
public sealed class StudyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-study-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void QuickStudiesRunEveryConfigurationAndWriteTablesAndPlots()
    {
        var log = new List<string>();
        var ws = new StudyWorkspace(_dir, StudySettings.Quick, log.Add);
        var report = StudyReport.Run(ws, StudyReport.Names, log.Add, CancellationToken.None);

        var text = File.ReadAllText(report);
        Assert.Contains("## The curse of multilinguality and its lifting", text);
        Assert.Contains("| 2 | ", text);
        Assert.Contains("| 3 | ", text);
        Assert.Contains("## Languages added later vs pre-trained", text);
        Assert.Contains("| fr_XX | ", text);
        Assert.Contains("## Zero-shot cross-lingual transfer", text);
        Assert.True(File.Exists(Path.Combine(_dir, "curse.svg")));
        Assert.Contains("<polyline", File.ReadAllText(Path.Combine(_dir, "curse.svg")));
        // Perplexities are real numbers from trained models, within the vocabulary's bounds.
        var results = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, double>>(File.ReadAllText(Path.Combine(_dir, "results.json")))!;
        var curse = results.Where(kv => kv.Key.StartsWith("curse/", StringComparison.Ordinal)).Select(kv => kv.Value).ToList();
        Assert.NotEmpty(curse);
        Assert.All(curse, p => Assert.InRange(p, 1.0, 700.0));
        // Transfer: fine-tuned in German, an accuracy per model for every language of the 3-language
        // trunks with enough test paragraphs, on real test pages; the source language is one of them.
        var key = TransferStudy.Key(StudySettings.Quick);
        Assert.StartsWith("transfer/de_DE-e1-", key);
        Assert.InRange(results[$"{key}/examples/de_DE"], 2 * TransferStudy.MinTestPerClass, 800);
        Assert.InRange(results[$"{key}/examples/fr_XX"], 2 * TransferStudy.MinTestPerClass, 800);
        foreach (var lang in new[] { "en_XX", "de_DE", "fr_XX" })
        {
            Assert.InRange(results[$"{key}/s1/X-MOD/{lang}"], 0.0, 1.0);
            Assert.InRange(results[$"{key}/s1/SHARED/{lang}"], 0.0, 1.0);
        }
        Assert.Contains("| de_DE (source) | ", text);
        Assert.Contains("| fr_XX | ", text);

        // A second invocation resumes: nothing is trained again, the same numbers come out.
        log.Clear();
        var again = StudyReport.Run(new StudyWorkspace(_dir, StudySettings.Quick, log.Add), StudyReport.Names, log.Add, CancellationToken.None);
        Assert.DoesNotContain(log, l => l.Contains(" step ", StringComparison.Ordinal));
        Assert.Equal(results, System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, double>>(File.ReadAllText(Path.Combine(_dir, "results.json"))));
        Assert.Equal(File.ReadAllLines(report).Skip(1).Where(l => !l.StartsWith("Compute:", StringComparison.Ordinal)),
            File.ReadAllLines(again).Skip(1).Where(l => !l.StartsWith("Compute:", StringComparison.Ordinal)));
    }
}
