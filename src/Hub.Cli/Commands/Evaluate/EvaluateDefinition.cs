using XModHub.Cli.Workflows;
using XMod.Training.Corpora;
using XMod.Runtime.Tasks;
using XModHub.Client.Packages;
using XModHub.Client;
using System.CommandLine;
using System.Text.Json;
using XMod;
using XMod.Runtime.Model;
using XMod.Runtime.Scoring;
using XMod.Training.Pretraining;
using XMod.Training.AddLanguage;
using XMod.Training.FineTuning;
using XMod.Training.Loop;
using XModHub.Cli;
using XModHub.Cli.Commands.Pretrain;
using CorpusFiles = XMod.Training.Corpora.Corpus;

namespace XModHub.Cli.Commands.Evaluate;

/// <summary>`xmod-hub evaluate`: held-out MLM perplexity per language, with fixed masking.</summary>
public static class EvaluateDefinition
{
    public static readonly Option<string> Model = new("--model") { Description = "Model directory or training run", Required = true };
    public static readonly Option<string> Corpus = new("--corpus") { Description = "Corpus directory", DefaultValueFactory = _ => "data/corpus" };
    public static readonly Option<string?> Langs = new("--langs") { Description = "Languages to evaluate (default: the model's that the corpus has)" };
    public static readonly Option<int> Seq = new("--seq") { Description = "Tokens per example", DefaultValueFactory = _ => 128 };
    public static readonly Option<int> MaxTokens = new("--max-tokens") { Description = "Held-out tokens per language at most", DefaultValueFactory = _ => 50_000 };
    public static readonly Option<bool> Json = new("--json") { Description = "Print JSON" };

    public static Command Create(IReporter reporter)
    {
        var command = new Command("evaluate", "Held-out masked-LM perplexity per language (fixed masking: comparable between runs)");
        foreach (var o in new Option[] { Model, Corpus, Langs, Seq, MaxTokens, Json })
        {
            command.Options.Add(o);
        }
        command.SetAction(p => new EvaluateCommand(reporter).Run(p.GetValue(Model)!, p.GetValue(Corpus)!, p.GetValue(Langs), p.GetValue(Seq), p.GetValue(MaxTokens), p.GetValue(Json)));
        return command;
    }
}

public sealed class EvaluateCommand(IReporter reporter)
{
    public int Run(string modelPath, string corpusDir, string? langs, int seq, int maxTokens, bool json)
    {
        using var loaded = LoadedModel.Open(modelPath);
        var tokenizer = loaded.RequireTokenizer();
        var corpus = CorpusFiles.Open(corpusDir);
        var languages = PretrainDefinition.Split(langs) is { Count: > 0 } l ? l : loaded.Model.Languages.Where(corpus.Languages.Contains).ToList();
        if (languages.Count == 0)
        {
            throw new XModException($"the corpus at {corpusDir} has none of the model's languages ({string.Join(", ", loaded.Model.Languages)})");
        }
        if (seq > loaded.Model.Config.MaxSequenceLength)
        {
            throw new XModException($"--seq {seq} exceeds the model's maximum of {loaded.Model.Config.MaxSequenceLength}");
        }
        var heldOut = CorpusTokens.Load(corpus, languages, tokenizer, Path.Combine(Path.GetTempPath(), "xmod-eval-cache"), heldOut: true);
        var results = Evaluator.Perplexity(loaded.Model, tokenizer, heldOut, languages, seq, maxTokens: maxTokens);
        if (json)
        {
            reporter.Info(JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }
        reporter.Info($"held-out MLM perplexity of {loaded.Directory} ({seq}-token examples, fixed masking)");
        reporter.Info($"{"language",-10} {"perplexity",12} {"masked tokens",14}");
        foreach (var r in results)
        {
            reporter.Info($"{r.Language,-10} {r.Perplexity,12:F2} {r.MaskedTokens,14:N0}");
        }
        return 0;
    }
}
