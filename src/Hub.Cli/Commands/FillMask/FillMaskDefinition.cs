using XModHub.Cli.Workflows;
using XMod.Training.Corpora;
using XMod.Runtime.Tasks;
using XModHub.Client.Packages;
using XModHub.Client;
using System.CommandLine;
using System.Text.Json;
using XMod.Runtime.Model;
using XMod.Runtime.Scoring;
using XMod.Training.Pretraining;
using XMod.Training.AddLanguage;
using XMod.Training.FineTuning;
using XMod.Training.Loop;
using XModHub.Cli;

namespace XModHub.Cli.Commands.FillMask;

/// <summary>`xmod-hub fill-mask`: the most likely tokens for each &lt;mask&gt; in a text.</summary>
public static class FillMaskDefinition
{
    public static readonly Option<string> Model = new("--model") { Description = "Model directory or training run", Required = true };
    public static readonly Option<string> Lang = new("--lang") { Description = "Language of the text (its module is used)", Required = true };
    public static readonly Option<string> Text = new("--text") { Description = "Text with one or more <mask>", Required = true };
    public static readonly Option<int> Top = new("--top") { Description = "Predictions per mask", DefaultValueFactory = _ => 5 };
    public static readonly Option<bool> Json = new("--json") { Description = "Print JSON" };

    public static Command Create(IReporter reporter)
    {
        var command = new Command("fill-mask", "Predict the tokens hidden behind <mask>");
        foreach (var o in new Option[] { Model, Lang, Text, Top, Json })
        {
            command.Options.Add(o);
        }
        command.SetAction(p =>
        {
            using var loaded = LoadedModel.Open(p.GetValue(Model)!);
            var predictions = Evaluator.FillMask(loaded.Model, loaded.RequireTokenizer(), p.GetValue(Text)!, p.GetValue(Lang)!, p.GetValue(Top));
            if (p.GetValue(Json))
            {
                reporter.Info(JsonSerializer.Serialize(predictions, new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }
            for (var m = 0; m < predictions.Count; m++)
            {
                reporter.Info($"<mask> {m + 1}: " + string.Join("   ", predictions[m].Select(x => $"{x.Token.Replace('\u2581', ' ').Trim()} ({x.Probability:P1})")));
            }
            return 0;
        });
        return command;
    }
}
