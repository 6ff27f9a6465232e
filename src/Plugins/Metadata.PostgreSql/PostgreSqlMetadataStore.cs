using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using XMod;
using XMod.Packaging.Manifests;
using XModHub.Core;

namespace XModHub.Plugins.Metadata.PostgreSql;

public sealed class PostgreSqlMetadataOptions
{
    /// <summary>An Npgsql connection string (Host=...;Port=...;Database=...;Username=...;Password=...).</summary>
    public string ConnectionString { get; set; } = "";
}

/// <summary>
/// The index, owners and API keys in PostgreSQL, shared by any number of hub instances. It keeps
/// rows and answers queries; the policy is the core's. Changes to one id (a version added or
/// (un)listed, an owner claimed or removed) serialise on a transaction-scoped advisory lock; the
/// primary key is the last guard against a second row of one version.
/// </summary>
public sealed class PostgreSqlMetadataStore : IPackageIndex, IOwnerStore, IApiKeyStore, IStoreInitializer, IAsyncDisposable
{
    // Advisory lock keys: one bigint for migrations; (namespace, hash of id) for pushes, a separate key space.
    private const long MigrationLock = 0x586d6f644875622; // "XModHub"
    private const int PushLockNamespace = 0x586d6f64;

    private const string Columns = "id, version, lower_id, lower_version, kind, listed, prerelease, published, downloads, description, authors, tags, manifest, readme, trunk_id, trunk_sha256, config_json, weights_sha256, language_code, bcp47, iso639_3, english_name, autonym, script, family, perplexity, size, sha256, publisher, blob_path";

    private readonly NpgsqlDataSource _source;
    private readonly string _where;

