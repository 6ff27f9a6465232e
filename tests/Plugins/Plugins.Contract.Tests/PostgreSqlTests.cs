using System.Diagnostics;
using Npgsql;
using NuGet.Versioning;
using XMod;
using XMod.Packaging.Manifests;
using XModHub.Core;
using XModHub.Plugins.Metadata.PostgreSql;
using XModHub.Plugins.Tests.Support;
using Xunit.Abstractions;

namespace XModHub.Plugins.Tests;

/// <summary>What only the PostgreSQL provider has: migrations under several instances, start-up errors, search at scale.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgreSqlTests(PostgresFixture postgres, ITestOutputHelper output)
{
    [Fact]
    public async Task Instances_starting_together_apply_each_migration_once()
    {
        var connection = await postgres.CreateDatabaseAsync();
        var stores = Enumerable.Range(0, 8).Select(_ => new PostgreSqlMetadataStore(new PostgreSqlMetadataOptions { ConnectionString = connection })).ToList();
        await Task.WhenAll(stores.Select(s => Task.Run(() => s.InitializeAsync(default))));
        await using var c = new NpgsqlConnection(connection);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT array_agg(version ORDER BY version) FROM schema_version", c);
        Assert.Equal(Enumerable.Range(1, Migrations.Steps.Count), (int[])(await cmd.ExecuteScalarAsync())!);
        // A later start finds nothing to do, and the store works.
        await stores[0].InitializeAsync(default);
        Assert.Equal(AddResult.Added, await stores[3].AddAsync(Record("m.pkg", "1.0.0"), _ => Task.CompletedTask, default));
    }

    [Fact]
    public async Task A_database_from_a_newer_hub_is_refused_in_one_line()
    {
        var connection = await postgres.CreateDatabaseAsync();
        var store = new PostgreSqlMetadataStore(new PostgreSqlMetadataOptions { ConnectionString = connection });
        await store.InitializeAsync(default);
        await using (var c = new NpgsqlConnection(connection))
        {
            await c.OpenAsync();
            await using var cmd = new NpgsqlCommand("INSERT INTO schema_version (version) VALUES (999)", c);
            await cmd.ExecuteNonQueryAsync();
        }
        var e = await Assert.ThrowsAsync<XModException>(() => store.InitializeAsync(default));
        Assert.Contains("schema version 999, newer than this hub knows", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_server_is_one_line_at_start()
    {
        var port = TestEnv.FreePort();
        var store = new PostgreSqlMetadataStore(new PostgreSqlMetadataOptions { ConnectionString = $"Host=127.0.0.1;Port={port};Username=postgres;Password=secret;Database=hub" });
        var e = await Assert.ThrowsAsync<XModException>(() => store.InitializeAsync(default));
        Assert.StartsWith($"PostgreSQL at 127.0.0.1:{port}/hub is unreachable", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("check Database:ConnectionString and that the server runs", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_database_is_one_line_at_start()
    {
        var store = new PostgreSqlMetadataStore(new PostgreSqlMetadataOptions { ConnectionString = postgres.ConnectionString("no_such_db") });
        var e = await Assert.ThrowsAsync<XModException>(() => store.InitializeAsync(default));
        Assert.Contains("\"no_such_db\" does not exist", e.Message, StringComparison.Ordinal);
        Assert.Contains("Database:ConnectionString", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Host=x;Bogus Keyword=1")]
    [InlineData("Port=5432")]
    [InlineData("=")]
    public void A_wrong_connection_string_is_one_line(string connectionString)
    {
        var e = Assert.Throws<XModException>(() => new PostgreSqlMetadataStore(new PostgreSqlMetadataOptions { ConnectionString = connectionString }));
        Assert.Contains("Database:ConnectionString", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Version_keys_sort_as_NuGet_versions_do()
    {
        string[] versions =
        [
            "0.0.1", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1",
            "1.0.0", "1.0.0.1", "1.0.1-0", "1.0.1-00a", "1.0.1-a", "1.0.1-a-b", "1.0.1", "1.2.0", "1.10.0", "2.0.0-BETA", "2.0.0", "10.0.0", "2147483647.0.0",
        ];
        var expected = versions.OrderBy(NuGetVersion.Parse).ToList();
        var byKey = versions.Reverse().OrderBy(VersionKey.Of, StringComparer.Ordinal).ToList();
        Assert.Equal(expected, byKey);
        // Equal versions (case, trailing zeros) have equal keys.
        Assert.Equal(VersionKey.Of("1.0.0-Beta"), VersionKey.Of("1.0.0-beta"));
        Assert.Equal(VersionKey.Of("1.0"), VersionKey.Of("1.0.0.0"));
    }

    [Fact]
    public async Task Search_stays_fast_at_100000_packages()
    {
        var connection = await postgres.CreateDatabaseAsync();
        var store = new PostgreSqlMetadataStore(new PostgreSqlMetadataOptions { ConnectionString = connection });
        await store.InitializeAsync(default);
        // 100,000 ids with two versions each, generated in the server; names and descriptions vary
        // like real ones do (a language-like word per id). The trigram index is built after the bulk
        // load (as one would for an import), which is many times faster than maintaining it per row.
        await using (var c = new NpgsqlConnection(connection))
        {
            await c.OpenAsync();
            var insert = """
                SET maintenance_work_mem = '512MB';
                DROP INDEX packages_search;
                INSERT INTO packages (lower_id, lower_version, id, version, version_key, kind, listed, prerelease, published, description, authors, tags,
                                      manifest, english_name, bcp47, trunk_id, size, sha256, publisher, newest, newest_release)
                SELECT lower(i.id), v.version, i.id, v.version, v.key, 'Language', true, false, now(),
                       'module for ' || i.word || ' text', 'tests', 'xmod', '{}', i.word, 'x' || n, 'XMod.Trunk.Small', 1000, md5(i.id), 'alice',
                       v.version = '1.1.0', v.version = '1.1.0'
                FROM generate_series(1, 100000) AS n
                CROSS JOIN LATERAL (SELECT 'Lang' || n || '.' || md5(n::text) AS id, substr(md5((n * 7)::text), 1, 8) AS word) AS i
                CROSS JOIN (VALUES ('1.0.0', @k1), ('1.1.0', @k2)) AS v(version, key);
                CREATE INDEX packages_search ON packages USING gin (search_text gin_trgm_ops);
                """;
            await using var cmd = new NpgsqlCommand(insert, c) { CommandTimeout = 300 };
            cmd.Parameters.AddWithValue("k1", VersionKey.Of("1.0.0"));
            cmd.Parameters.AddWithValue("k2", VersionKey.Of("1.1.0"));
            var sw = Stopwatch.StartNew();
            await cmd.ExecuteNonQueryAsync();
            await using var analyze = new NpgsqlCommand("VACUUM ANALYZE packages", c);
            await analyze.ExecuteNonQueryAsync();
            output.WriteLine($"inserted 200,000 rows (100,000 ids) in {sw.ElapsedMilliseconds} ms");
        }
        await store.AddAsync(Record("XMod.Lang.Yo", "1.0.0") with { EnglishName = "Yoruba", Bcp47 = "yo" }, _ => Task.CompletedTask, default);

        async Task<(double Ms, int Total)> TimeAsync(SearchQuery q)
        {
            await store.SearchAsync(q, default); // warm
            var sw = Stopwatch.StartNew();
            var runs = 5;
            var total = 0;
            for (var i = 0; i < runs; i++)
            {
                total = (await store.SearchAsync(q, default)).Total;
            }
            return (sw.Elapsed.TotalMilliseconds / runs, total);
        }

        var word = await TimeAsync(new SearchQuery { Text = "yoruba" });
        var rare = await TimeAsync(new SearchQuery { Text = "lang4242." });
        var broad = await TimeAsync(new SearchQuery { Text = "lang" });
        var all = await TimeAsync(new SearchQuery());
        output.WriteLine($"search 'yoruba': {word.Ms:F1} ms ({word.Total} match); 'lang4242.': {rare.Ms:F1} ms ({rare.Total}); 'lang': {broad.Ms:F1} ms ({broad.Total}); no text: {all.Ms:F1} ms ({all.Total})");
        Assert.Equal(1, word.Total);
        Assert.Equal(1, rare.Total);
        Assert.Equal(100_001, all.Total);
        // Selective searches are index scans (milliseconds); generous bounds for a shared 2-core machine.
        Assert.True(word.Ms < 100, $"search for a word took {word.Ms} ms");
        Assert.True(rare.Ms < 100, $"search for an id took {rare.Ms} ms");
        Assert.True(all.Ms < 500, $"listing every package took {all.Ms} ms");
        Assert.True(broad.Ms < 2000, $"a search matching every package took {broad.Ms} ms");
    }

    private static PackageRecord Record(string id, string version) => new()
    {
        Id = id, Version = version, Kind = PackageKind.Language, Published = DateTimeOffset.UtcNow, ManifestJson = "{}",
        Size = 1, Sha256 = new string('a', 64), Publisher = "alice",
    };
}
