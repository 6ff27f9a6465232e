using System.CommandLine;

namespace XModHub.Cli.Commands.Encode;

/// <summary>`xmod-hub encode`: the last hidden state of a text or of token ids in one language.</summary>
public static class EncodeDefinition
{
    public static readonly Option<string> Model = new("--model") { Description = "A model: an installed id (xmod-base), a model directory or a training run", Required = true };
    public static readonly Option<string> Lang = new("--lang") { Description = "Language (its module is used), e.g. de_DE", Required = true };
    public static readonly Option<string?> Text = new("--text") { Description = "Text to encode (needs the model's tokenizer)" };
    public static readonly Option<string?> Ids = new("--ids") { Description = "Token ids, comma-separated, e.g. 0,581,10269,2" };
    public static readonly Option<bool> Json = new("--json") { Description = "Print {\"last_hidden_state\": [[...], ...]} (one row per token)" };

    public static Command Create(IServiceProvider services)
    {
        var command = new Command("encode", "Encode a text (or token ids) and print the last hidden state") { Model, Lang, Text, Ids, Json };
        command.Action = CliAction.For<EncodeCommand>(services, (c, p, _) => c.Run(p.GetValue(Model)!, p.GetValue(Lang)!, p.GetValue(Text), p.GetValue(Ids), p.GetValue(Json)));
        return command;
    }
}
