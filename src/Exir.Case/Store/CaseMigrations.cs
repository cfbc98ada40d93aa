using System.Data.Common;
using System.Globalization;

namespace Exir.Case.Store;

/// <summary>
/// Versioned schema migrations: Store/Migrations/NNNN_name.sql, embedded at build, applied in order under the
/// migration lock (BEGIN IMMEDIATE on SQLite, pg_advisory_xact_lock on PostgreSQL), each version recorded in
/// schema_migrations in the same transaction. Two processes opening a new case at once: the second waits for
/// the lock, then finds the versions applied. A case newer than this exir is refused, never "downgraded".
/// </summary>
internal static class CaseMigrations
{
    private const string ResourcePrefix = "case-migrations/";

    /// <summary>The embedded scripts by version.</summary>
    public static IReadOnlyList<(int Version, string Name, string Sql)> Scripts { get; } = Load();

    private static List<(int, string, string)> Load()
    {
        var asm = typeof(CaseMigrations).Assembly;
        var list = new List<(int, string, string)>();
        foreach (var name in asm.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            var file = name[ResourcePrefix.Length..];
            if (!int.TryParse(file.AsSpan(0, 4), NumberStyles.None, CultureInfo.InvariantCulture, out var version)) continue;
            using var reader = new StreamReader(asm.GetManifestResourceStream(name)!);
            list.Add((version, file, reader.ReadToEnd()));
        }
        return list.OrderBy(s => s.Item1).ToList();
    }

    /// <summary>Brings the case to <paramref name="latest"/>; returns its version. Throws <see cref="CaseStoreException"/> for a newer case.</summary>
    public static int Apply(SqlDialect dialect, DbConnection c, string description, int latest)
    {
        for (int attempt = 1; ; attempt++)
        {
            DbTransaction? tx = null;
            try
            {
                tx = dialect.BeginMigration(c);
                if (!dialect.TableExists(c, tx, "schema_migrations"))
                {
                    if (dialect.ForeignTables(c, tx) > 0)
                        throw new CaseStoreException($"{description} is a database of something else (it has tables but no schema_migrations): not an exir case; it was not changed");
                    Db.Execute(c, tx, "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_utc TEXT NOT NULL)");
                }
                int current = Convert.ToInt32(Db.Scalar(c, tx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations") ?? 0, CultureInfo.InvariantCulture);
                if (current > latest)
                    throw new CaseStoreException($"the case ({description}) has schema version {current}, newer than this exir knows ({latest}): " +
                                                 "update exir to work with this case; it was not changed");
                foreach (var (version, name, sql) in Scripts.Where(s => s.Version > current && s.Version <= latest))
                {
                    Db.Execute(c, tx, sql.Replace("{AUTO_ID}", dialect.AutoId, StringComparison.Ordinal));
                    Db.Execute(c, tx, "INSERT INTO schema_migrations (version, name, applied_utc) VALUES (@v, @n, @t)",
                        ("@v", (long)version), ("@n", name), ("@t", CaseJson.Time(DateTimeOffset.UtcNow)));
                    current = version;
                }
                tx.Commit();
                return current;
            }
            catch (Exception e) when (dialect.IsTransient(e) && attempt < 100)
            {
                try { tx?.Rollback(); } catch (Exception r) when (r is DbException or InvalidOperationException) { }
                Thread.Sleep(10 * Math.Min(attempt, 20) + Random.Shared.Next(30));
            }
            finally { tx?.Dispose(); }
        }
    }
}
