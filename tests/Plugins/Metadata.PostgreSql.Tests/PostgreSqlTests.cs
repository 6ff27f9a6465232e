using Npgsql;
using NuGet.Versioning;
using XMod;
using XMod.Packaging.Manifests;
using XModHub.Core;

namespace XModHub.Plugins.Metadata.PostgreSql.Tests;

/// <summary>What only the PostgreSQL provider has: migrations under several instances, start-up errors, search over a bulk-loaded index.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgreSqlTests(PostgresFixture postgres)
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
        Assert.Equal(AddResult.Added, await stores[3].AddAsync(Record("m.pkg", "1.0.0"), default));
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
        var byKey = versions.Reverse().OrderBy(VersionOrder.Key, StringComparer.Ordinal).ToList();
        Assert.Equal(expected, byKey);
        // Equal versions (case, trailing zeros) have equal keys.
        Assert.Equal(VersionOrder.Key("1.0.0-Beta"), VersionOrder.Key("1.0.0-beta"));
        Assert.Equal(VersionOrder.Key("1.0"), VersionOrder.Key("1.0.0.0"));
    }

    /// <summary>
    /// The queries of the hub-search-scale benchmark (bench/run hub-search-scale, 100,000 ids) on the
    /// same synthetic index at a size a test can afford: right answers here, speed there.
    /// </summary>
    [Fact]
    public async Task Search_over_a_bulk_loaded_index_finds_what_it_should()
    {
        const int ids = 2000;
        var connection = await postgres.CreateDatabaseAsync();
        var store = new PostgreSqlMetadataStore(new PostgreSqlMetadataOptions { ConnectionString = connection });
        await store.InitializeAsync(default);
        await SearchCorpus.LoadAsync(connection, ids);
        await store.AddAsync(Record("XMod.Lang.Yo", "1.0.0") with { EnglishName = "Yoruba", Bcp47 = "yo" }, default);
        var search = new PackageSearch(store);

        var word = await search.SearchAsync(new SearchQuery { Text = "yoruba" }, default);
        Assert.Equal(["XMod.Lang.Yo"], word.Page.Select(r => r.Id));
        var rare = await search.SearchAsync(new SearchQuery { Text = "lang1234." }, default);
        Assert.Equal(1, rare.Total);
        Assert.StartsWith("Lang1234.", rare.Page[0].Id, StringComparison.Ordinal);
        Assert.Equal("1.1.0", rare.Page[0].Version); // the newest of its two versions
        var broad = await search.SearchAsync(new SearchQuery { Text = "lang" }, default);
        Assert.Equal(ids + 1, broad.Total); // every bulk id, and XMod.Lang.Yo
        Assert.Equal(20, broad.Page.Count);
        var all = await search.SearchAsync(new SearchQuery(), default);
        Assert.Equal(ids + 1, all.Total);
        Assert.Equal(all.Page.Count, all.Page.Select(r => r.Id).Distinct().Count()); // one row per id
    }

    private static PackageRecord Record(string id, string version) => new()
    {
        Id = id, Version = version, Kind = PackageKind.Language, Published = DateTimeOffset.UtcNow, ManifestJson = "{}",
        Size = 1, Sha256 = new string('a', 64), Publisher = "alice",
    };
}
