using System.Globalization;

namespace XMod.Runtime.Tokenization;

public static class TokenIds
{
    /// <summary>"0,581,10269,2" -> ids, each checked against the vocabulary.</summary>
    public static long[] Parse(string list, int vocabSize)
    {
        var ids = new List<long>();
        foreach (var part in list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!long.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out var id) || id < 0 || id >= vocabSize)
            {
                throw new XModException($"--ids: '{part}' is not a token id in [0, {vocabSize})");
            }
            ids.Add(id);
        }
        return ids.Count > 0 ? [.. ids] : throw new XModException("--ids is empty");
    }
}
