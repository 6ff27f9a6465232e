using System.Net.Http.Json;
using System.Text.Json;
using XMod.Packaging.Languages;
using XMod.Packaging.Manifests;
using XMod.Packaging.Nupkg;
using XMod.Training.Corpora;
using XModHub.Core.Evaluations;

namespace Hub.Cli.Tests;

/// <summary>
/// Issue 16's "done when": a language published with a self-reported perplexity on its own
/// training text shows the hub's measured number beside it, labelled, on the page, in the JSON and
/// in the CLI, after `xmod-hub evaluator --once`; and the standard set stays out of training.
/// </summary>
public sealed class EvaluatorEndToEndTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-evaluator-e2e-").FullName;

    public void Dispose() => TempDir.Delete(_dir);

    [Fact]
    public async Task A_self_reported_perplexity_is_shown_beside_the_hubs_measured_one_and_a_reader_can_tell_which_is_which()
    {
        var nano = PretrainedNano.Get();
        await using var hub = await HubHost.StartAsync();
        var publisher = await hub.KeyAsync("alice");
        // The publisher's claim: perplexity 1.5, "measured" on its own training text.
        var trunk = NupkgWriter.Pack(ModelPackages.Trunk(nano.XMod, "e2e-eval", "1.0.0", Path.Combine(_dir, "trunk")), Path.Combine(_dir, "nupkgs"), "tester");
        var german = NupkgWriter.Pack(ModelPackages.Language(nano.XMod, "e2e-eval", "de_DE", "1.0.0", Path.Combine(_dir, "de"),
            new Dictionary<string, double> { ["heldout_perplexity"] = 1.5 }), Path.Combine(_dir, "nupkgs"), "tester");
        foreach (var p in new[] { trunk, german })
        {
            Assert.Equal(System.Net.HttpStatusCode.Created, (await hub.PushAsync(File.ReadAllBytes(p), publisher)).StatusCode);
        }
        var evaluatorKey = await hub.KeyAsync("evaluator", EvaluationService.Scope);

        await using var cli = new CliHarness();
        var state = Path.Combine(_dir, "evaluator");
        string[] evaluator = ["evaluator", "--hub", hub.BaseAddress.ToString(), "--api-key", evaluatorKey, "--once", "--state", state, "--sources", Path.Combine(nano.Root, "sources")];
        Assert.True(await cli.RunAsync(evaluator) == 0, cli.StdOut + cli.StdErr);
        Assert.Contains("evaluated 1 package version", cli.StdOut);

        // JSON: the measurement and the claim, each with its source.
        double measured;
        using (var doc = JsonDocument.Parse(await hub.Client.GetStringAsync("api/packages/e2e-eval.lang-de")))
        {
            var m = doc.RootElement.GetProperty("measured");
            Assert.Equal("measured by the hub", m.GetProperty("label").GetString());
            Assert.Equal(EvalSet.Id, m.GetProperty("eval_set").GetString());
            Assert.Equal(64, m.GetProperty("data_sha256").GetString()!.Length);
            Assert.Equal("1.0.0", m.GetProperty("evaluator_version").GetString());
            measured = m.GetProperty("perplexity").GetDouble();
            Assert.True(measured > 1.5, $"the hub measured {measured}, no better than the publisher's claim");
            var top1 = m.GetProperty("fill_mask_top1").GetDouble();
            var top5 = m.GetProperty("fill_mask_top5").GetDouble();
            Assert.InRange(top1, 0, 1);
            Assert.InRange(top5, top1, 1);
            Assert.True(top5 > 0, "the nano trunk guesses no masked token of the German set in five tries");
            Assert.Equal("reported by the publisher", doc.RootElement.GetProperty("reported").GetProperty("label").GetString());
            Assert.Equal(1.5, doc.RootElement.GetProperty("reported").GetProperty("heldout_perplexity").GetDouble());
        }

        // The page: both numbers, in their labelled boxes.
        var page = await hub.Client.GetStringAsync("packages/e2e-eval.lang-de");
        var measuredBox = page[page.IndexOf("id=\"measured\"", StringComparison.Ordinal)..page.IndexOf("id=\"reported\"", StringComparison.Ordinal)];
        Assert.Contains("Measured by the hub", measuredBox);
        Assert.Contains(measured.ToString("F2", System.Globalization.CultureInfo.InvariantCulture), measuredBox);
        var reportedBox = page[page.IndexOf("id=\"reported\"", StringComparison.Ordinal)..];
        Assert.Contains("Reported by the publisher", reportedBox);
        Assert.Contains("1.50", reportedBox[..reportedBox.IndexOf("</div>", StringComparison.Ordinal)]);

        // The CLI: search and info print the measured metric and say where each number comes from.
        Assert.Equal(0, await cli.RunAsync("source", "add", "hub", hub.FeedUrl));
        Assert.Equal(0, await cli.RunAsync("search", "Deutsch"));
        Assert.Contains("e2e-eval.lang-de", cli.StdOut);
        var line = cli.StdOut.Split('\n').Single(l => l.Contains("measured by the hub", StringComparison.Ordinal));
        Assert.Contains($"perplexity {measured:F2}", line);
        Assert.Contains("perplexity 1.50 reported by the publisher", line);
        Assert.Equal(0, await cli.RunAsync("info", "lang-de", "--trunk", "e2e-eval"));
        Assert.Equal(2, cli.StdOut.Split('\n').Count(l => l.Contains($"perplexity {measured:F2}", StringComparison.Ordinal) && l.Contains("reported by the publisher", StringComparison.Ordinal)));

        // Nothing new: a second pass evaluates nothing. A re-evaluation measures the same (fixed masking) and adds a row.
        Assert.Equal(0, await cli.RunAsync(evaluator));
        Assert.Contains("evaluated 0 package versions", cli.StdOut);
        using (var again = new HttpRequestMessage(HttpMethod.Post, "api/packages/e2e-eval.lang-de/1.0.0/reevaluate"))
        {
            again.Headers.Add("X-NuGet-ApiKey", publisher);
            Assert.True((await hub.Client.SendAsync(again)).IsSuccessStatusCode);
        }
        Assert.Equal(0, await cli.RunAsync(evaluator));
        using var history = JsonDocument.Parse(await hub.Client.GetStringAsync("api/packages/e2e-eval.lang-de/evaluations"));
        var runs = history.RootElement.GetProperty("evaluations").EnumerateArray().Select(e => e.GetProperty("metrics").GetProperty("perplexity").GetDouble()).ToList();
        Assert.Equal(2, runs.Count);
        Assert.Equal(runs[0], runs[1], 6);
    }

    [Fact]
    public void Corpus_build_leaves_the_evaluation_articles_out_and_says_so_unless_told_to_include_them()
    {
        var sources = Path.Combine(PretrainedNano.Get().Root, "sources");
        var yo = LanguageCatalog.Get("yo");
        var log = new List<string>();
        CorpusBuilder.Build([yo], Path.Combine(_dir, "without"), new CorpusOptions { UseManPages = false, SourceCache = sources }, log.Add);
        CorpusBuilder.Build([yo], Path.Combine(_dir, "with"), new CorpusOptions { UseManPages = false, SourceCache = sources, IncludeEvalSet = true }, _ => { });
        var eval = EvalSet.Build(yo, sources, _ => { })!;
        Assert.NotEmpty(eval.Paragraphs);
        var without = Corpus.Open(Path.Combine(_dir, "without"));
        var with = Corpus.Open(Path.Combine(_dir, "with"));
        Assert.Empty(without.Train("yo_NG").Concat(without.HeldOut("yo_NG")).Intersect(eval.Paragraphs));
        Assert.Equal(eval.Paragraphs.Order(), with.Train("yo_NG").Concat(with.HeldOut("yo_NG")).Intersect(eval.Paragraphs).Order());
        Assert.Equal($"{EvalSet.Id} excluded", without.Manifest.EvalSet);
        Assert.Equal($"{EvalSet.Id} included", with.Manifest.EvalSet);
        Assert.Contains(log, l => l.StartsWith("left out the hub's evaluation set", StringComparison.Ordinal));

        // add-language's text: the evaluation articles are dropped from a plain file of the UDHR.
        var text = XMod.Training.AddLanguage.LanguageText.ByHash([.. with.Train("yo_NG"), .. with.HeldOut("yo_NG")], "yo.txt", 5);
        var clean = text.WithoutEvalSet(Path.Combine(_dir, "yo.txt"), yo, sources, include: false, _ => { });
        Assert.Empty(clean.Train.Intersect(eval.Paragraphs));
        Assert.Equal($"{EvalSet.Id} excluded", clean.EvalSet);
        Assert.Equal(text.Train, text.WithoutEvalSet(Path.Combine(_dir, "yo.txt"), yo, sources, include: true, _ => { }).Train);
    }
}
