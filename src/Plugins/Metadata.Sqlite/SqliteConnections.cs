using Microsoft.Data.Sqlite;

namespace XModHub.Plugins.Metadata.Sqlite;

/// <summary>How every store of this provider opens its database: WAL (readers never wait for the writer), a 30 s busy wait, foreign keys on.</summary>
internal static class SqliteConnections
{
    public static async Task<SqliteConnection> OpenAsync(string connectionString, CancellationToken cancel)
    {
        var c = new SqliteConnection(connectionString);
        await c.OpenAsync(cancel);
        using var pragma = c.CreateCommand();
        pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=30000; PRAGMA foreign_keys=ON;";
        await pragma.ExecuteNonQueryAsync(cancel);
        return c;
    }
}
