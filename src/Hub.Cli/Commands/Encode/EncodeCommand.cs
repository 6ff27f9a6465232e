using System.Globalization;
using System.Text.Json;
using XMod;
using XMod.Runtime.Model;
using XMod.Runtime.Tokenization;
using XModHub.Client;

namespace XModHub.Cli.Commands.Encode;

public sealed class EncodeCommand(IReporter reporter)
{
    public int Run(string modelPath, string lang, string? text, string? idList, bool json)
    {
        if ((text is null) == (idList is null))
        {
            throw new XModException("give exactly one of --text and --ids");
        }
        using var loaded = LoadedModel.Open(modelPath, options: ModelLoadOptions.Inference);
        var ids = text is not null
            ? loaded.RequireTokenizer().Encode(text, loaded.Model.Config.MaxSequenceLength).Select(i => (long)i).ToArray()
            : TokenIds.Parse(idList!, loaded.Model.Config.VocabSize);
        var rows = loaded.Model.LastHiddenState(ids, lang);
        if (json)
        {
            reporter.Info(JsonSerializer.Serialize(new Dictionary<string, float[][]> { ["last_hidden_state"] = rows }));
            return 0;
        }
        reporter.Info($"last_hidden_state: {ids.Length} tokens x {loaded.Model.Config.HiddenSize} ({lang})");
        for (var t = 0; t < ids.Length; t++)
        {
            reporter.Info($"{ids[t],8}  [{string.Join(", ", rows[t].Take(6).Select(v => v.ToString("F4", CultureInfo.InvariantCulture)))}, ...]");
        }
        return 0;
    }
}
