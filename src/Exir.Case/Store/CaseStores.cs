using Npgsql;

namespace Exir.Case.Store;

/// <summary>The case could not be opened, migrated, read or written; the message says why (never a password).</summary>
public sealed class CaseStoreException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>Opens a case: a file path (SQLite, created when absent) or a postgresql:// URL (a team's server).</summary>
public static class CaseStores
{
    /// <summary>The usual name of a case file beside the evidence.</summary>
    public const string DefaultFileName = "exir-case.db";

    public static bool IsPostgresUrl(string target) =>
        target.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase) || target.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase);

    /// <summary>Opens (and creates or migrates) the case at <paramref name="target"/>; <see cref="CaseStoreException"/> when it cannot.</summary>
    public static ICaseStore Open(string target)
    {
        if (string.IsNullOrWhiteSpace(target)) throw new CaseStoreException("no case given (a file such as exir-case.db, or postgresql://user@host/db)");
        if (IsPostgresUrl(target))
        {
            var pg = PostgresTarget.Parse(target);
            return SqlCaseStore.Open(new PostgresDialect(pg.ConnectionString), pg.Description);
        }
        var path = Path.GetFullPath(target);
        if (Directory.Exists(path)) throw new CaseStoreException($"the case must be a file, not a folder: {path} (e.g. {Path.Combine(path, DefaultFileName)})");
        var dir = Path.GetDirectoryName(path);
        if (dir is not null && !Directory.Exists(dir)) throw new CaseStoreException($"the case's folder does not exist: {dir}");
        return SqlCaseStore.Open(new SqliteDialect(path), "SQLite " + path);
    }
}

/// <summary>
/// A postgresql:// or postgres:// URL (libpq's form) as an Npgsql connection string:
/// postgresql://user:password@host:port/database?sslmode=require. User, password and database are
/// percent-decoded. <see cref="Description"/> never holds the password.
/// </summary>
public sealed record PostgresTarget(string Host, int Port, string Database, string? User, string ConnectionString, string Description)
{
    public static PostgresTarget Parse(string url)
    {
        int scheme = url.IndexOf("://", StringComparison.Ordinal);
        if (scheme < 0 || !CaseStores.IsPostgresUrl(url)) throw new CaseStoreException("not a postgresql:// URL");
        var rest = url[(scheme + 3)..];
        string? query = null;
        int q = rest.IndexOf('?');
        if (q >= 0) { query = rest[(q + 1)..]; rest = rest[..q]; }
        int slash = rest.IndexOf('/');
        var authority = slash >= 0 ? rest[..slash] : rest;
        var database = slash >= 0 ? Decode(rest[(slash + 1)..]) : "";
        string? user = null, password = null;
        // The last '@' separates the credentials: a password may contain '@' when not percent-encoded.
        int at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            var cred = authority[..at];
            authority = authority[(at + 1)..];
            int colon = cred.IndexOf(':');
            user = Decode(colon >= 0 ? cred[..colon] : cred);
            if (colon >= 0) password = Decode(cred[(colon + 1)..]);
        }
        string host = authority;
        int port = 5432;
        if (authority.StartsWith('['))
        {
            int end = authority.IndexOf(']');
            if (end < 0) throw new CaseStoreException("postgresql URL: unclosed '[' in the host");
            host = authority[1..end];
            var after = authority[(end + 1)..];
            if (after.StartsWith(':')) port = ParsePort(after[1..]);
        }
        else
        {
            int colon = authority.LastIndexOf(':');
            if (colon >= 0) { host = authority[..colon]; port = ParsePort(authority[(colon + 1)..]); }
        }
        host = Decode(host);
        if (host.Length == 0) host = "localhost";
        if (database.Length == 0) database = user ?? "postgres";

        var b = new NpgsqlConnectionStringBuilder { Host = host, Port = port, Database = database, Username = user, Password = password };
        if (query is not null)
            foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                int eq = pair.IndexOf('=');
                var key = Decode(eq >= 0 ? pair[..eq] : pair).ToLowerInvariant();
                var value = eq >= 0 ? Decode(pair[(eq + 1)..]) : "";
                switch (key)
                {
                    case "sslmode":
                        b.SslMode = value.ToLowerInvariant() switch
                        {
                            "disable" => SslMode.Disable, "allow" => SslMode.Allow, "prefer" => SslMode.Prefer,
                            "require" => SslMode.Require, "verify-ca" => SslMode.VerifyCA, "verify-full" => SslMode.VerifyFull,
                            _ => throw new CaseStoreException($"postgresql URL: unknown sslmode '{value}' (disable, allow, prefer, require, verify-ca, verify-full)"),
                        };
                        break;
                    case "sslrootcert": b.RootCertificate = value; break;
                    case "application_name": b.ApplicationName = value; break;
                    case "connect_timeout":
                        b.Timeout = int.TryParse(value, out var t) && t > 0 ? t : throw new CaseStoreException($"postgresql URL: connect_timeout '{value}' is not a number of seconds");
                        break;
                    case "options" or "search_path":
                        b.SearchPath = key == "search_path" ? value : b.SearchPath;
                        if (key == "options") b.Options = value;
                        break;
                    case "password": b.Password = value; break;
                    case "user": b.Username = value; break;
                    default: throw new CaseStoreException($"postgresql URL: unsupported parameter '{key}' (sslmode, sslrootcert, application_name, connect_timeout, search_path, options)");
                }
            }
        b.ApplicationName ??= "exir";
        var shown = $"PostgreSQL {(b.Username is { } u ? u + "@" : "")}{(host.Contains(':') ? $"[{host}]" : host)}:{port}/{database}";
        return new PostgresTarget(host, port, database, b.Username, b.ConnectionString, shown);
    }

    // The connection string holds the password: a record's generated ToString would print it.
    public override string ToString() => Description;

    private static int ParsePort(string s) =>
        int.TryParse(s, out var p) && p is > 0 and < 65536 ? p : throw new CaseStoreException($"postgresql URL: '{s}' is not a port");

    // Strict, as libpq: a '%' not followed by two hex digits is an error, not a literal (a mistyped password must not pass silently).
    private static string Decode(string s)
    {
        for (int i = s.IndexOf('%'); i >= 0; i = s.IndexOf('%', i + 1))
            if (i + 2 >= s.Length || !Uri.IsHexDigit(s[i + 1]) || !Uri.IsHexDigit(s[i + 2]))
                throw new CaseStoreException("postgresql URL: bad percent-encoding (write '%' as %25)");
        return Uri.UnescapeDataString(s);
    }
}
