using System.Diagnostics;
using System.Globalization;
using XMod.Packaging.Manifests;
using XModHub.Core;
using XModHub.Plugins.Contracts;
using XModHub.Plugins.Metadata.PostgreSql;

namespace XMod.Bench;

/// <summary>
/// PostgreSQL search at scale: 100,000 package ids (200,000 rows) bulk-loaded into a throw-away
/// cluster, then the query shapes a hub answers (a word, a rare id, a term matching every package,
/// no text), each timed as the median of several rounds. Replaces a timed test: numbers are reported
/// here, correctness is asserted by Metadata.PostgreSql.Tests on the same synthetic index.
/// </summary>
internal static class HubSearchScaleBench
{
    public static async Task<int> RunAsync(int ids, int rounds)
    {
        var inv = CultureInfo.InvariantCulture;
        await using var cluster = await PostgresCluster.StartAsync();
        var connection = await cluster.CreateDatabaseAsync();
        var store = new PostgreSqlMetadataStore(new PostgreSqlMetadataOptions { ConnectionString = connection });
        await store.InitializeAsync(default);
        var load = Stopwatch.StartNew();
        await SearchCorpus.LoadAsync(connection, ids);
        load.Stop();
        await store.AddAsync(new PackageRecord
        {
            Id = "XMod.Lang.Yo", Version = "1.0.0", Kind = PackageKind.Language, Published = DateTimeOffset.UtcNow, ManifestJson = "{}",
            Size = 1, Sha256 = new string('a', 64), Publisher = "alice", EnglishName = "Yoruba", Bcp47 = "yo",
        }, default);
        // Through the core's search, as the hub answers: the index finds, the core ranks and reads the page.
        var search = new PackageSearch(store);

        var shapes = new (string Name, SearchQuery Query)[]
        {
            ("a word ('yoruba')", new SearchQuery { Text = "yoruba" }),
            ("a rare id ('lang4242.')", new SearchQuery { Text = "lang4242." }),
            ("a term matching every package ('lang')", new SearchQuery { Text = "lang" }),
            ("no text (list all, first page)", new SearchQuery()),
        };
        var rows = new List<string>();
        foreach (var (name, query) in shapes)
        {
            var total = (await search.SearchAsync(query, default)).Total; // warm
            var times = new List<double>();
            for (var r = 0; r < rounds; r++)
            {
                var sw = Stopwatch.StartNew();
                await search.SearchAsync(query, default);
                times.Add(sw.Elapsed.TotalMilliseconds);
            }
            Console.Error.WriteLine(string.Create(inv, $"{name}: {Measure.Median(times):F1} ms"));
            rows.Add(string.Create(inv, $"| {name} | {total} | {Measure.Median(times):F1} | {times.Max():F1} |"));
        }

        Console.WriteLine($"machine: {Measure.Machine()}");
        Console.WriteLine($"date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; PostgreSQL 15 (fsync off, throw-away cluster); medians of {rounds} rounds after one warm-up");
        Console.WriteLine(string.Create(inv, $"index: {ids:N0} ids x 2 versions ({2 * ids:N0} rows) + 1, bulk-loaded with the trigram index built after, in {load.Elapsed.TotalSeconds:F1} s"));
        Console.WriteLine();
        Console.WriteLine("| search | matches | median ms | max ms |");
        Console.WriteLine("|---|---|---|---|");
        rows.ForEach(Console.WriteLine);
        return 0;
    }
}
