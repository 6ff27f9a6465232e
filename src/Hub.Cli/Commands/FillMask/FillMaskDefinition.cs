using System.CommandLine;

namespace XModHub.Cli.Commands.FillMask;

/// <summary>`xmod-hub fill-mask`: the most likely tokens for each &lt;mask&gt; in a text.</summary>
public static class FillMaskDefinition
{
    public static readonly Option<string> Model = new("--model") { Description = "A model: an installed id (xmod-base), a model directory or a training run", Required = true };
    public static readonly Option<string> Lang = new("--lang") { Description = "Language of the text (its module is used)", Required = true };
    public static readonly Option<string> Text = new("--text") { Description = "Text with one or more <mask>", Required = true };
    public static readonly Option<int> Top = new("--top") { Description = "Predictions per mask", DefaultValueFactory = _ => 5 };
    public static readonly Option<bool> Json = new("--json") { Description = "Print JSON" };

    public static Command Create(IServiceProvider services)
    {
        var command = new Command("fill-mask", "Predict the tokens hidden behind <mask>") { Model, Lang, Text, Top, Json };
        command.Action = CliAction.For<FillMaskCommand>(services, (c, p, _) => c.Run(p.GetValue(Model)!, p.GetValue(Lang)!, p.GetValue(Text)!, p.GetValue(Top), p.GetValue(Json)));
        return command;
    }
}
