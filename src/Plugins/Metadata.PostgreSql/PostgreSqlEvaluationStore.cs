using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using XMod;
using XModHub.Core.Evaluations;

namespace XModHub.Plugins.Metadata.PostgreSql;

/// <summary>
/// Evaluations and re-evaluation requests in PostgreSQL, beside the index: append-only tables with
/// their own numbered schema steps (evaluation_schema_version), applied once under an advisory lock
/// of their own, so the index's migrations and these never wait on each other.
/// </summary>
public sealed class PostgreSqlEvaluationStore : IEvaluationStore, IAsyncDisposable
{
    private const long MigrationLock = 0x586d6f644576616c; // "XModEval"

    private const string Columns = "seq, package_id, package_version, trunk_id, trunk_version, language, eval_set, data_sha256, evaluator_version, metrics, evaluator, created";

    /// <summary>Schema steps; a change is a new step at the end, released steps are never edited.</summary>
    private static readonly IReadOnlyList<string> s_steps =
    [
        """
        CREATE TABLE evaluations (
          seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, lower_id text NOT NULL, package_id text NOT NULL, package_version text NOT NULL,
          trunk_id text NOT NULL, trunk_version text NOT NULL, language text NOT NULL, eval_set text NOT NULL, data_sha256 text NOT NULL,
          evaluator_version text NOT NULL, metrics text NOT NULL, evaluator text NOT NULL, created timestamptz NOT NULL);
        CREATE INDEX evaluations_id ON evaluations (lower_id, seq);
        CREATE TABLE evaluation_requests (
          seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, package_id text NOT NULL, package_version text NOT NULL,
          requested_by text NOT NULL, created timestamptz NOT NULL);
        """,
    ];

    private readonly NpgsqlDataSource _source;

    public PostgreSqlEvaluationStore(PostgreSqlMetadataOptions options)
    {
        try
        {
            _source = NpgsqlDataSource.Create(options.ConnectionString);
        }
        catch (ArgumentException e)
        {
            throw new XModException($"Database:ConnectionString is not a PostgreSQL connection string ({e.Message.Split('\n')[0]})");
        }
    }

    public ValueTask DisposeAsync() => _source.DisposeAsync();

    public async Task InitializeAsync(CancellationToken cancel)
    {
        await using var c = await _source.OpenConnectionAsync(cancel);
        await ExecuteAsync(c, null, "SELECT pg_advisory_lock(@k)", cancel, ("k", MigrationLock));
        try
        {
            await ExecuteAsync(c, null, "CREATE TABLE IF NOT EXISTS evaluation_schema_version (version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())", cancel);
            await using var current = Command(c, null, "SELECT coalesce(max(version), 0) FROM evaluation_schema_version");
            var version = Convert.ToInt32(await current.ExecuteScalarAsync(cancel), CultureInfo.InvariantCulture);
            if (version > s_steps.Count)
            {
                throw new XModException($"the database's evaluation tables have schema version {version}, newer than this hub knows ({s_steps.Count}): upgrade the hub");
            }
            for (var step = version + 1; step <= s_steps.Count; step++)
            {
                await using var tx = await c.BeginTransactionAsync(cancel);
                await ExecuteAsync(c, tx, s_steps[step - 1], cancel);
                await ExecuteAsync(c, tx, "INSERT INTO evaluation_schema_version (version) VALUES (@v)", cancel, ("v", step));
                await tx.CommitAsync(cancel);
            }
        }
        finally
        {
            await ExecuteAsync(c, null, "SELECT pg_advisory_unlock(@k)", CancellationToken.None, ("k", MigrationLock));
        }
    }

    public async Task<EvaluationRecord> AddAsync(EvaluationRecord e, CancellationToken cancel)
    {
        await using var c = await _source.OpenConnectionAsync(cancel);
        await using var cmd = Command(c, null, """
            INSERT INTO evaluations (lower_id, package_id, package_version, trunk_id, trunk_version, language, eval_set, data_sha256, evaluator_version, metrics, evaluator, created)
            VALUES (@lid, @id, @v, @tid, @tv, @lang, @set, @sha, @ev, @m, @who, @at) RETURNING seq
            """,
            ("lid", e.PackageId.ToLowerInvariant()), ("id", e.PackageId), ("v", e.PackageVersion), ("tid", e.TrunkId), ("tv", e.TrunkVersion),
            ("lang", e.Language), ("set", e.EvalSet), ("sha", e.DataSha256), ("ev", e.EvaluatorVersion),
            ("m", JsonSerializer.Serialize(e.Metrics)), ("who", e.Evaluator), ("at", e.Created.ToUniversalTime()));
        var seq = Convert.ToInt64(await cmd.ExecuteScalarAsync(cancel), CultureInfo.InvariantCulture);
        return e with { Sequence = seq };
    }

