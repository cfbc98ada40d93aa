using Exir.Case;
using Exir.Case.Store;
using Exir.Core.Coverage;
using Exir.Core.Findings;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Exir.Case.Tests;

/// <summary>
/// A fresh case on one backend: a SQLite file in a temp folder, or a new database on the PostgreSQL server of
/// EXIR_TEST_PG (scripts/test.sh starts a private one), dropped afterwards. PostgreSQL skips without it.
/// </summary>
public sealed class TestCase : IDisposable
{
    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";
    public static readonly TheoryData<string> Backends = [Sqlite, Postgres];

    public string Backend { get; }
    public string Target { get; }
    private readonly string? _adminConnection;
    private readonly string? _database;

    private TestCase(string backend, string target, string? adminConnection, string? database)
    {
        Backend = backend; Target = target; _adminConnection = adminConnection; _database = database;
    }

    public static TestCase Create(string backend)
    {
        if (backend == Sqlite) return new TestCase(backend, Path.Combine(TestPaths.NewTempDir("exir-case"), "exir-case.db"), null, null);
        var url = Environment.GetEnvironmentVariable("EXIR_TEST_PG");
        if (string.IsNullOrEmpty(url)) Assert.Skip("PostgreSQL tests need EXIR_TEST_PG (a postgresql:// URL; scripts/test.sh starts a private server)");
        var admin = PostgresTarget.Parse(url);
        var db = "exir_test_" + Guid.NewGuid().ToString("N")[..16];
        using (var c = new NpgsqlConnection(admin.ConnectionString))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = $"CREATE DATABASE {db}";
            cmd.ExecuteNonQuery();
        }
        var b = new UriBuilder(url.Replace("postgres://", "postgresql://", StringComparison.OrdinalIgnoreCase)) { Path = "/" + db };
        return new TestCase(backend, b.Uri.ToString(), admin.ConnectionString, db);
    }

    public ICaseStore Open() => CaseStores.Open(Target);

    /// <summary>A value straight from the database (bypassing the store), to check what it wrote.</summary>
    public object? Scalar(string sql)
    {
        using var c = Connect();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        var v = cmd.ExecuteScalar();
        return v is DBNull ? null : v;
    }

    public long Count(string sql) => Convert.ToInt64(Scalar(sql));

    public void Execute(string sql)
    {
        using var c = Connect();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private System.Data.Common.DbConnection Connect()
    {
        System.Data.Common.DbConnection c = Backend == Sqlite
            ? new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Target, Pooling = false }.ToString())
            : new NpgsqlConnection(PostgresTarget.Parse(Target).ConnectionString);
        c.Open();
        return c;
    }

    public void Dispose()
    {
        if (_adminConnection is null) return;
        NpgsqlConnection.ClearAllPools();
        using var c = new NpgsqlConnection(_adminConnection);
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"DROP DATABASE IF EXISTS {_database} WITH (FORCE)";
        cmd.ExecuteNonQuery();
    }
}

/// <summary>Scans built by hand: the store's contract is ScanResult, whatever made it.</summary>
public static class Scans
{
    public static readonly DateTimeOffset T0 = new(2021, 3, 3, 5, 0, 0, TimeSpan.Zero);

    public static Finding F(string host, string rule, string artifact, long? line, DateTimeOffset? time, string? ip = null,
        Outcome outcome = Outcome.Attempt, Severity severity = Severity.High, string evidence = "GET /ecp/x.js", string scanId = "")
    {
        var hostId = HostIds.For(host);
        return new Finding
        {
            RuleId = rule, Title = "Title of " + rule, Severity = severity, Outcome = outcome, Host = host, Artifact = artifact, Line = line,
            Timestamp = time, TimeSource = time is null ? null : TimeSources.LogLine, ClientIp = ip, Evidence = evidence,
            Details = new Dictionary<string, string> { ["uri"] = "/ecp/y.js" }, Cves = ["CVE-2021-26855"],
            Id = StableIds.Finding(hostId, rule, artifact, line), HostId = hostId, ScanId = scanId,
        };
    }

    public static ScanResult Scan(string scanId, IReadOnlyList<Finding> findings, params string[] hosts) => Scan(scanId, findings, null, hosts);

    public static ScanResult Scan(string scanId, IReadOnlyList<Finding> findings, IEnumerable<Finding>? overflow, params string[] hosts)
    {
        var hostResults = hosts.Select(h =>
        {
            var coverage = new CoverageReport();
            coverage.FileSeen(); coverage.FileRead(1234);
            coverage.Family("iis").AddFile(1234);
            coverage.Family("iis").AddSpan(100, 2, T0.AddDays(-30), T0.AddDays(1), [DateOnly.FromDateTime(T0.UtcDateTime)]);
            coverage.AddIssue(IssueKind.Unreadable, "inetpub/logs/locked.log", "access denied");
            coverage.CheckNotRun("CVE-2021-26857", "no Application log");
            coverage.FileHashes[$"inetpub/logs/{h}.log"] = new string('a', 64);
            var mine = findings.Where(f => f.Host == h).ToList();
            var kind = mine.Any(f => f.Outcome == Outcome.Success) ? VerdictKind.Compromised : mine.Count > 0 ? VerdictKind.Attempted : VerdictKind.NoEvidenceFound;
            return new HostResult
            {
                HostId = HostIds.For(h), Name = h, NameSource = "option", Evidence = new EvidenceRoot("/evidence/" + h, "folder", null),
                ExchangeBuild = "15.1.2176.2",
                PatchStatus = new PatchStatus { Build = "15.1.2176.2", Product = "Exchange Server 2016", OpenCves = ["CVE-2021-26855"], Action = "patch", ActionText = "install the SU" },
                Verdict = new Verdict(kind, "headline " + h, "reason", "caveat"), Coverage = coverage, FindingCount = mine.Count,
            };
        }).ToList();
        var overflowList = overflow;
        return new ScanResult
        {
            Findings = findings, Incidents = [], Verdict = hostResults[0].Verdict, Hosts = hostResults,
            Provenance = new Provenance
            {
                Tool = "exir", ToolVersion = "test", ScanId = scanId, Command = "exir scan test", Input = string.Join("; ", hosts.Select(h => "/evidence/" + h)),
                InputKind = "folder", RulesOrigin = "test", RulesVersion = "r1", StartedUtc = T0.AddDays(10), FinishedUtc = T0.AddDays(10).AddMinutes(5),
            },
            Overflow = overflowList is null ? null : new FindingOverflow(overflowList.LongCount(), new Dictionary<string, long>(), new Dictionary<Severity, long>(), 500, () => overflowList),
        };
    }
}
