using Microsoft.Data.Sqlite;
using XModHub.Core;

namespace XModHub.Plugins.Metadata.Sqlite.Tests;

/// <summary>A hub.db written before push-unique blob names and the core's version keys opens, and its rows keep working.</summary>
public sealed class SqliteUpgradeTests : IDisposable
{
    private readonly TempDir _dir = new("xmod-sqlite-upgrade-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_database_of_the_first_schema_gains_the_new_columns_and_orders_its_versions()
    {
        var connection = $"Data Source={_dir["hub.db"]};Pooling=False";
        await using (var c = new SqliteConnection(connection))
        {
            await c.OpenAsync();
            await using var cmd = c.CreateCommand();
            // The first schema's packages table, with two versions in an order a string sort gets wrong.
            cmd.CommandText = """
                CREATE TABLE packages (
                  id TEXT NOT NULL, version TEXT NOT NULL, lower_id TEXT NOT NULL, lower_version TEXT NOT NULL,
                  kind TEXT NOT NULL, listed INTEGER NOT NULL, prerelease INTEGER NOT NULL, published TEXT NOT NULL,
                  downloads INTEGER NOT NULL DEFAULT 0, description TEXT NOT NULL, authors TEXT NOT NULL, tags TEXT NOT NULL,
                  manifest TEXT NOT NULL, readme TEXT, trunk_id TEXT, trunk_sha256 TEXT, config_json TEXT, weights_sha256 TEXT,
                  language_code TEXT, bcp47 TEXT, iso639_3 TEXT, english_name TEXT, autonym TEXT, script TEXT, family TEXT,
                  perplexity REAL, size INTEGER NOT NULL, sha256 TEXT NOT NULL, publisher TEXT NOT NULL,
                  PRIMARY KEY (lower_id, lower_version));
                INSERT INTO packages VALUES ('Old.Pkg', '1.10.0', 'old.pkg', '1.10.0', 'Language', 1, 0, '2026-01-01T00:00:00+00:00', 3, '', '', '', '{}',
                  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1, 'aa', 'alice');
                INSERT INTO packages VALUES ('Old.Pkg', '1.9.0', 'old.pkg', '1.9.0', 'Language', 1, 0, '2026-01-01T00:00:00+00:00', 0, '', '', '', '{}',
                  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1, 'aa', 'alice');
                """;
            await cmd.ExecuteNonQueryAsync();
        }
        var store = new SqliteMetadataStore(new SqliteMetadataOptions { ConnectionString = connection });
        await store.InitializeAsync(default);
        await store.InitializeAsync(default);
        Assert.Equal(["1.9.0", "1.10.0"], (await store.GetVersionsAsync("old.pkg", true, default)).Select(r => r.Version));
        var old = await store.GetAsync("old.pkg", "1.10.0", default);
        Assert.Null(old!.BlobPath); // served from the legacy path
        Assert.Equal(PackageService.LegacyBlobPath("Old.Pkg", "1.10.0"), PackageService.BlobPathOf(old));
        Assert.Equal([("Old.Pkg", "1.10.0")], (await store.FindNewestAsync(new PackageFilter(), 0, 10, default)).Hits.Select(h => (h.Id, h.Version)));
    }
}