    public async Task<IReadOnlyList<EvaluationRecord>> ListAsync(string packageId, CancellationToken cancel)
    {
        await using var c = await _source.OpenConnectionAsync(cancel);
        return await QueryAsync(c, $"SELECT {Columns} FROM evaluations WHERE lower_id = @lid ORDER BY seq", cancel, ("lid", packageId.ToLowerInvariant()));
    }

    public async Task<IReadOnlyList<EvaluationRecord>> LatestAsync(IReadOnlyCollection<string> packageIds, CancellationToken cancel)
    {
        if (packageIds.Count == 0)
        {
            return [];
        }
        await using var c = await _source.OpenConnectionAsync(cancel);
        return await QueryAsync(c, $"""
            SELECT {Columns} FROM evaluations WHERE seq IN (
              SELECT max(seq) FROM evaluations WHERE lower_id = ANY(@ids) GROUP BY lower_id, lower(package_version))
            ORDER BY seq
            """, cancel, ("ids", packageIds.Select(i => i.ToLowerInvariant()).Distinct().ToArray()));
    }

    public async Task<EvaluationRequest> RequestAsync(string packageId, string packageVersion, string requestedBy, CancellationToken cancel)
    {
        await using var c = await _source.OpenConnectionAsync(cancel);
        var created = DateTimeOffset.UtcNow;
        await using var cmd = Command(c, null, "INSERT INTO evaluation_requests (package_id, package_version, requested_by, created) VALUES (@id, @v, @by, @at) RETURNING seq",
            ("id", packageId), ("v", packageVersion), ("by", requestedBy), ("at", created));
        var seq = Convert.ToInt64(await cmd.ExecuteScalarAsync(cancel), CultureInfo.InvariantCulture);
        return new EvaluationRequest(seq, packageId, packageVersion, requestedBy, created);
    }

    public async Task<IReadOnlyList<EvaluationRequest>> RequestsAfterAsync(long after, int take, CancellationToken cancel)
    {
        await using var c = await _source.OpenConnectionAsync(cancel);
        await using var cmd = Command(c, null, "SELECT seq, package_id, package_version, requested_by, created FROM evaluation_requests WHERE seq > @after ORDER BY seq LIMIT @take",
            ("after", after), ("take", take));
        await using var r = await cmd.ExecuteReaderAsync(cancel);
        var list = new List<EvaluationRequest>();
        while (await r.ReadAsync(cancel))
        {
            list.Add(new EvaluationRequest(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetFieldValue<DateTimeOffset>(4)));
        }
        return list;
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

    private static async Task ExecuteAsync(NpgsqlConnection c, NpgsqlTransaction? tx, string sql, CancellationToken cancel, params (string Name, object? Value)[] args)
    {
        await using var cmd = Command(c, tx, sql, args);
        await cmd.ExecuteNonQueryAsync(cancel);
    }

    private static async Task<IReadOnlyList<EvaluationRecord>> QueryAsync(NpgsqlConnection c, string sql, CancellationToken cancel, params (string, object?)[] args)
    {
        await using var cmd = Command(c, null, sql, args);
        await using var r = await cmd.ExecuteReaderAsync(cancel);
        var list = new List<EvaluationRecord>();
        while (await r.ReadAsync(cancel))
        {
            list.Add(new EvaluationRecord
            {
                Sequence = r.GetInt64(0), PackageId = r.GetString(1), PackageVersion = r.GetString(2), TrunkId = r.GetString(3), TrunkVersion = r.GetString(4),
                Language = r.GetString(5), EvalSet = r.GetString(6), DataSha256 = r.GetString(7), EvaluatorVersion = r.GetString(8),
                Metrics = JsonSerializer.Deserialize<Dictionary<string, double>>(r.GetString(9)) ?? [],
                Evaluator = r.GetString(10), Created = r.GetFieldValue<DateTimeOffset>(11),
            });
        }
        return list;
    }
}

public static class PostgreSqlEvaluationExtensions
{
    /// <summary>Registers the evaluation store in the index's database (Database:ConnectionString).</summary>
    public static IServiceCollection AddPostgreSqlEvaluations(this IServiceCollection services, IConfiguration section)
    {
        var options = section.Get<PostgreSqlMetadataOptions>() ?? new PostgreSqlMetadataOptions();
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            throw new XModException("Database:ConnectionString is required for the PostgreSql evaluation store");
        }
        var store = new PostgreSqlEvaluationStore(options);
        return services.AddSingleton<IEvaluationStore>(store).AddSingleton<XModHub.Core.IStoreInitializer>(store);
    }
}
