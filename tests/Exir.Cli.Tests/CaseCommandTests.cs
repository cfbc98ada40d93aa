using System.Text.Json;
using Exir.Tests;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Exir.Cli.Tests;

/// <summary>--case on the verbs and the exir case verbs, run as a user runs them.</summary>
/// <remarks>Tier slow: spawns processes; left out of scripts/test.sh --fast.</remarks>
[Trait("Tier", "slow")]
public class CaseCommandTests
{
    private static string Sample => Path.Combine(TestPaths.RepoRoot, "samples", "exch01");

    private static string NewCase() => Path.Combine(TestPaths.NewTempDir("exir-case-cli"), "exir-case.db");

    [Fact]
    public void AScanWrittenWithCaseAndImportedAfterIsThereOnceAndStatusSaysCompromised()
    {
        var db = NewCase();
        var outDir = TestPaths.NewTempDir();
        var scan = ExirProcess.Run("scan", Sample, "--case", db, "--out", outDir, "--no-progress");
        Assert.Equal(1, scan.ExitCode);
        Assert.Matches(@"case SQLite .*: 1 host\(s\), [1-9]\d* finding\(s\) added, 0 already in the case", scan.Stderr);

        var import = ExirProcess.Run("case", "import", outDir, "--case", db);
        Assert.Equal(0, import.ExitCode);
        Assert.Matches(@": scan; 0 finding\(s\) added, [1-9]\d* already in the case", import.Stdout);

        var status = ExirProcess.Run("case", "status", "--case", db);
        Assert.Equal(1, status.ExitCode);
        Assert.Matches(@"EXCH01\s+COMPROMISED", status.Stdout);
        var json = ExirProcess.Run("case", "status", "--case", db, "--format", "json");
        Assert.Equal(1, json.ExitCode);
        using var doc = JsonDocument.Parse(json.Stdout);
        var host = Assert.Single(doc.RootElement.GetProperty("hosts").EnumerateArray());
        Assert.Equal("COMPROMISED", host.GetProperty("verdict").GetString());
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
        Assert.Equal(summary.RootElement.GetProperty("counts").GetProperty("findings").GetInt64(), doc.RootElement.GetProperty("findings").GetInt64());

        var hosts = ExirProcess.Run("case", "hosts", "--case", db, "--format", "json");
        Assert.Equal(0, hosts.ExitCode);
        Assert.Equal("EXCH01", JsonDocument.Parse(hosts.Stdout).RootElement[0].GetProperty("name").GetString());
    }

