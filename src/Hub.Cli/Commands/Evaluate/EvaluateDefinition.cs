using System.CommandLine;

namespace XModHub.Cli.Commands.Evaluate;

/// <summary>`xmod-hub evaluate`: held-out MLM perplexity per language, with fixed masking.</summary>
public static class EvaluateDefinition
{
    public static readonly Option<string> Model = new("--model") { Description = "A model: an installed id (xmod-base; its installed languages are used), a model directory or a training run", Required = true };
    public static readonly Option<string> Corpus = new("--corpus") { Description = "Corpus directory", DefaultValueFactory = _ => "data/corpus" };
    public static readonly Option<string?> Langs = new("--langs") { Description = "Languages to evaluate (default: the model's that the corpus has)" };
    public static readonly Option<int> Seq = new("--seq") { Description = "Tokens per example", DefaultValueFactory = _ => 128 };
    public static readonly Option<int> MaxTokens = new("--max-tokens") { Description = "Held-out tokens per language at most", DefaultValueFactory = _ => 50_000 };
    public static readonly Option<bool> Json = new("--json") { Description = "Print JSON" };

    public static Command Create(IServiceProvider services)
    {
        var command = new Command("evaluate", "Held-out masked-LM perplexity per language (fixed masking: comparable between runs)") { Model, Corpus, Langs, Seq, MaxTokens, Json };
        command.Action = CliAction.For<EvaluateCommand>(services, (c, p, _) =>
            c.Run(p.GetValue(Model)!, p.GetValue(Corpus)!, p.GetValue(Langs), p.GetValue(Seq), p.GetValue(MaxTokens), p.GetValue(Json)));
        return command;
    }
}
