using System.Globalization;
using System.Text.Json;
using XMod;
using XMod.Runtime.Model;
using XMod.Runtime.Tokenization;
using XModHub.Client;

namespace XModHub.Cli.Commands.Encode;

public sealed class EncodeCommand(IReporter reporter, CliPaths paths)
{
    public int Run(string modelPath, string lang, string? text, string? idList, bool json)
    {
        if ((text is null) == (idList is null))
        {
            throw new XModException("give exactly one of --text and --ids");
        }
        // A model directory, a run or an installed id; a language it lacks comes from the packages installed for its trunk.
        using var loaded = ModelLocator.Open(modelPath, paths.Home, [lang], ModelLoadOptions.Inference);
        lang = loaded.Model.ResolveLanguage(lang);
        var ids = text is not null
            ? loaded.TokenizerFor(lang).Encode(text, loaded.Model.Config.MaxSequenceLength).Select(i => (long)i).ToArray()
            : TokenIds.Parse(idList!, (int)loaded.Model.VocabSizeOf(lang));
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
