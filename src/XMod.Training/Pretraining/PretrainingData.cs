using System.Text.Json.Serialization;
using XMod.Runtime.Scoring;
using XMod.Runtime.Tokenization;

namespace XMod.Training.Pretraining;

/// <summary>Where one language's data cursor stands: the epoch and the position in its shuffled block order.</summary>
public sealed record DataCursor(
    [property: JsonPropertyName("epoch")] int Epoch,
    [property: JsonPropertyName("position")] int Position);

/// <summary>One training batch: a single language's examples, masked for MLM.</summary>
public sealed record MlmBatch(string Language, long[] InputIds, long[] Labels, int BatchSize, int Length);

/// <summary>
/// Per-language batches for pre-training. The language of each batch is drawn with exponentially
/// smoothed probabilities q_i ∝ (n_i / N)^α (paper 4.2, α = 0.7) over token counts n_i; each
/// language walks its blocks in a fresh shuffled order every epoch. Everything is a function of
/// (seed, step, cursors), so a run resumed from its cursors draws the same batches.
/// </summary>
public sealed class PretrainingData
{
    private readonly TokenStreams _streams;
    private readonly Dictionary<string, DataCursor> _cursors;
    private readonly Dictionary<string, (int Epoch, int[] Order)> _orders = new(StringComparer.Ordinal);

    public PretrainingData(TokenStreams streams, IReadOnlyList<string> languages, int batchSize, int length, double alpha, ulong seed,
        IReadOnlyDictionary<string, DataCursor>? cursors = null)
    {
        if (length < 8)
        {
            throw new XModException($"sequence length {length} is too short (at least 8)");
        }
        _streams = streams;
        Languages = languages;
        BatchSize = batchSize;
        Length = length;
        Seed = seed;
        var sizes = languages.Select(l => (double)streams.Streams[l].Length).ToArray();
        var total = sizes.Sum();
        var smoothed = sizes.Select(n => Math.Pow(n / total, alpha)).ToArray();
        var z = smoothed.Sum();
        Probabilities = smoothed.Select(q => q / z).ToArray();
        _cursors = languages.ToDictionary(l => l, l => cursors?.GetValueOrDefault(l) ?? new DataCursor(0, 0), StringComparer.Ordinal);
    }

    public IReadOnlyList<string> Languages { get; }

    public int BatchSize { get; }

    public int Length { get; }

    public ulong Seed { get; }

    /// <summary>Sampling probability of each language (same order as <see cref="Languages"/>).</summary>
    public IReadOnlyList<double> Probabilities { get; }

    public IReadOnlyDictionary<string, DataCursor> Cursors => _cursors;

    /// <summary>The batch of 1-based step <paramref name="step"/>.</summary>
    public MlmBatch Next(int step, double maskProbability, int maskId, int firstRegularId, Func<long, bool> isSpecial)
    {
        var language = Languages[StableRandom.For(Seed, (ulong)step, 1).Categorical(Probabilities)];
        var stream = _streams.Streams[language];
        var blocks = TokenStreams.BlockCount(stream, Length);
        var ids = new long[BatchSize * Length];
        var cursor = _cursors[language];
        for (var b = 0; b < BatchSize; b++)
        {
            if (cursor.Position >= blocks)
            {
                cursor = new DataCursor(cursor.Epoch + 1, 0);
            }
            var block = Order(language, cursor.Epoch, blocks)[cursor.Position];
            TokenStreams.Block(stream, block, Length).CopyTo(ids, b * Length);
            cursor = cursor with { Position = cursor.Position + 1 };
        }
        _cursors[language] = cursor;
        var labels = MlmMasking.Apply(ids, Length, StableRandom.For(Seed, (ulong)step, 2), maskProbability, maskId, firstRegularId, isSpecial);
        return new MlmBatch(language, ids, labels, BatchSize, Length);
    }

    private int[] Order(string language, int epoch, int blocks)
    {
        if (_orders.TryGetValue(language, out var cached) && cached.Epoch == epoch)
        {
            return cached.Order;
        }
        var order = Enumerable.Range(0, blocks).ToArray();
        StableRandom.For(Seed, StableRandom.Hash(language), (ulong)epoch).Shuffle(order);
        _orders[language] = (epoch, order);
        return order;
    }
}
