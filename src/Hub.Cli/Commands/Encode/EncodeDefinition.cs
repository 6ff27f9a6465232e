using XModHub.Cli.Workflows;
using XMod.Training.Corpora;
using XMod.Runtime.Tasks;
using XModHub.Client.Packages;
using XModHub.Client;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using XMod;
using XMod.Runtime.Model;
using XMod.Tensors;
using XModHub.Cli;

namespace XModHub.Cli.Commands.Encode;

/// <summary>`xmod-hub encode`: the last hidden state of a text or of token ids in one language.</summary>
public static class EncodeDefinition
{
    public static readonly Option<string> Model = new("--model") { Description = "Model directory or training run", Required = true };
    public static readonly Option<string> Lang = new("--lang") { Description = "Language (its module is used), e.g. de_DE", Required = true };
    public static readonly Option<string?> Text = new("--text") { Description = "Text to encode (needs the model's tokenizer)" };
    public static readonly Option<string?> Ids = new("--ids") { Description = "Token ids, comma-separated, e.g. 0,581,10269,2" };
    public static readonly Option<bool> Json = new("--json") { Description = "Print {\"last_hidden_state\": [[...], ...]} (one row per token)" };

    public static Command Create(IReporter reporter)
    {
        var command = new Command("encode", "Encode a text (or token ids) and print the last hidden state");
        foreach (var o in new Option[] { Model, Lang, Text, Ids, Json })
        {
            command.Options.Add(o);
        }
        command.SetAction(p => new EncodeCommand(reporter).Run(p.GetValue(Model)!, p.GetValue(Lang)!, p.GetValue(Text), p.GetValue(Ids), p.GetValue(Json)));
        return command;
    }
}

public sealed class EncodeCommand(IReporter reporter)
{
    public int Run(string modelPath, string lang, string? text, string? idList, bool json)
    {
        if ((text is null) == (idList is null))
        {
            throw new XModException("give exactly one of --text and --ids");
        }
        using var loaded = LoadedModel.Open(modelPath);
        var ids = text is not null
            ? loaded.RequireTokenizer().Encode(text, loaded.Model.Config.MaxSequenceLength).Select(i => (long)i).ToArray()
            : ParseIds(idList!, loaded.Model.Config.VocabSize);
        loaded.Model.Training = false;
        using var scope = DisposeScope.Begin();
        using var inference = Torch.InferenceMode();
        var hidden = loaded.Model.Encode(Tensor.From(ids, 1, ids.Length), null, [lang]);
        var values = hidden.ToArray<float>();
        var h = loaded.Model.Config.HiddenSize;
        var rows = Enumerable.Range(0, ids.Length).Select(t => values.AsSpan(t * h, h).ToArray()).ToArray();
        if (json)
        {
            reporter.Info(JsonSerializer.Serialize(new Dictionary<string, float[][]> { ["last_hidden_state"] = rows }));
            return 0;
        }
        reporter.Info($"last_hidden_state: {ids.Length} tokens x {h} ({lang})");
        for (var t = 0; t < ids.Length; t++)
        {
            reporter.Info($"{ids[t],8}  [{string.Join(", ", rows[t].Take(6).Select(v => v.ToString("F4", CultureInfo.InvariantCulture)))}, ...]");
        }
        return 0;
    }

    private static long[] ParseIds(string list, int vocab)
    {
        var ids = new List<long>();
        foreach (var part in list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!long.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out var id) || id < 0 || id >= vocab)
            {
                throw new XModException($"--ids: '{part}' is not a token id in [0, {vocab})");
            }
            ids.Add(id);
        }
        return ids.Count > 0 ? [.. ids] : throw new XModException("--ids is empty");
    }
}
