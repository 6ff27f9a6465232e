using System.Text.Json;
using XMod.Runtime.Model;
using XMod.Runtime.Scoring;
using XModHub.Client;

namespace XModHub.Cli.Commands.FillMask;

public sealed class FillMaskCommand(IReporter reporter)
{
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    public int Run(string modelPath, string lang, string text, int top, bool json)
    {
        using var loaded = LoadedModel.Open(modelPath, options: ModelLoadOptions.Inference);
        var predictions = Evaluator.FillMask(loaded.Model, loaded.RequireTokenizer(), text, lang, top);
        if (json)
        {
            reporter.Info(JsonSerializer.Serialize(predictions, s_json));
            return 0;
        }
        for (var m = 0; m < predictions.Count; m++)
        {
            reporter.Info($"<mask> {m + 1}: " + string.Join("   ", predictions[m].Select(x => $"{x.Token.Replace('\u2581', ' ').Trim()} ({x.Probability:P1})")));
        }
        return 0;
    }
}
