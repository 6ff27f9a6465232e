using System.Text.Json;
using XMod;
using XMod.Runtime.Model;
using XMod.Runtime.Scoring;
using XMod.Training.Corpora;
using XModHub.Client;
using CorpusFiles = XMod.Training.Corpora.Corpus;

namespace XModHub.Cli.Commands.Evaluate;

public sealed class EvaluateCommand(IReporter reporter)
{
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    public int Run(string modelPath, string corpusDir, string? langs, int seq, int maxTokens, bool json)
    {
        using var loaded = LoadedModel.Open(modelPath, options: ModelLoadOptions.Inference);
        var tokenizer = loaded.RequireTokenizer();
        var corpus = CorpusFiles.Open(corpusDir);
        var languages = corpus.LanguagesFor(CommaList.Split(langs), loaded.Model.Languages);
        if (seq > loaded.Model.Config.MaxSequenceLength)
        {
            throw new XModException($"--seq {seq} exceeds the model's maximum of {loaded.Model.Config.MaxSequenceLength}");
        }
        var heldOut = CorpusTokens.Load(corpus, languages, tokenizer, Path.Combine(Path.GetTempPath(), "xmod-eval-cache"), heldOut: true);
        var results = Evaluator.Perplexity(loaded.Model, tokenizer, heldOut, languages, seq, maxTokens: maxTokens);
        if (json)
        {
            reporter.Info(JsonSerializer.Serialize(results, s_json));
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
