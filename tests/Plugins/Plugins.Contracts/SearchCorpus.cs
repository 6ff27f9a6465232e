using Npgsql;
using XModHub.Plugins.Metadata.PostgreSql;

namespace XModHub.Plugins.Contracts;

/// <summary>
/// A synthetic package index for search: <c>ids</c> ids with two versions each, generated in the
/// server; names and descriptions vary like real ones do (a language-like word per id, id n is
/// "Lang{n}.{md5(n)}"). The trigram index is built after the bulk load (as one would for an import),
/// which is many times faster than maintaining it per row. Shared by the correctness test (small) and
/// the hub-search-scale benchmark (100,000 ids).
/// </summary>
public static class SearchCorpus
{
    public static async Task LoadAsync(string connectionString, int ids)
    {
        await using var c = new NpgsqlConnection(connectionString);
        await c.OpenAsync();
        const string insert = """
            SET maintenance_work_mem = '512MB';
            DROP INDEX packages_search;
            INSERT INTO packages (lower_id, lower_version, id, version, version_key, kind, listed, prerelease, published, description, authors, tags,
                                  manifest, english_name, bcp47, trunk_id, size, sha256, publisher, newest, newest_release)
            SELECT lower(i.id), v.version, i.id, v.version, v.key, 'Language', true, false, now(),
                   'module for ' || i.word || ' text', 'tests', 'xmod', '{}', i.word, 'x' || n, 'XMod.Trunk.Small', 1000, md5(i.id), 'alice',
                   v.version = '1.1.0', v.version = '1.1.0'
            FROM generate_series(1, @ids) AS n
            CROSS JOIN LATERAL (SELECT 'Lang' || n || '.' || md5(n::text) AS id, substr(md5((n * 7)::text), 1, 8) AS word) AS i
            CROSS JOIN (VALUES ('1.0.0', @k1), ('1.1.0', @k2)) AS v(version, key);
            CREATE INDEX packages_search ON packages USING gin (search_text gin_trgm_ops);
            """;
        await using (var cmd = new NpgsqlCommand(insert, c) { CommandTimeout = 600 })
        {
            cmd.Parameters.AddWithValue("ids", ids);
            cmd.Parameters.AddWithValue("k1", XModHub.Core.VersionOrder.Key("1.0.0"));
            cmd.Parameters.AddWithValue("k2", XModHub.Core.VersionOrder.Key("1.1.0"));
            await cmd.ExecuteNonQueryAsync();
        }
        await using var analyze = new NpgsqlCommand("VACUUM ANALYZE packages", c) { CommandTimeout = 600 };
        await analyze.ExecuteNonQueryAsync();
    }
}
