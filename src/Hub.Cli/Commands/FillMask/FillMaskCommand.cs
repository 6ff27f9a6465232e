using System.Text;
using System.Text.Json;
using XMod;
using XMod.Runtime.Model;
using XMod.Runtime.Scoring;
using XModHub.Client;

namespace XModHub.Cli.Commands.FillMask;

public sealed class FillMaskCommand(IReporter reporter, CliPaths paths)
{
    public const int MaxTop = 100;

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    public int Run(string modelPath, string lang, string text, int top, bool json)
    {
        if (top is < 1 or > MaxTop)
        {
            throw new XModException($"--top {top} must lie between 1 and {MaxTop}");
        }
        // A model directory, a run or an installed id; a language it lacks comes from the packages installed for its trunk.
        using var loaded = ModelLocator.Open(modelPath, paths.Home, [lang], ModelLoadOptions.Inference);
        lang = loaded.Model.ResolveLanguage(lang);
        var predictions = Evaluator.FillMask(loaded.Model, loaded.TokenizerFor(lang), text, lang, top);
        if (json)
        {
            reporter.Info(JsonSerializer.Serialize(predictions, s_json));
            return 0;
        }
        reporter.Info(Filled(text, predictions.Select(p => p[0].Token).ToList()));
        for (var m = 0; m < predictions.Count; m++)
        {
            reporter.Info($"  <mask> {m + 1}: " + string.Join("   ", predictions[m].Select(x => $"{Readable(x.Token)} {x.Probability:P1}")));
        }
        return 0;
    }

    /// <summary>A SentencePiece piece as people read it: '▁' (a word's start) as a space, quoted so the space shows.</summary>
    public static string Readable(string piece) => piece.StartsWith('<') && piece.EndsWith('>') ? piece : $"\"{piece.Replace('\u2581', ' ')}\"";

    /// <summary>The text with each &lt;mask&gt; replaced by its most likely piece, spaced as the piece says.</summary>
    public static string Filled(string text, IReadOnlyList<string> best)
    {
        var parts = text.Split("<mask>");
        var sb = new StringBuilder(parts[0]);
        for (var i = 1; i < parts.Length; i++)
        {
            var piece = best[i - 1];
            var word = piece.Replace('\u2581', ' ');
            if (word.StartsWith(' '))
            {
                // A word's start: one space before it, whatever the text had.
                while (sb.Length > 0 && sb[^1] == ' ')
                {
                    sb.Length--;
                }
                word = sb.Length == 0 ? word.TrimStart() : word;
            }
            sb.Append(word).Append(parts[i]);
        }
        return sb.ToString();
    }
}
