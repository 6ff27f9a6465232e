using System.Text.Json;
using XMod;
using XMod.Runtime.Model;
using XMod.Runtime.Scoring;
using XMod.Training.Corpora;
using XModHub.Client;
using CorpusFiles = XMod.Training.Corpora.Corpus;

namespace XModHub.Cli.Commands.Evaluate;

public sealed class EvaluateCommand(IReporter reporter, CliPaths paths)
{
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    /// <param name="modelPath">A model directory, a training run or an installed trunk (its installed languages are used).</param>
    public int Run(string modelPath, string corpusDir, string? langs, int seq, int maxTokens, bool json)
    {
        var corpus = CorpusFiles.Open(corpusDir);
        // Any form of a language (it, ita, it-IT, lang-it), resolved against the corpus first.
        var requested = CommaList.Split(langs) is { Count: > 0 } typed ? corpus.SelectLanguages(typed) : null;
        using var loaded = ModelLocator.Open(modelPath, paths.Home, requested ?? [], ModelLoadOptions.Inference);
        if (requested is null && loaded.Model.Languages.Count == 0)
        {
            // An installed trunk has no languages of its own: those installed for it that the corpus has.
            var installed = ModelLocator.InstalledLanguages(paths.Home, loaded.TrunkSha256).Select(p => p.Language).OfType<string>().Where(corpus.Languages.Contains).ToList();
            ModelLocator.EnsureLanguages(loaded, installed, paths.Home, modelPath);
        }
        var languages = requested is null ? corpus.LanguagesFor([], loaded.Model.Languages) : ModelLocator.EnsureLanguages(loaded, requested, paths.Home, modelPath);
        if (seq > loaded.Model.Config.MaxSequenceLength)
        {
            throw new XModException($"--seq {seq} exceeds the model's maximum of {loaded.Model.Config.MaxSequenceLength}");
        }
        // Each language with its own tokenizer (a language added later may have its own vocabulary).
        var results = new List<LanguagePerplexity>();
        foreach (var language in languages)
        {
            var tokenizer = loaded.TokenizerFor(language);
            var heldOut = CorpusTokens.Load(corpus, [language], tokenizer, Path.Combine(Path.GetTempPath(), "xmod-eval-cache"), heldOut: true);
            results.AddRange(Evaluator.Perplexity(loaded.Model, tokenizer, heldOut, [language], seq, maxTokens: maxTokens));
        }
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