    public PostgreSqlMetadataStore(PostgreSqlMetadataOptions options)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        }
        catch (ArgumentException e)
        {
            throw new XModException($"Database:ConnectionString is not a PostgreSQL connection string ({e.Message.Split('\n')[0]}): expected Host=...;Database=...;Username=...;Password=...");
        }
        if (string.IsNullOrWhiteSpace(builder.Host))
        {
            throw new XModException("Database:ConnectionString names no Host (Host=...;Database=...;Username=...;Password=...)");
        }
        _where = $"PostgreSQL at {builder.Host}:{builder.Port}/{builder.Database ?? builder.Username}";
        _source = NpgsqlDataSource.Create(builder.ConnectionString);
    }

    public override string ToString() => _where;

    public ValueTask DisposeAsync() => _source.DisposeAsync();

    /// <summary>
    /// Applies the schema steps this database lacks, under a session advisory lock so that instances
    /// starting together apply each step once; the others wait, then find nothing left to do.
    /// </summary>
    public async Task InitializeAsync(CancellationToken cancel)
    {
        try
        {
            await using var c = await _source.OpenConnectionAsync(cancel);
            await ExecuteAsync(c, null, "SELECT pg_advisory_lock(@k)", cancel, ("k", MigrationLock));
            try
            {
                await ExecuteAsync(c, null, "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())", cancel);
                await using var current = Command(c, null, "SELECT coalesce(max(version), 0) FROM schema_version");
                var version = Convert.ToInt32(await current.ExecuteScalarAsync(cancel), System.Globalization.CultureInfo.InvariantCulture);
                if (version > Migrations.Steps.Count)
                {
                    throw new XModException($"{_where} has schema version {version}, newer than this hub knows ({Migrations.Steps.Count}): upgrade the hub");
                }
                for (var step = version + 1; step <= Migrations.Steps.Count; step++)
                {
                    await using var tx = await c.BeginTransactionAsync(cancel);
                    await ExecuteAsync(c, tx, Migrations.Steps[step - 1], cancel);
                    await ExecuteAsync(c, tx, "INSERT INTO schema_version (version) VALUES (@v)", cancel, ("v", step));
                    await tx.CommitAsync(cancel);
                }
            }
            finally
            {
                await ExecuteAsync(c, null, "SELECT pg_advisory_unlock(@k)", CancellationToken.None, ("k", MigrationLock));
            }
        }
        catch (PostgresException e) when (e.SqlState is "28P01" or "28000")
        {
            throw new XModException($"{_where} refused the credentials ({e.MessageText}): check Database:ConnectionString", e);
        }
        catch (PostgresException e) when (e.SqlState == "3D000")
        {
            throw new XModException($"{_where}: {e.MessageText}: create it (createdb) or fix Database:ConnectionString", e);
        }
        catch (PostgresException e) when (e.SqlState is "58P01" or "0A000" && e.MessageText.Contains("pg_trgm", StringComparison.Ordinal))
        {
            throw new XModException($"{_where} lacks the pg_trgm extension: install the server's contrib package (Debian: postgresql-contrib)", e);
        }
        catch (NpgsqlException e) when (e is not PostgresException && !cancel.IsCancellationRequested)
        {
            var why = e.InnerException is SocketException s ? s.SocketErrorCode.ToString() : e.InnerException?.Message ?? e.Message;
            throw new XModException($"{_where} is unreachable ({why}): check Database:ConnectionString and that the server runs", e);
        }
    }

    public async Task<AddResult> AddAsync(PackageRecord r, CancellationToken cancel)
    {
        var lowerId = r.Id.ToLowerInvariant();
        await using var c = await _source.OpenConnectionAsync(cancel);
        await using var tx = await c.BeginTransactionAsync(cancel);
        // Changes to one id, from any instance, take turns from here to the commit (the newest marks stay right).
        await LockIdAsync(c, tx, lowerId, cancel);
        var names = Columns.Split(", ");
        var added = await ExecuteAsync(c, tx, $"INSERT INTO packages ({Columns}, version_key) VALUES ({string.Join(", ", names.Select(n => "@" + n))}, @version_key) ON CONFLICT DO NOTHING",
            cancel, [.. Parameters(r), ("version_key", r.VersionKey)]);
        if (added == 0)
        {
            return AddResult.AlreadyExists;
        }
        await RefreshNewestAsync(c, tx, lowerId, cancel);
        await tx.CommitAsync(cancel);
        return AddResult.Added;
    }

    private static Task<int> LockIdAsync(NpgsqlConnection c, NpgsqlTransaction tx, string lowerId, CancellationToken cancel) =>
        ExecuteAsync(c, tx, "SELECT pg_advisory_xact_lock(@ns, hashtext(@id))", cancel, ("ns", PushLockNamespace), ("id", lowerId));

    public async Task<PackageRecord?> GetAsync(string id, string version, CancellationToken cancel) =>
        (await QueryAsync($"SELECT {Columns} FROM packages WHERE lower_id = @id AND lower_version = @v", cancel,
            ("id", id.ToLowerInvariant()), ("v", version.ToLowerInvariant()))).FirstOrDefault();

    public async Task<IReadOnlyList<PackageRecord>> GetVersionsOfAsync(IReadOnlyCollection<string> ids, CancellationToken cancel) =>
        ids.Count == 0 ? [] : await QueryAsync($"SELECT {Columns} FROM packages WHERE lower_id = ANY(@ids)", cancel,
            ("ids", ids.Select(i => i.ToLowerInvariant()).Distinct(StringComparer.Ordinal).ToArray()));

    public async Task<IReadOnlyList<PackageRecord>> GetVersionsAsync(string id, bool includeUnlisted, CancellationToken cancel)
    {
        return await QueryAsync($"SELECT {Columns} FROM packages WHERE lower_id = @id" + (includeUnlisted ? "" : " AND listed") + " ORDER BY version_key",
            cancel, ("id", id.ToLowerInvariant()));
    }

    public async Task<bool> SetListedAsync(string id, string version, bool listed, CancellationToken cancel)
    {
        var lowerId = id.ToLowerInvariant();
        await using var c = await _source.OpenConnectionAsync(cancel);
        await using var tx = await c.BeginTransactionAsync(cancel);
        await LockIdAsync(c, tx, lowerId, cancel);
        var changed = await ExecuteAsync(c, tx, "UPDATE packages SET listed = @l WHERE lower_id = @id AND lower_version = @v", cancel,
            ("l", listed), ("id", lowerId), ("v", version.ToLowerInvariant())) > 0;
        await RefreshNewestAsync(c, tx, lowerId, cancel);
        await tx.CommitAsync(cancel);
        return changed;
    }

    /// <summary>Marks the id's newest listed version, and newest listed release, after its versions changed (under the id's lock).</summary>
    private static Task<int> RefreshNewestAsync(NpgsqlConnection c, NpgsqlTransaction tx, string lowerId, CancellationToken cancel) =>
        ExecuteAsync(c, tx, """
            UPDATE packages p SET newest = coalesce(p.lower_version = n.v, false), newest_release = coalesce(p.lower_version = n.r, false)
            FROM (SELECT (SELECT lower_version FROM packages WHERE lower_id = @id AND listed ORDER BY version_key DESC LIMIT 1) AS v,
                         (SELECT lower_version FROM packages WHERE lower_id = @id AND listed AND NOT prerelease ORDER BY version_key DESC LIMIT 1) AS r) n
            WHERE p.lower_id = @id
              AND (p.newest <> coalesce(p.lower_version = n.v, false) OR p.newest_release <> coalesce(p.lower_version = n.r, false))
            """, cancel, ("id", lowerId));

    public async Task AddDownloadAsync(string id, string version, CancellationToken cancel)
    {
        await using var c = await _source.OpenConnectionAsync(cancel);
        await ExecuteAsync(c, null, "UPDATE packages SET downloads = downloads + 1 WHERE lower_id = @id AND lower_version = @v", cancel,
            ("id", id.ToLowerInvariant()), ("v", version.ToLowerInvariant()));
    }

    /// <summary>
    /// The newest listed version of each id (or newest listed release), when it matches, in id order.
    /// The newest versions are marked at write time, so a search is an index scan of one row per id,
    /// whatever the number of versions; text is matched through the trigram index.
    /// </summary>
    public async Task<IndexPage> FindNewestAsync(PackageFilter q, int skip, int take, CancellationToken cancel)
    {
        var where = new List<string> { q.IncludePrerelease ? "newest" : "newest_release" };
        var args = new List<(string, object?)>();
        if (q.Text is { } text)
        {
            where.Add("search_text LIKE @pattern");
            args.Add(("pattern", "%" + EscapeLike(text.ToLowerInvariant()) + "%"));
        }
        if (q.Kind is { } kind)
        {
            where.Add("kind = @kind");
            args.Add(("kind", kind.ToString()));
        }
        if (q.Trunk is { } trunk)
        {
            where.Add("lower(trunk_id) = @trunk");
            args.Add(("trunk", trunk.ToLowerInvariant()));
        }
        if (q.Script is { } script)
        {
            where.Add("script = @script");
            args.Add(("script", script));
        }
        if (q.Family is { } family)
        {
            where.Add("family ILIKE @family");
            args.Add(("family", "%" + EscapeLike(family) + "%"));
        }
        var filter = string.Join(" AND ", where);
        await using var c = await _source.OpenConnectionAsync(cancel);
        var hits = new List<SearchHit>();
        await using (var cmd = Command(c, null, $"""
            SELECT id, version, bcp47, english_name FROM packages WHERE {filter}
            ORDER BY lower_id COLLATE "C" OFFSET @skip LIMIT @take
            """, [.. args, ("skip", (long)Math.Max(0, skip)), ("take", (long)Math.Max(0, take))]))
        await using (var reader = await cmd.ExecuteReaderAsync(cancel))
        {
            while (await reader.ReadAsync(cancel))
            {
                hits.Add(new SearchHit(reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3)));
            }
        }
        await using var count = Command(c, null, $"SELECT count(*) FROM packages WHERE {filter}", [.. args]);
        var total = Convert.ToInt32(await count.ExecuteScalarAsync(cancel), System.Globalization.CultureInfo.InvariantCulture);
        return new IndexPage(total, hits);
    }

    private static string EscapeLike(string text) => text.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_");

    public async Task<PackageRecord?> FindTrunkAsync(string trunkId, string weightsSha256, CancellationToken cancel) =>
        (await QueryAsync($"SELECT {Columns} FROM packages WHERE kind = 'Trunk' AND lower_id = @id AND weights_sha256 = @sha", cancel,
            ("id", trunkId.ToLowerInvariant()), ("sha", weightsSha256.ToLowerInvariant()))).FirstOrDefault();

    public async Task<IReadOnlyList<string>> GetOwnersAsync(string id, CancellationToken cancel)
    {
        await using var c = await _source.OpenConnectionAsync(cancel);
        return await OwnersAsync(c, null, id.ToLowerInvariant(), cancel);
    }

    public async Task<ClaimResult> ClaimAsync(string id, string owner, CancellationToken cancel)
    {
        var lowerId = id.ToLowerInvariant();
        await using var c = await _source.OpenConnectionAsync(cancel);
        await using var tx = await c.BeginTransactionAsync(cancel);
        await LockIdAsync(c, tx, lowerId, cancel);
        var owners = await OwnersAsync(c, tx, lowerId, cancel);
        if (owners.Count > 0)
        {
            return owners.Contains(owner) ? ClaimResult.AlreadyOwner : ClaimResult.OwnedByOthers;
        }
        await ExecuteAsync(c, tx, "INSERT INTO owners (lower_id, owner) VALUES (@id, @o)", cancel, ("id", lowerId), ("o", owner));
        await tx.CommitAsync(cancel);
        return ClaimResult.Claimed;
    }

    public async Task<bool> AddOwnerAsync(string id, string owner, CancellationToken cancel)
    {
        await using var c = await _source.OpenConnectionAsync(cancel);
        return await ExecuteAsync(c, null, """
            INSERT INTO owners (lower_id, owner) SELECT @id, @o WHERE EXISTS (SELECT 1 FROM owners WHERE lower_id = @id) ON CONFLICT DO NOTHING
            """, cancel, ("id", id.ToLowerInvariant()), ("o", owner)) > 0;
    }

    public async Task<RemoveOwnerResult> RemoveOwnerAsync(string id, string owner, CancellationToken cancel)
    {
        var lowerId = id.ToLowerInvariant();
        await using var c = await _source.OpenConnectionAsync(cancel);
        await using var tx = await c.BeginTransactionAsync(cancel);
        await LockIdAsync(c, tx, lowerId, cancel);
        var owners = await OwnersAsync(c, tx, lowerId, cancel);
        if (!owners.Contains(owner))
        {
            return RemoveOwnerResult.NotAnOwner;
        }
        if (owners.Count == 1)
        {
            return RemoveOwnerResult.LastOwner;
        }
        await ExecuteAsync(c, tx, "DELETE FROM owners WHERE lower_id = @id AND owner = @o", cancel, ("id", lowerId), ("o", owner));
        await tx.CommitAsync(cancel);
        return RemoveOwnerResult.Removed;
    }

    public async Task ReleaseClaimAsync(string id, string owner, CancellationToken cancel)
    {
        await using var c = await _source.OpenConnectionAsync(cancel);
        await ExecuteAsync(c, null, "DELETE FROM owners WHERE lower_id = @id AND owner = @o", cancel, ("id", id.ToLowerInvariant()), ("o", owner));
    }

    public async Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(CancellationToken cancel)
    {
        await using var c = await _source.OpenConnectionAsync(cancel);
        await using var cmd = Command(c, null, "SELECT hash, \"user\", scopes, created, name FROM api_keys ORDER BY created, hash");
        await using var r = await cmd.ExecuteReaderAsync(cancel);
        var keys = new List<ApiKeyRecord>();
        while (await r.ReadAsync(cancel))
        {
            keys.Add(new ApiKeyRecord(r.GetString(0), r.GetString(1), r.GetString(2).Split(' ', StringSplitOptions.RemoveEmptyEntries), r.GetFieldValue<DateTimeOffset>(3), r.GetString(4)));
        }
        return keys;
    }

    public async Task<bool> DeleteApiKeyAsync(string hash, CancellationToken cancel)
    {
        await using var c = await _source.OpenConnectionAsync(cancel);
        return await ExecuteAsync(c, null, "DELETE FROM api_keys WHERE hash = @h", cancel, ("h", hash)) > 0;
    }

    public async Task AddApiKeyAsync(ApiKeyRecord key, CancellationToken cancel)
    {
        await using var c = await _source.OpenConnectionAsync(cancel);
        await ExecuteAsync(c, null, "INSERT INTO api_keys (hash, \"user\", scopes, created, name) VALUES (@h, @u, @s, @c, @n)", cancel,
            ("h", key.Hash), ("u", key.User), ("s", string.Join(' ', key.Scopes)), ("c", key.Created.ToUniversalTime()), ("n", key.Name));
    }

    public async Task<ApiKeyRecord?> FindApiKeyAsync(string hash, CancellationToken cancel)
    {
        await using var c = await _source.OpenConnectionAsync(cancel);
        await using var cmd = Command(c, null, "SELECT hash, \"user\", scopes, created, name FROM api_keys WHERE hash = @h", ("h", hash));
        await using var r = await cmd.ExecuteReaderAsync(cancel);
        return await r.ReadAsync(cancel)
            ? new ApiKeyRecord(r.GetString(0), r.GetString(1), r.GetString(2).Split(' ', StringSplitOptions.RemoveEmptyEntries), r.GetFieldValue<DateTimeOffset>(3), r.GetString(4))
            : null;
    }

    private static async Task<IReadOnlyList<string>> OwnersAsync(NpgsqlConnection c, NpgsqlTransaction? tx, string lowerId, CancellationToken cancel)
    {
        await using var cmd = Command(c, tx, "SELECT owner FROM owners WHERE lower_id = @id ORDER BY owner COLLATE \"C\"", ("id", lowerId));
        await using var r = await cmd.ExecuteReaderAsync(cancel);
        var owners = new List<string>();
        while (await r.ReadAsync(cancel))
        {
            owners.Add(r.GetString(0));
        }
        return owners;
    }

    private static NpgsqlCommand Command(NpgsqlConnection c, NpgsqlTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = new NpgsqlCommand(sql, c, tx);
        foreach (var (name, value) in args)
        {
            cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
        return cmd;
    }

    private static async Task<int> ExecuteAsync(NpgsqlConnection c, NpgsqlTransaction? tx, string sql, CancellationToken cancel, params (string Name, object? Value)[] args)
    {
        await using var cmd = Command(c, tx, sql, args);
        return await cmd.ExecuteNonQueryAsync(cancel);
    }

    private static (string, object?)[] Parameters(PackageRecord r) =>
    [
        ("id", r.Id), ("version", r.Version), ("lower_id", r.Id.ToLowerInvariant()), ("lower_version", r.Version.ToLowerInvariant()),
        ("kind", r.Kind.ToString()), ("listed", r.Listed), ("prerelease", r.IsPrerelease), ("published", r.Published.ToUniversalTime()),
        ("downloads", r.Downloads), ("description", r.Description), ("authors", r.Authors), ("tags", r.Tags), ("manifest", r.ManifestJson),
        ("readme", r.Readme), ("trunk_id", r.TrunkId), ("trunk_sha256", r.TrunkSha256), ("config_json", r.ConfigJson), ("weights_sha256", r.WeightsSha256),
        ("language_code", r.LanguageCode), ("bcp47", r.Bcp47), ("iso639_3", r.Iso6393), ("english_name", r.EnglishName), ("autonym", r.Autonym),
        ("script", r.Script), ("family", r.Family), ("perplexity", r.Perplexity), ("size", r.Size), ("sha256", r.Sha256), ("publisher", r.Publisher),
        ("blob_path", r.BlobPath),
    ];

    private async Task<IReadOnlyList<PackageRecord>> QueryAsync(string sql, CancellationToken cancel, params (string, object?)[] args)
    {
        await using var c = await _source.OpenConnectionAsync(cancel);
        await using var cmd = Command(c, null, sql, args);
        await using var r = await cmd.ExecuteReaderAsync(cancel);
        var list = new List<PackageRecord>();
        while (await r.ReadAsync(cancel))
        {
            list.Add(Read(r));
        }
        return list;
    }

    private static PackageRecord Read(NpgsqlDataReader r)
    {
        string? S(int i) => r.IsDBNull(i) ? null : r.GetString(i);
        return new PackageRecord
        {
            Id = r.GetString(0), Version = r.GetString(1), Kind = Enum.Parse<PackageKind>(r.GetString(4)), Listed = r.GetBoolean(5),
            IsPrerelease = r.GetBoolean(6), Published = r.GetFieldValue<DateTimeOffset>(7),
            Downloads = r.GetInt64(8), Description = r.GetString(9), Authors = r.GetString(10), Tags = r.GetString(11), ManifestJson = r.GetString(12),
            Readme = S(13), TrunkId = S(14), TrunkSha256 = S(15), ConfigJson = S(16), WeightsSha256 = S(17), LanguageCode = S(18), Bcp47 = S(19),
            Iso6393 = S(20), EnglishName = S(21), Autonym = S(22), Script = S(23), Family = S(24), Perplexity = r.IsDBNull(25) ? null : r.GetDouble(25),
            Size = r.GetInt64(26), Sha256 = r.GetString(27), Publisher = r.GetString(28), BlobPath = S(29),
        };
    }
}

public static class PostgreSqlMetadataExtensions
{
    /// <summary>Registers the PostgreSQL index from a configuration section (Database:ConnectionString).</summary>
    public static IServiceCollection AddPostgreSqlMetadata(this IServiceCollection services, IConfiguration section)
    {
        var options = section.Get<PostgreSqlMetadataOptions>() ?? new PostgreSqlMetadataOptions();
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            throw new XModException("Database:ConnectionString is required for the PostgreSql metadata store (Host=...;Database=...;Username=...;Password=...)");
        }
        var store = new PostgreSqlMetadataStore(options);
        return services.AddSingleton(store).AddSingleton<IPackageIndex>(store).AddSingleton<IOwnerStore>(store)
            .AddSingleton<IApiKeyStore>(store).AddSingleton<IStoreInitializer>(store);
    }
}
