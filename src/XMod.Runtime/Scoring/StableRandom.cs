namespace XMod.Runtime.Scoring;

/// <summary>
/// SplitMix64: a small generator whose output depends only on its seed, on every machine and
/// .NET version. Training derives one per purpose and step (<see cref="For"/>), so a run resumed
/// at step k draws exactly what the uninterrupted run drew.
/// </summary>
public sealed class StableRandom(ulong seed)
{
    private ulong _state = seed;

    public static StableRandom For(params ulong[] parts) => new(Mix(parts));

    public static ulong Mix(params ulong[] parts)
    {
        var h = 0x9E3779B97F4A7C15UL;
        foreach (var p in parts)
        {
            h = Finalize(h ^ Finalize(p + 0x9E3779B97F4A7C15UL));
        }
        return h;
    }

    /// <summary>A stable 64-bit hash of a string (FNV-1a), for use in <see cref="Mix"/>.</summary>
    public static ulong Hash(string s)
    {
        var h = 14695981039346656037UL;
        foreach (var c in s)
        {
            h = (h ^ c) * 1099511628211UL;
        }
        return h;
    }

    public ulong NextUInt64()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Finalize(_state);
    }

    /// <summary>Uniform in [0, 1) with 53 bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, n) (Lemire's method, without modulo bias).</summary>
    public int NextInt(int n)
    {
        if (n <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(n));
        }
        var threshold = (ulong)(-n) % (ulong)n;
        while (true)
        {
            var r = NextUInt64() >> 32;
            var m = r * (ulong)n;
            if ((uint)m >= threshold)
            {
                return (int)(m >> 32);
            }
        }
    }

    /// <summary>An index drawn with the given (unnormalised, non-negative) weights.</summary>
    public int Categorical(IReadOnlyList<double> weights)
    {
        var total = weights.Sum();
        var x = NextDouble() * total;
        for (var i = 0; i < weights.Count; i++)
        {
            x -= weights[i];
            if (x < 0)
            {
                return i;
            }
        }
        return weights.Count - 1;
    }

    public void Shuffle<T>(T[] items)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private static ulong Finalize(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
