using System.Globalization;
using System.Net;

namespace XMod.Tensors.Distributed;

/// <summary>
/// Where this process stands in a multi-process run, from the variables torchrun sets for each
/// rank: MASTER_ADDR and MASTER_PORT (rank 0's rendezvous), RANK, WORLD_SIZE and LOCAL_RANK (the
/// rank among those on this machine). Several machines join one run by setting them by hand.
/// </summary>
public sealed record DistributedEnvironment(string MasterAddress, int MasterPort, int Rank, int WorldSize, int LocalRank)
{
    public const string MasterAddressVariable = "MASTER_ADDR";
    public const string MasterPortVariable = "MASTER_PORT";
    public const string RankVariable = "RANK";
    public const string WorldSizeVariable = "WORLD_SIZE";
    public const string LocalRankVariable = "LOCAL_RANK";

    private static readonly string[] s_variables =
        [MasterAddressVariable, MasterPortVariable, RankVariable, WorldSizeVariable, LocalRankVariable];

    /// <summary>Rank 0: the one that writes checkpoints and reports progress.</summary>
    public bool IsLeader => Rank == 0;

    /// <summary>This process's variables; null when none is set (a single-process run).</summary>
    public static DistributedEnvironment? FromEnvironment() => Parse(Environment.GetEnvironmentVariable);

    /// <summary>
    /// Reads and checks the five variables through <paramref name="lookup"/>; null when none is
    /// set. A partial or malformed set is an error naming the variable, never a guess.
    /// </summary>
    public static DistributedEnvironment? Parse(Func<string, string?> lookup)
    {
        ArgumentNullException.ThrowIfNull(lookup);
        var values = s_variables.ToDictionary(v => v, v => lookup(v));
        if (values.Values.All(string.IsNullOrEmpty))
        {
            return null;
        }
        var missing = s_variables.Where(v => string.IsNullOrEmpty(values[v])).ToList();
        if (missing.Count > 0)
        {
            var set = string.Join(", ", s_variables.Where(v => !string.IsNullOrEmpty(values[v])));
            throw new DistributedException(
                $"{string.Join(", ", missing)} {(missing.Count == 1 ? "is" : "are")} not set but {set} {(missing.Count == 4 ? "is" : "are")}: " +
                "a distributed run needs all of MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE and LOCAL_RANK (as torchrun sets them)");
        }
        var worldSize = Integer(WorldSizeVariable, values[WorldSizeVariable]!, 1, 65536);
        var rank = Integer(RankVariable, values[RankVariable]!, 0, worldSize - 1);
        var localRank = Integer(LocalRankVariable, values[LocalRankVariable]!, 0, rank);
        var port = Integer(MasterPortVariable, values[MasterPortVariable]!, 1, 65535);
        var address = Address(values[MasterAddressVariable]!);
        return new DistributedEnvironment(address, port, rank, worldSize, localRank);
    }

    private static int Integer(string variable, string text, int min, int max)
    {
        if (!int.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            throw new DistributedException($"{variable}={Quote(text)} is not an integer");
        }
        if (value < min || value > max)
        {
            var why = variable switch
            {
                RankVariable => $"must lie in [0, WORLD_SIZE - 1] = [0, {max}]",
                LocalRankVariable => $"must lie in [0, RANK] = [0, {max}]",
                _ => $"must lie in [{min}, {max}]",
            };
            throw new DistributedException($"{variable}={value} {why}");
        }
        return value;
    }

    // A host name (RFC 1123 labels) or an IPv4/IPv6 literal; anything else (spaces, control
    // characters, a URL) is refused before it reaches the resolver.
    private static string Address(string text)
    {
        var host = text.Trim();
        if (host.Length is > 0 and <= 253)
        {
            var literal = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
            if (IPAddress.TryParse(literal, out var ip) && (literal.Contains(':') || ip.ToString() == literal))
            {
                return literal;
            }
            if (Uri.CheckHostName(host) == UriHostNameType.Dns && host.Split('.').All(IsLabel))
            {
                return host;
            }
        }
        throw new DistributedException($"{MasterAddressVariable}={Quote(text)} is not a host name or IP address");
    }

    private static bool IsLabel(string label) =>
        label.Length is > 0 and <= 63 && label[0] != '-' && label[^1] != '-' &&
        label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');

    /// <summary>The value as it can be shown in one line: control characters escaped, long values cut.</summary>
    private static string Quote(string text)
    {
        var shown = new string([.. text.Take(64).Select(c => char.IsControl(c) ? '?' : c)]);
        return $"'{shown}{(text.Length > 64 ? "..." : "")}'";
    }
}
