using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using XMod.Packaging.Manifests;
using XModHub.Core;

namespace XModHub.Plugins.Metadata.Sqlite;

public sealed class SqliteMetadataOptions
{
    public string ConnectionString { get; set; } = "";
}

/// <summary>
/// The index, owners and API keys in SQLite (WAL), for one hub process. It keeps rows and answers
/// queries; the policy is the core's. Writes that check before they change take the write lock up
/// front (BEGIN IMMEDIATE); the primary key is the last guard against a second row of one version.
/// </summary>
public sealed class SqliteMetadataStore(SqliteMetadataOptions options) : IPackageIndex, IOwnerStore, IApiKeyStore, IStoreInitializer
{
    private const string Columns = "id, version, lower_id, lower_version, kind, listed, prerelease, published, downloads, description, authors, tags, manifest, readme, trunk_id, trunk_sha256, config_json, weights_sha256, language_code, bcp47, iso639_3, english_name, autonym, script, family, perplexity, size, sha256, publisher, blob_path, version_key";

    private Task<SqliteConnection> OpenAsync(CancellationToken cancel) => SqliteConnections.OpenAsync(options.ConnectionString, cancel);

    public async Task InitializeAsync(CancellationToken cancel)
    {
        await using var c = await OpenAsync(cancel);
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            CREATE TABLE IF NOT EXISTS packages (
              id TEXT NOT NULL, version TEXT NOT NULL, lower_id TEXT NOT NULL, lower_version TEXT NOT NULL,
              kind TEXT NOT NULL, listed INTEGER NOT NULL, prerelease INTEGER NOT NULL, published TEXT NOT NULL,
              downloads INTEGER NOT NULL DEFAULT 0, description TEXT NOT NULL, authors TEXT NOT NULL, tags TEXT NOT NULL,
              manifest TEXT NOT NULL, readme TEXT, trunk_id TEXT, trunk_sha256 TEXT, config_json TEXT, weights_sha256 TEXT,
              language_code TEXT, bcp47 TEXT, iso639_3 TEXT, english_name TEXT, autonym TEXT, script TEXT, family TEXT,
              perplexity REAL, size INTEGER NOT NULL, sha256 TEXT NOT NULL, publisher TEXT NOT NULL,
              PRIMARY KEY (lower_id, lower_version));
            CREATE INDEX IF NOT EXISTS packages_trunk ON packages (trunk_id, weights_sha256);
            CREATE TABLE IF NOT EXISTS owners (lower_id TEXT NOT NULL, owner TEXT NOT NULL, PRIMARY KEY (lower_id, owner));
            CREATE TABLE IF NOT EXISTS api_keys (hash TEXT PRIMARY KEY, user TEXT NOT NULL, scopes TEXT NOT NULL, created TEXT NOT NULL, name TEXT NOT NULL);
            """;
        await cmd.ExecuteNonQueryAsync(cancel);
        await UpgradeAsync(c, cancel);
    }

    /// <summary>
    /// Columns added since the first schema: blob_path (push-unique blob names; null = the legacy
    /// path) and version_key (the core's version order, filled in for rows written before it).
    /// </summary>
    private static async Task UpgradeAsync(SqliteConnection c, CancellationToken cancel)
    {
        var columns = new HashSet<string>();
        using (var info = Command(c, null, "PRAGMA table_info(packages)"))
        await using (var r = await info.ExecuteReaderAsync(cancel))
        {
            while (await r.ReadAsync(cancel))
            {
                columns.Add(r.GetString(1));
            }
        }
        await using var tx = c.BeginTransaction(deferred: false);
        foreach (var column in new[] { "blob_path", "version_key" }.Where(x => !columns.Contains(x)))
        {
            using var add = Command(c, tx, $"ALTER TABLE packages ADD COLUMN {column} TEXT");
            await add.ExecuteNonQueryAsync(cancel);
        }
        var missing = new List<(string Id, string Version)>();
        using (var select = Command(c, tx, "SELECT lower_id, version FROM packages WHERE version_key IS NULL"))
        await using (var r = await select.ExecuteReaderAsync(cancel))
        {
            while (await r.ReadAsync(cancel))
            {
                missing.Add((r.GetString(0), r.GetString(1)));
            }
        }
        foreach (var (id, version) in missing)
        {
            using var set = Command(c, tx, "UPDATE packages SET version_key = $k WHERE lower_id = $id AND lower_version = $v",
                ("$k", VersionOrder.Key(version)), ("$id", id), ("$v", version.ToLowerInvariant()));
            await set.ExecuteNonQueryAsync(cancel);
        }
        using (var index = Command(c, tx, "CREATE INDEX IF NOT EXISTS packages_versions ON packages (lower_id, version_key)"))
        {
            await index.ExecuteNonQueryAsync(cancel);
        }
        await tx.CommitAsync(cancel);
    }

    public async Task<AddResult> AddAsync(PackageRecord r, CancellationToken cancel)
    {
        await using var c = await OpenAsync(cancel);
        using var insert = Command(c, null, $"INSERT INTO packages ({Columns}) VALUES ({string.Join(", ", Columns.Split(", ").Select(x => "$" + x))}) ON CONFLICT (lower_id, lower_version) DO NOTHING", Parameters(r));
        return await insert.ExecuteNonQueryAsync(cancel) == 1 ? AddResult.Added : AddResult.AlreadyExists;
    }

    public async Task<PackageRecord?> GetAsync(string id, string version, CancellationToken cancel)
    {
        await using var c = await OpenAsync(cancel);
        return (await QueryAsync(c, $"SELECT {Columns} FROM packages WHERE lower_id = $id AND lower_version = $v", cancel, ("$id", id.ToLowerInvariant()), ("$v", version.ToLowerInvariant()))).FirstOrDefault();
    }

    public async Task<IReadOnlyList<PackageRecord>> GetVersionsAsync(string id, bool includeUnlisted, CancellationToken cancel)
    {
        await using var c = await OpenAsync(cancel);
        return await QueryAsync(c, $"SELECT {Columns} FROM packages WHERE lower_id = $id" + (includeUnlisted ? "" : " AND listed = 1") + " ORDER BY version_key",
            cancel, ("$id", id.ToLowerInvariant()));
    }

    public async Task<IReadOnlyList<PackageRecord>> GetVersionsOfAsync(IReadOnlyCollection<string> ids, CancellationToken cancel)
    {
        var lower = ids.Select(i => i.ToLowerInvariant()).Distinct(StringComparer.Ordinal).ToList();
        var rows = new List<PackageRecord>();
        await using var c = await OpenAsync(cancel);
        // In chunks: SQLite caps the parameters of one statement.
        foreach (var chunk in lower.Chunk(500))
        {
            var names = chunk.Select((_, i) => $"$i{i}").ToList();
            rows.AddRange(await QueryAsync(c, $"SELECT {Columns} FROM packages WHERE lower_id IN ({string.Join(", ", names)})", cancel,
                chunk.Select((id, i) => (names[i], (object?)id)).ToArray()));
        }
        return rows;
    }

    public async Task<bool> SetListedAsync(string id, string version, bool listed, CancellationToken cancel)
    {
        await using var c = await OpenAsync(cancel);
        using var cmd = Command(c, null, "UPDATE packages SET listed = $l WHERE lower_id = $id AND lower_version = $v", ("$l", listed ? 1 : 0), ("$id", id.ToLowerInvariant()), ("$v", version.ToLowerInvariant()));
        return await cmd.ExecuteNonQueryAsync(cancel) > 0;
    }

    public async Task AddDownloadAsync(string id, string version, CancellationToken cancel)
    {
        await using var c = await OpenAsync(cancel);
        using var cmd = Command(c, null, "UPDATE packages SET downloads = downloads + 1 WHERE lower_id = $id AND lower_version = $v", ("$id", id.ToLowerInvariant()), ("$v", version.ToLowerInvariant()));
        await cmd.ExecuteNonQueryAsync(cancel);
    }

    public async Task<IndexPage> FindNewestAsync(PackageFilter q, int skip, int take, CancellationToken cancel)
    {
        await using var c = await OpenAsync(cancel);
        // The newest listed version (or release) of each id: the greatest version_key among them.
        var release = q.IncludePrerelease ? "" : " AND n.prerelease = 0";
        var where = new List<string>
        {
            "p.listed = 1" + (q.IncludePrerelease ? "" : " AND p.prerelease = 0"),
            $"p.version_key = (SELECT max(n.version_key) FROM packages n WHERE n.lower_id = p.lower_id AND n.listed = 1{release})",
        };
        var args = new List<(string, object?)>();
        if (q.Text is { } text)
        {
            // The text is literal: '%', '_' and '\' are escaped (ESCAPE '\'), not wildcards.
            where.Add("(" + string.Join(" OR ", new[] { "lower_id", "description", "tags", "english_name", "autonym", "bcp47", "iso639_3", "language_code" }
                .Select(x => $"p.{x} LIKE $t ESCAPE '\\'")) + ")");
            args.Add(("$t", "%" + EscapeLike(text.ToLowerInvariant()) + "%"));
        }
        if (q.Kind is { } kind)
        {
            where.Add("p.kind = $k");
            args.Add(("$k", kind.ToString()));
        }
        if (q.Trunk is { } trunk)
        {
            where.Add("lower(p.trunk_id) = $tr");
            args.Add(("$tr", trunk.ToLowerInvariant()));
        }
        if (q.Script is { } script)
        {
            where.Add("p.script = $s");
            args.Add(("$s", script));
        }
        if (q.Family is { } family)
        {
            where.Add("p.family LIKE $f ESCAPE '\\'");
            args.Add(("$f", "%" + EscapeLike(family) + "%"));
        }
        var filter = string.Join(" AND ", where);
        var hits = new List<SearchHit>();
        using (var cmd = Command(c, null, $"SELECT p.id, p.version, p.bcp47, p.english_name FROM packages p WHERE {filter} ORDER BY p.lower_id LIMIT $take OFFSET $skip",
            [.. args, ("$take", (long)take), ("$skip", (long)skip)]))
        await using (var r = await cmd.ExecuteReaderAsync(cancel))
        {
            while (await r.ReadAsync(cancel))
            {
                hits.Add(new SearchHit(r.GetString(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3)));
            }
        }
        using var count = Command(c, null, $"SELECT count(*) FROM packages p WHERE {filter}", [.. args]);
        return new IndexPage(Convert.ToInt32(await count.ExecuteScalarAsync(cancel), System.Globalization.CultureInfo.InvariantCulture), hits);
    }

    private static string EscapeLike(string text) => text.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_");

    public async Task<PackageRecord?> FindTrunkAsync(string trunkId, string weightsSha256, CancellationToken cancel)
    {
        await using var c = await OpenAsync(cancel);
        return (await QueryAsync(c, $"SELECT {Columns} FROM packages WHERE kind = 'Trunk' AND lower_id = $id AND weights_sha256 = $sha", cancel,
            ("$id", trunkId.ToLowerInvariant()), ("$sha", weightsSha256.ToLowerInvariant()))).FirstOrDefault();
    }

    public async Task<IReadOnlyList<string>> GetOwnersAsync(string id, CancellationToken cancel)
    {
        await using var c = await OpenAsync(cancel);
        return await OwnersAsync(c, null, id.ToLowerInvariant(), cancel);
    }

    public async Task<ClaimResult> ClaimAsync(string id, string owner, CancellationToken cancel)
    {
        await using var c = await OpenAsync(cancel);
        // BEGIN IMMEDIATE: the write lock is taken before the owners are read, so two claims take turns.
        await using var tx = c.BeginTransaction(deferred: false);
        var owners = await OwnersAsync(c, tx, id.ToLowerInvariant(), cancel);
        if (owners.Count > 0)
        {
            return owners.Contains(owner) ? ClaimResult.AlreadyOwner : ClaimResult.OwnedByOthers;
        }
        using var own = Command(c, tx, "INSERT INTO owners (lower_id, owner) VALUES ($id, $o)", ("$id", id.ToLowerInvariant()), ("$o", owner));
        await own.ExecuteNonQueryAsync(cancel);
        await tx.CommitAsync(cancel);
        return ClaimResult.Claimed;
    }

    public async Task<bool> AddOwnerAsync(string id, string owner, CancellationToken cancel)
    {
        await using var c = await OpenAsync(cancel);
        using var cmd = Command(c, null, "INSERT OR IGNORE INTO owners (lower_id, owner) SELECT $id, $o WHERE EXISTS (SELECT 1 FROM owners WHERE lower_id = $id)",
            ("$id", id.ToLowerInvariant()), ("$o", owner));
        return await cmd.ExecuteNonQueryAsync(cancel) > 0;
    }

    public async Task<RemoveOwnerResult> RemoveOwnerAsync(string id, string owner, CancellationToken cancel)
    {
        await using var c = await OpenAsync(cancel);
        await using var tx = c.BeginTransaction(deferred: false);
        var owners = await OwnersAsync(c, tx, id.ToLowerInvariant(), cancel);
        if (!owners.Contains(owner))
        {
            return RemoveOwnerResult.NotAnOwner;
        }
        if (owners.Count == 1)
        {
            return RemoveOwnerResult.LastOwner;
        }
        using var cmd = Command(c, tx, "DELETE FROM owners WHERE lower_id = $id AND owner = $o", ("$id", id.ToLowerInvariant()), ("$o", owner));
        await cmd.ExecuteNonQueryAsync(cancel);
        await tx.CommitAsync(cancel);
        return RemoveOwnerResult.Removed;
    }

    public async Task ReleaseClaimAsync(string id, string owner, CancellationToken cancel)
    {
        await using var c = await OpenAsync(cancel);
        using var cmd = Command(c, null, "DELETE FROM owners WHERE lower_id = $id AND owner = $o", ("$id", id.ToLowerInvariant()), ("$o", owner));
        await cmd.ExecuteNonQueryAsync(cancel);
    }

    public async Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(CancellationToken cancel)
    {
        await using var c = await OpenAsync(cancel);
        using var cmd = Command(c, null, "SELECT hash, user, scopes, created, name FROM api_keys ORDER BY created");
        await using var r = await cmd.ExecuteReaderAsync(cancel);
        var keys = new List<ApiKeyRecord>();
        while (await r.ReadAsync(cancel))
        {
            keys.Add(new ApiKeyRecord(r.GetString(0), r.GetString(1), r.GetString(2).Split(' ', StringSplitOptions.RemoveEmptyEntries), DateTimeOffset.Parse(r.GetString(3), System.Globalization.CultureInfo.InvariantCulture), r.GetString(4)));
        }
        return keys;
    }

    public async Task<bool> DeleteApiKeyAsync(string hash, CancellationToken cancel)
    {
        await using var c = await OpenAsync(cancel);
        using var cmd = Command(c, null, "DELETE FROM api_keys WHERE hash = $h", ("$h", hash));
        return await cmd.ExecuteNonQueryAsync(cancel) > 0;
    }

    public async Task AddApiKeyAsync(ApiKeyRecord key, CancellationToken cancel)
    {
        await using var c = await OpenAsync(cancel);
        using var cmd = Command(c, null, "INSERT INTO api_keys (hash, user, scopes, created, name) VALUES ($h, $u, $s, $c, $n)",
            ("$h", key.Hash), ("$u", key.User), ("$s", string.Join(' ', key.Scopes)), ("$c", key.Created.ToString("O")), ("$n", key.Name));
        await cmd.ExecuteNonQueryAsync(cancel);
    }

    public async Task<ApiKeyRecord?> FindApiKeyAsync(string hash, CancellationToken cancel)
    {
        await using var c = await OpenAsync(cancel);
        using var cmd = Command(c, null, "SELECT hash, user, scopes, created, name FROM api_keys WHERE hash = $h", ("$h", hash));
        await using var r = await cmd.ExecuteReaderAsync(cancel);
        return await r.ReadAsync(cancel)
            ? new ApiKeyRecord(r.GetString(0), r.GetString(1), r.GetString(2).Split(' ', StringSplitOptions.RemoveEmptyEntries), DateTimeOffset.Parse(r.GetString(3), System.Globalization.CultureInfo.InvariantCulture), r.GetString(4))
            : null;
    }

    private static async Task<IReadOnlyList<string>> OwnersAsync(SqliteConnection c, SqliteTransaction? tx, string lowerId, CancellationToken cancel)
    {
        using var cmd = Command(c, tx, "SELECT owner FROM owners WHERE lower_id = $id ORDER BY owner", ("$id", lowerId));
        await using var r = await cmd.ExecuteReaderAsync(cancel);
        var owners = new List<string>();
        while (await r.ReadAsync(cancel))
        {
            owners.Add(r.GetString(0));
        }
        return owners;
    }

    private static SqliteCommand Command(SqliteConnection c, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in args)
        {
            cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
        return cmd;
    }

    private static (string, object?)[] Parameters(PackageRecord r) =>
    [
        ("$id", r.Id), ("$version", r.Version), ("$lower_id", r.Id.ToLowerInvariant()), ("$lower_version", r.Version.ToLowerInvariant()),
        ("$kind", r.Kind.ToString()), ("$listed", r.Listed ? 1 : 0), ("$prerelease", r.IsPrerelease ? 1 : 0), ("$published", r.Published.ToString("O")),
        ("$downloads", r.Downloads), ("$description", r.Description), ("$authors", r.Authors), ("$tags", r.Tags), ("$manifest", r.ManifestJson),
        ("$readme", r.Readme), ("$trunk_id", r.TrunkId), ("$trunk_sha256", r.TrunkSha256), ("$config_json", r.ConfigJson), ("$weights_sha256", r.WeightsSha256),
        ("$language_code", r.LanguageCode), ("$bcp47", r.Bcp47), ("$iso639_3", r.Iso6393), ("$english_name", r.EnglishName), ("$autonym", r.Autonym),
        ("$script", r.Script), ("$family", r.Family), ("$perplexity", r.Perplexity), ("$size", r.Size), ("$sha256", r.Sha256), ("$publisher", r.Publisher),
        ("$blob_path", r.BlobPath), ("$version_key", r.VersionKey),
    ];

    private static async Task<IReadOnlyList<PackageRecord>> QueryAsync(SqliteConnection c, string sql, CancellationToken cancel, params (string, object?)[] args)
    {
        using var cmd = Command(c, null, sql, args);
        await using var r = await cmd.ExecuteReaderAsync(cancel);
        var list = new List<PackageRecord>();
        while (await r.ReadAsync(cancel))
        {
            string? S(int i) => r.IsDBNull(i) ? null : r.GetString(i);
            list.Add(new PackageRecord
            {
                Id = r.GetString(0), Version = r.GetString(1), Kind = Enum.Parse<PackageKind>(r.GetString(4)), Listed = r.GetInt64(5) == 1,
                IsPrerelease = r.GetInt64(6) == 1, Published = DateTimeOffset.Parse(r.GetString(7), System.Globalization.CultureInfo.InvariantCulture),
                Downloads = r.GetInt64(8), Description = r.GetString(9), Authors = r.GetString(10), Tags = r.GetString(11), ManifestJson = r.GetString(12),
                Readme = S(13), TrunkId = S(14), TrunkSha256 = S(15), ConfigJson = S(16), WeightsSha256 = S(17), LanguageCode = S(18), Bcp47 = S(19),
                Iso6393 = S(20), EnglishName = S(21), Autonym = S(22), Script = S(23), Family = S(24), Perplexity = r.IsDBNull(25) ? null : r.GetDouble(25),
                Size = r.GetInt64(26), Sha256 = r.GetString(27), Publisher = r.GetString(28), BlobPath = S(29),
            });
        }
        return list;
    }
}

public static class SqliteMetadataExtensions
{
    /// <summary>Registers the SQLite index from a configuration section (Database:ConnectionString).</summary>
    public static IServiceCollection AddSqliteMetadata(this IServiceCollection services, IConfiguration section)
    {
        var options = section.Get<SqliteMetadataOptions>() ?? new SqliteMetadataOptions();
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            throw new XMod.XModException("Database:ConnectionString is required for the Sqlite metadata store");
        }
        var store = new SqliteMetadataStore(options);
        return services.AddSingleton(store).AddSingleton<IPackageIndex>(store).AddSingleton<IOwnerStore>(store)
            .AddSingleton<IApiKeyStore>(store).AddSingleton<IStoreInitializer>(store);
    }
}
