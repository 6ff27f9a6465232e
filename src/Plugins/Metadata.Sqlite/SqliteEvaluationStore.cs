using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using XModHub.Core.Evaluations;

namespace XModHub.Plugins.Metadata.Sqlite;

/// <summary>
/// Evaluations and re-evaluation requests in the hub's SQLite file, in tables of their own:
/// inserts and reads only (an evaluation is never updated; a newer one supersedes it).
/// </summary>
public sealed class SqliteEvaluationStore(SqliteMetadataOptions options) : IEvaluationStore
{
    private const string Columns = "seq, package_id, package_version, trunk_id, trunk_version, language, eval_set, data_sha256, evaluator_version, metrics, evaluator, created";

    private Task<SqliteConnection> OpenAsync(CancellationToken cancel) => SqliteConnections.OpenAsync(options.ConnectionString, cancel);

    public async Task InitializeAsync(CancellationToken cancel)
    {
        await using var c = await OpenAsync(cancel);
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            CREATE TABLE IF NOT EXISTS evaluations (
              seq INTEGER PRIMARY KEY AUTOINCREMENT, lower_id TEXT NOT NULL, package_id TEXT NOT NULL, package_version TEXT NOT NULL,
              trunk_id TEXT NOT NULL, trunk_version TEXT NOT NULL, language TEXT NOT NULL, eval_set TEXT NOT NULL, data_sha256 TEXT NOT NULL,
              evaluator_version TEXT NOT NULL, metrics TEXT NOT NULL, evaluator TEXT NOT NULL, created TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS evaluations_id ON evaluations (lower_id, seq);
            CREATE TABLE IF NOT EXISTS evaluation_requests (
              seq INTEGER PRIMARY KEY AUTOINCREMENT, package_id TEXT NOT NULL, package_version TEXT NOT NULL, requested_by TEXT NOT NULL, created TEXT NOT NULL);
            """;
        await cmd.ExecuteNonQueryAsync(cancel);
    }

    public async Task<EvaluationRecord> AddAsync(EvaluationRecord e, CancellationToken cancel)
    {
        await using var c = await OpenAsync(cancel);
        using var cmd = Command(c, """
            INSERT INTO evaluations (lower_id, package_id, package_version, trunk_id, trunk_version, language, eval_set, data_sha256, evaluator_version, metrics, evaluator, created)
            VALUES ($lid, $id, $v, $tid, $tv, $lang, $set, $sha, $ev, $m, $who, $at) RETURNING seq
            """,
            ("$lid", e.PackageId.ToLowerInvariant()), ("$id", e.PackageId), ("$v", e.PackageVersion), ("$tid", e.TrunkId), ("$tv", e.TrunkVersion),
            ("$lang", e.Language), ("$set", e.EvalSet), ("$sha", e.DataSha256), ("$ev", e.EvaluatorVersion),
            ("$m", JsonSerializer.Serialize(e.Metrics)), ("$who", e.Evaluator), ("$at", e.Created.ToString("O", CultureInfo.InvariantCulture)));
        var seq = Convert.ToInt64(await cmd.ExecuteScalarAsync(cancel), CultureInfo.InvariantCulture);
        return e with { Sequence = seq };
    }

    public async Task<IReadOnlyList<EvaluationRecord>> ListAsync(string packageId, CancellationToken cancel)
    {
        await using var c = await OpenAsync(cancel);
        return await QueryAsync(c, $"SELECT {Columns} FROM evaluations WHERE lower_id = $lid ORDER BY seq", cancel, ("$lid", packageId.ToLowerInvariant()));
    }

    public async Task<IReadOnlyList<EvaluationRecord>> LatestAsync(IReadOnlyCollection<string> packageIds, CancellationToken cancel)
    {
        if (packageIds.Count == 0)
        {
            return [];
        }
        await using var c = await OpenAsync(cancel);
        var ids = packageIds.Select(i => i.ToLowerInvariant()).Distinct().ToList();
        var names = ids.Select((_, i) => "$p" + i.ToString(CultureInfo.InvariantCulture)).ToList();
        return await QueryAsync(c, $"""
            SELECT {Columns} FROM evaluations WHERE seq IN (
              SELECT max(seq) FROM evaluations WHERE lower_id IN ({string.Join(", ", names)}) GROUP BY lower_id, lower(package_version))
            ORDER BY seq
            """, cancel, [.. names.Zip(ids, (n, v) => (n, (object?)v))]);
    }

    public async Task<EvaluationRequest> RequestAsync(string packageId, string packageVersion, string requestedBy, CancellationToken cancel)
    {
        await using var c = await OpenAsync(cancel);
        var created = DateTimeOffset.UtcNow;
        using var cmd = Command(c, "INSERT INTO evaluation_requests (package_id, package_version, requested_by, created) VALUES ($id, $v, $by, $at) RETURNING seq",
            ("$id", packageId), ("$v", packageVersion), ("$by", requestedBy), ("$at", created.ToString("O", CultureInfo.InvariantCulture)));
        var seq = Convert.ToInt64(await cmd.ExecuteScalarAsync(cancel), CultureInfo.InvariantCulture);
        return new EvaluationRequest(seq, packageId, packageVersion, requestedBy, created);
    }

    public async Task<IReadOnlyList<EvaluationRequest>> RequestsAfterAsync(long after, int take, CancellationToken cancel)
    {
        await using var c = await OpenAsync(cancel);
        using var cmd = Command(c, "SELECT seq, package_id, package_version, requested_by, created FROM evaluation_requests WHERE seq > $after ORDER BY seq LIMIT $take",
            ("$after", after), ("$take", take));
        await using var r = await cmd.ExecuteReaderAsync(cancel);
        var list = new List<EvaluationRequest>();
        while (await r.ReadAsync(cancel))
        {
            list.Add(new EvaluationRequest(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), DateTimeOffset.Parse(r.GetString(4), CultureInfo.InvariantCulture)));
        }
        return list;
    }

    private static SqliteCommand Command(SqliteConnection c, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (name, value) in args)
        {
            cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
        return cmd;
    }

    private static async Task<IReadOnlyList<EvaluationRecord>> QueryAsync(SqliteConnection c, string sql, CancellationToken cancel, params (string, object?)[] args)
    {
        using var cmd = Command(c, sql, args);
        await using var r = await cmd.ExecuteReaderAsync(cancel);
        var list = new List<EvaluationRecord>();
        while (await r.ReadAsync(cancel))
        {
            list.Add(new EvaluationRecord
            {
                Sequence = r.GetInt64(0), PackageId = r.GetString(1), PackageVersion = r.GetString(2), TrunkId = r.GetString(3), TrunkVersion = r.GetString(4),
                Language = r.GetString(5), EvalSet = r.GetString(6), DataSha256 = r.GetString(7), EvaluatorVersion = r.GetString(8),
                Metrics = JsonSerializer.Deserialize<Dictionary<string, double>>(r.GetString(9)) ?? [],
                Evaluator = r.GetString(10), Created = DateTimeOffset.Parse(r.GetString(11), CultureInfo.InvariantCulture),
            });
        }
        return list;
    }
}

public static class SqliteEvaluationExtensions
{
    /// <summary>Registers the evaluation store in the same SQLite file as the index (Database:ConnectionString).</summary>
    public static IServiceCollection AddSqliteEvaluations(this IServiceCollection services, IConfiguration section)
    {
        var options = section.Get<SqliteMetadataOptions>() ?? new SqliteMetadataOptions();
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            throw new XMod.XModException("Database:ConnectionString is required for the Sqlite evaluation store");
        }
        var store = new SqliteEvaluationStore(options);
        return services.AddSingleton<IEvaluationStore>(store).AddSingleton<XModHub.Core.IStoreInitializer>(store);
    }
}