    [Fact]
    public async Task TwoProcessesWritingANewCaseAtOnceLandEveryFindingOnce()
    {
        var db = NewCase();
        // Both create and migrate the same new file, then write overlapping scans (the same evidence: the same finding ids).
        var runs = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
            ExirProcess.Run("scan", Sample, "--case", db, "--no-progress", "--format", "jsonl"))));
        Assert.All(runs, r => Assert.Equal(1, r.ExitCode));
        Assert.All(runs, r => Assert.DoesNotContain("could not", r.Stderr));
        long perScan = runs[0].Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
        using var c = new SqliteConnection($"Data Source={db};Pooling=False");
        c.Open();
        long Count(string sql)
        {
            using var cmd = c.CreateCommand();
            cmd.CommandText = sql;
            return Convert.ToInt64(cmd.ExecuteScalar());
        }
        Assert.Equal(perScan, Count("SELECT COUNT(*) FROM findings"));
        Assert.Equal(2 * perScan, Count("SELECT COUNT(*) FROM finding_scans"));
        Assert.Equal(1, Count("SELECT COUNT(*) FROM schema_migrations"));
        Assert.Equal(2, Count("SELECT COUNT(*) FROM scans"));
    }

    [Fact]
    public void ACaseThatCannotBeOpenedStopsTheScanBeforeItReadsAnything()
    {
        var folder = TestPaths.NewTempDir();
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");
        var r = ExirProcess.Run("scan", Sample, "--case", folder, "--out", outDir, "--no-progress");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("is a folder", r.Stderr);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void ACaseThatCannotBeWrittenExitsTwoAfterTheOtherOutputs()
    {
        var db = NewCase();
        Assert.Equal(0, ExirProcess.Run("case", "set", "name", "damaged", "--case", db).ExitCode);
        // A damaged case: its findings table is gone, so writing the scan fails after the case opened.
        using (var c = new SqliteConnection($"Data Source={db};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "DROP TABLE findings";
            cmd.ExecuteNonQuery();
        }
        var outDir = TestPaths.NewTempDir();
        var r = ExirProcess.Run("scan", Sample, "--case", db, "--out", outDir, "--no-progress", "--format", "jsonl");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("could not be written", r.Stderr);
        Assert.True(File.Exists(Path.Combine(outDir, "summary.json")));
        Assert.NotEmpty(r.Stdout);
    }

    [Fact]
    public void SetTakesTimesWithAnOffsetOrAZoneAndRefusesWhatItCannotRead()
    {
        var db = NewCase();
        var berlin = ExirProcess.Run("case", "set", "aware_utc", "2021-03-04T09:30", "--tz", "Europe/Berlin", "--case", db);
        Assert.Equal(0, berlin.ExitCode);
        Assert.Contains("2021-03-04T08:30:00.0000000Z", berlin.Stdout);
        var summer = ExirProcess.Run("case", "set", "aware_utc", "2021-07-04T09:30+02:00", "--case", db);
        Assert.Contains("2021-07-04T07:30:00.0000000Z", summer.Stdout);
        var noZone = ExirProcess.Run("case", "set", "aware_utc", "2021-03-04T09:30", "--case", db);
        Assert.Equal(2, noZone.ExitCode);
        Assert.Contains("--tz", noZone.Stderr);
        Assert.Equal(2, ExirProcess.Run("case", "set", "aware_utc", "yesterday", "--case", db).ExitCode);
        Assert.Equal(2, ExirProcess.Run("case", "set", "aware_utc", "2021-03-04T09:30", "--tz", "Mars/Olympus", "--case", db).ExitCode);
        Assert.Equal(2, ExirProcess.Run("case", "set", "colour", "blue", "--case", db).ExitCode);
        Assert.Equal(2, ExirProcess.Run("case", "set", "high_risk", "maybe", "--case", db).ExitCode);
        Assert.Equal(0, ExirProcess.Run("case", "set", "critical_infrastructure", "yes", "--case", db).ExitCode);
        using var doc = JsonDocument.Parse(ExirProcess.Run("case", "status", "--case", db, "--format", "json").Stdout);
        var settings = doc.RootElement.GetProperty("settings");
        Assert.Equal("2021-07-04T07:30:00Z", settings.GetProperty("aware_utc").GetString());
        Assert.True(settings.GetProperty("critical_infrastructure").GetBoolean());
        Assert.Equal(JsonValueKind.Null, settings.GetProperty("high_risk").ValueKind);
    }

    [Fact]
    public void StepsAreValidatedKeptAndPrintedSafely()
    {
        var db = NewCase();
        Assert.Equal(2, ExirProcess.Run("case", "step", "patch-or-shutdown", "finished", "--case", db).ExitCode);
        Assert.Equal(2, ExirProcess.Run("case", "step", "Patch Now!", "done", "--case", db).ExitCode);
        var unknown = ExirProcess.Run("case", "step", "patch", "done", "--case", db);
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("patch-or-shutdown", unknown.Stderr);
        Assert.Equal(0, ExirProcess.Run("case", "step", "patch-or-shutdown", "open", "--case", db, "--by", "alice").ExitCode);
        Assert.Equal(0, ExirProcess.Run("case", "step", "patch-or-shutdown", "done", "--note", "SU \u001b[31minstalled\u001b[0m", "--case", db, "--by", "bob").ExitCode);
        Assert.Equal(0, ExirProcess.Run("case", "note", "EXCH01 off the network", "--host", "EXCH01", "--case", db).ExitCode);
        var status = ExirProcess.Run("case", "status", "--case", db);
        Assert.Equal(0, status.ExitCode);
        Assert.Matches(@"patch-or-shutdown\s+done\s+bob", status.Stdout);
        Assert.Matches(@"authority-notified\s+\S+\s+open", status.Stdout);
        Assert.DoesNotContain('\u001b', status.Stdout);
        using var doc = JsonDocument.Parse(ExirProcess.Run("case", "status", "--case", db, "--format", "json").Stdout);
        var step = Assert.Single(doc.RootElement.GetProperty("steps").EnumerateArray());
        Assert.Equal(("done", "bob"), (step.GetProperty("state").GetString(), step.GetProperty("by").GetString()));
        var item = doc.RootElement.GetProperty("checklist").EnumerateArray().Single(i => i.GetProperty("id").GetString() == "patch-or-shutdown");
        Assert.Equal(("done", "bob"), (item.GetProperty("state").GetString(), item.GetProperty("state_by").GetString()));
    }

    [Fact]
    public void AMissedNotificationDeadlineMakesStatusExitOne()
    {
        // A compromised server (personal data assumed in mailboxes) and awareness four days ago: the 72 hours are gone.
        var db = NewCase();
        var scan = ExirProcess.Run("scan", "--no-progress", "--case", db, Path.Combine(TestPaths.RepoRoot, "samples", "exch01"));
        Assert.True(scan.ExitCode == 1, scan.Stderr);
        var aware = DateTimeOffset.UtcNow.AddDays(-4).ToString("yyyy-MM-dd'T'HH:mm'Z'");
        Assert.Equal(0, ExirProcess.Run("case", "set", "aware_utc", aware, "--case", db).ExitCode);
        var status = ExirProcess.Run("case", "status", "--case", db, "--lang", "de");
        Assert.Equal(1, status.ExitCode);
        Assert.Matches(@"authority-notified\s+required\s+open.*\[MISSED\]", status.Stdout);
        Assert.Contains("überschritten", status.Stdout); // the countdown in the case's language
        Assert.Equal(0, ExirProcess.Run("case", "step", "authority-notified", "done", "--by", "dpo", "--case", db).ExitCode);
        using var doc = JsonDocument.Parse(ExirProcess.Run("case", "status", "--case", db, "--format", "json").Stdout);
        var item = doc.RootElement.GetProperty("checklist").EnumerateArray().Single(i => i.GetProperty("id").GetString() == "authority-notified");
        Assert.True(item.GetProperty("missed").GetBoolean()); // done after the deadline: still flagged, as done late
    }

    [Fact]
    public void ABareCaseGoesIntoTheOutFolderAndACaseInsideTheEvidenceIsRefused()
    {
        var root = TestPaths.NewTempDir("exir-case-bare");
        var evidence = Path.Combine(root, "exch01");
        CopyTree(Path.Combine(TestPaths.RepoRoot, "samples", "exch01"), evidence);
        var outDir = Path.Combine(root, "out");
        var r = ExirProcess.Run("scan", "--no-progress", "--out", outDir, evidence, "--case");
        Assert.Equal(1, r.ExitCode);
        Assert.True(File.Exists(Path.Combine(outDir, "exir-case.db")), r.Stderr);

        var inside = ExirProcess.Run("scan", "--no-progress", "--case", Path.Combine(evidence, "exir-case.db"), evidence);
        Assert.Equal(2, inside.ExitCode);
        Assert.Contains("inside the evidence", inside.Stderr);
        Assert.False(File.Exists(Path.Combine(evidence, "exir-case.db")));

        var folder = ExirProcess.Run("scan", "--no-progress", "--case", evidence);
        Assert.Equal(2, folder.ExitCode);
        Assert.Contains("is a folder", folder.Stderr);
    }

    private static void CopyTree(string from, string to)
    {
        foreach (var f in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, f));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(f, target);
        }
    }

    [Fact]
    public void ReadingACaseThatDoesNotExistCreatesNothing()
    {
        var db = NewCase();
        var r = ExirProcess.Run("case", "status", "--case", db);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("no case at", r.Stderr);
        Assert.False(File.Exists(db));
    }

    [Fact]
    public void TimelineAndInventoryWriteIntoTheCaseToo()
    {
        var db = NewCase();
        var tl = ExirProcess.Run("timeline", Sample, "--case", db, "--no-progress", "--format", "csv");
        Assert.NotEqual(2, tl.ExitCode);
        Assert.Matches(@"timeline row\(s\) added", tl.Stderr);
        var again = ExirProcess.Run("timeline", Sample, "--case", db, "--no-progress", "--format", "csv");
        Assert.DoesNotMatch(@"timeline row\(s\) added", again.Stderr);
        var inv = ExirProcess.Run("inventory", "15.1.2176.2", "--case", db);
        Assert.Equal(1, inv.ExitCode);
        Assert.Contains("1 assessment(s)", inv.Stderr);
        using var doc = JsonDocument.Parse(ExirProcess.Run("case", "status", "--case", db, "--format", "json").Stdout);
        Assert.True(doc.RootElement.GetProperty("timeline_rows").GetInt64() > 0);
    }

    [Fact]
    public void ALiveQuarantineIsRecordedAndADryRunIsNot()
    {
        var db = NewCase();
        var web = TestPaths.NewTempDir("exir-case-web");
        var shell = Path.Combine(web, "shell.aspx");
        File.WriteAllText(shell, "<%@ Page Language=\"C#\" %><% eval(Request[\"x\"]); %>");
        var store = Path.Combine(TestPaths.NewTempDir("exir-case-q"), "store");
        var dry = ExirProcess.Run("quarantine", shell, "--store", store, "--case", db);
        Assert.Equal(1, dry.ExitCode);
        Assert.False(File.Exists(db));
        var live = ExirProcess.Run("quarantine", shell, "--store", store, "--live", "--case", db);
        Assert.Equal(1, live.ExitCode);
        Assert.Contains("1 quarantine record(s)", live.Stderr);
        using var doc = JsonDocument.Parse(ExirProcess.Run("case", "status", "--case", db, "--format", "json").Stdout);
        Assert.Equal(1, doc.RootElement.GetProperty("quarantined_files").GetInt32());
    }

    [Fact]
    public void APostgresCaseWorksAndItsPasswordIsNeverPrinted()
    {
        var url = Environment.GetEnvironmentVariable("EXIR_TEST_PG");
        if (string.IsNullOrEmpty(url)) Assert.Skip("needs EXIR_TEST_PG (a postgresql:// URL; scripts/test.sh starts a private server)");
        var admin = Exir.Case.Store.PostgresTarget.Parse(url);
        var db = "exir_cli_" + Guid.NewGuid().ToString("N")[..12];
        Exec(admin.ConnectionString, $"CREATE DATABASE {db}");
        try
        {
            // Trust auth on the test server: the password is not checked, only carried; it must never be shown.
            var target = $"postgresql://{Uri.EscapeDataString(admin.User ?? "postgres")}:s3cr%40t-pw@{admin.Host}:{admin.Port}/{db}";
            var scan = ExirProcess.Run("scan", Sample, "--case", target, "--no-progress", "--format", "jsonl");
            Assert.Equal(1, scan.ExitCode);
            var status = ExirProcess.Run("case", "status", "--case", target);
            Assert.Equal(1, status.ExitCode);
            Assert.Contains($"PostgreSQL {admin.User}@{admin.Host}:{admin.Port}/{db}", status.Stdout);
            foreach (var text in new[] { scan.Stderr, status.Stdout, status.Stderr })
            {
                Assert.DoesNotContain("s3cr", text);
                Assert.DoesNotContain("%40t-pw", text);
            }
            var wrongPort = ExirProcess.Run("case", "status", "--case", $"postgresql://u:s3cr%40t-pw@127.0.0.1:1/{db}?connect_timeout=2");
            Assert.Equal(2, wrongPort.ExitCode);
            Assert.DoesNotContain("s3cr", wrongPort.Stderr);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            Exec(admin.ConnectionString, $"DROP DATABASE IF EXISTS {db} WITH (FORCE)");
        }
    }

    /// <summary>Runs one statement on a PostgreSQL server (the test databases are made and dropped with it).</summary>
    internal static void Exec(string connectionString, string sql)
    {
        using var c = new NpgsqlConnection(connectionString);
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
