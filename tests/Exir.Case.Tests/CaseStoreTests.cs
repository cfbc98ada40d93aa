using Exir.Case;
using Exir.Case.Store;
using Exir.Core.Findings;
using Exir.Timeline;
using static Exir.Case.Tests.Scans;

namespace Exir.Case.Tests;

/// <summary>The same behaviour on both backends: SQLite (a file) and PostgreSQL (EXIR_TEST_PG, skipped without it).</summary>
public class CaseStoreTests
{
    [Theory, MemberData(nameof(TestCase.Backends), MemberType = typeof(TestCase))]
    public void AFreshCaseIsMigratedOnceAndReopensAtTheSameVersion(string backend)
    {
        using var tc = TestCase.Create(backend);
        using (var store = tc.Open()) Assert.Equal(SqlCaseStore.LatestSchemaVersion, store.SchemaVersion);
        using (var store = tc.Open())
        {
            Assert.Equal(SqlCaseStore.LatestSchemaVersion, store.SchemaVersion);
            Assert.Empty(store.Read().Hosts);
        }
        Assert.Equal(1, tc.Count("SELECT COUNT(*) FROM schema_migrations"));
    }

    [Theory, MemberData(nameof(TestCase.Backends), MemberType = typeof(TestCase))]
    public void ACaseWithANewerSchemaIsRefusedAndLeftAlone(string backend)
    {
        using var tc = TestCase.Create(backend);
        using (tc.Open()) { }
        tc.Execute("INSERT INTO schema_migrations (version, name, applied_utc) VALUES (99, '0099_future.sql', '2030-01-01T00:00:00.0000000Z')");
        var e = Assert.Throws<CaseStoreException>(() => tc.Open());
        Assert.Contains("schema version 99", e.Message);
        Assert.Contains("update exir", e.Message);
        Assert.Equal(2, tc.Count("SELECT COUNT(*) FROM schema_migrations"));
    }

    [Theory, MemberData(nameof(TestCase.Backends), MemberType = typeof(TestCase))]
    public void ADatabaseOfSomethingElseIsNotTakenOver(string backend)
    {
        using var tc = TestCase.Create(backend);
        tc.Execute("CREATE TABLE findings (id INTEGER, what TEXT)");
        var e = Assert.Throws<CaseStoreException>(() => tc.Open());
        Assert.Contains("not an exir case", e.Message);
        Assert.Equal(0, tc.Count("SELECT COUNT(*) FROM findings"));
    }

    [Theory, MemberData(nameof(TestCase.Backends), MemberType = typeof(TestCase))]
    public async Task SeveralConnectionsOpeningANewCaseAtOnceMigrateItOnce(string backend)
    {
        using var tc = TestCase.Create(backend);
        using var start = new Barrier(4);
        var opens = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            start.SignalAndWait();
            using var store = tc.Open();
            return store.SchemaVersion;
        })).ToList();
        var versions = await Task.WhenAll(opens);
        Assert.All(versions, v => Assert.Equal(SqlCaseStore.LatestSchemaVersion, v));
        Assert.Equal(1, tc.Count("SELECT COUNT(*) FROM schema_migrations"));
    }

    [Theory, MemberData(nameof(TestCase.Backends), MemberType = typeof(TestCase))]
    public void AScanRoundTripsWithHostsVerdictsCoverageAndEveryFinding(string backend)
    {
        using var tc = TestCase.Create(backend);
        // Hostile evidence: NUL, a lone surrogate, a line break and markup must survive (or be replaced) without an error.
        var findings = new List<Finding>
        {
            F("EXCH01", "proxylogon-ssrf", "inetpub/logs/u_ex210303.log", 10, T0, "203.0.113.5", evidence: "GET /ecp/\0x.js\n<script>\uD800"),
            F("EXCH01", "webshell-aspx", "inetpub/wwwroot/aspnet_client/shell.aspx", null, null, outcome: Outcome.Success, severity: Severity.Critical),
            F("EXCH02", "proxylogon-ssrf", "inetpub/logs/u_ex210303.log", 7, T0.AddMinutes(3), "203.0.113.5"),
        };
        using var store = tc.Open();
        var w = store.WriteScan(Scan("scan-1", findings, "EXCH01", "EXCH02"));
        Assert.Equal(new CaseWriteResult("scan-1", 2, 3, 0, false), w);

        var snap = store.Read();
        Assert.Equal(["EXCH01", "EXCH02"], snap.Hosts.Select(h => h.Name));
        Assert.Equal(3, snap.TotalFindings);
        var ex1 = snap.LatestPerHost.Single(h => h.HostName == "EXCH01");
        Assert.Equal(VerdictKind.Compromised, ex1.Verdict);
        Assert.Equal("patch", ex1.PatchStatus!.Action);
        Assert.Equal(["CVE-2021-26855"], ex1.PatchStatus.OpenCves);
        var iis = Assert.Single(ex1.Coverage.Families);
        Assert.Equal(("iis", 100L, 2L), (iis.Family, iis.Lines, iis.MalformedLines));
        Assert.Equal(T0.AddDays(-30), iis.FirstUtc);
        Assert.Equal(1, ex1.Coverage.IssueCounts["Unreadable"]);
        Assert.Equal("no Application log", ex1.Coverage.ChecksNotRun["CVE-2021-26857"]);
        Assert.Equal("exir scan test", snap.Scans.Single().Command);
        Assert.Equal(2, snap.EvidenceFileCount);

        var ssrf = snap.Findings.Single(f => f.Host == "EXCH01" && f.RuleId == "proxylogon-ssrf");
        Assert.Equal(findings[0].Id, ssrf.Id);
        Assert.Equal(T0, ssrf.Timestamp);
        Assert.Equal("203.0.113.5", ssrf.ClientIp);
        Assert.StartsWith("GET /ecp/\0x.js\n<script>", ssrf.Evidence);
        Assert.Equal("/ecp/y.js", ssrf.Details["uri"]);
        // Undated last, dated in time order.
        Assert.Null(snap.Findings[^1].Timestamp);
        // The same attacker address on both servers is one campaign naming both.
        var campaign = Assert.Single(snap.Campaigns, c => c.ClientIps.Contains("203.0.113.5"));
        Assert.Equal(["EXCH01", "EXCH02"], campaign.Hosts);
        Assert.Equal(campaign.Id, ssrf.Incident);
    }

    [Theory, MemberData(nameof(TestCase.Backends), MemberType = typeof(TestCase))]
    public void WritingTheSameScanTwiceAddsNothing(string backend)
    {
        using var tc = TestCase.Create(backend);
        var findings = Enumerable.Range(1, 50).Select(i => F("EXCH01", "r1", "logs/a.log", i, T0.AddMinutes(i), "198.51.100.1")).ToList();
        using var store = tc.Open();
        var first = store.WriteScan(Scan("scan-1", findings, "EXCH01"));
        var again = store.WriteScan(Scan("scan-1", findings, "EXCH01"));
        Assert.Equal((50L, 0L, false), (first.FindingsAdded, first.FindingsKnown, first.ScanWasKnown));
        Assert.Equal((0L, 50L, true), (again.FindingsAdded, again.FindingsKnown, again.ScanWasKnown));
        Assert.Equal(50, tc.Count("SELECT COUNT(*) FROM findings"));
        Assert.Equal(50, tc.Count("SELECT COUNT(*) FROM finding_scans"));
        Assert.Equal(1, tc.Count("SELECT COUNT(*) FROM host_scans"));
        Assert.Equal(1, tc.Count("SELECT COUNT(*) FROM scans"));
    }

    [Theory, MemberData(nameof(TestCase.Backends), MemberType = typeof(TestCase))]
    public void ARescanOfTheSameEvidenceKnowsItsFindingsAndRecordsWhichScansSawThem(string backend)
    {
        using var tc = TestCase.Create(backend);
        var findings = Enumerable.Range(1, 10).Select(i => F("EXCH01", "r1", "logs/a.log", i, T0.AddMinutes(i))).ToList();
        using var store = tc.Open();
        store.WriteScan(Scan("scan-1", findings, "EXCH01"));
        var later = Scan("scan-2", findings, "EXCH01") with
        {
            Provenance = Scan("scan-2", findings, "EXCH01").Provenance with { ScanId = "scan-2", FinishedUtc = T0.AddDays(20) },
        };
        var w = store.WriteScan(later);
        Assert.Equal((0L, 10L), (w.FindingsAdded, w.FindingsKnown));
        Assert.Equal(10, tc.Count("SELECT COUNT(*) FROM findings WHERE first_scan_id = 'scan-1' AND last_scan_id = 'scan-2'"));
        Assert.Equal(20, tc.Count("SELECT COUNT(*) FROM finding_scans"));
        Assert.Equal(2, store.Read().HostScans.Count);
    }

    [Theory, MemberData(nameof(TestCase.Backends), MemberType = typeof(TestCase))]
    public void FindingsAreCappedPerHostAndRuleWhileCountsCoverAll(string backend)
    {
        using var tc = TestCase.Create(backend);
        var many = Enumerable.Range(1, 120).Select(i => F("EXCH01", "noisy", "logs/a.log", i, T0.AddSeconds(i))).ToList();
        var kept = new List<Finding>(many.Take(40));
        var rest = many.Skip(40).Append(F("EXCH01", "rare", "logs/b.log", 1, T0)).ToList();
        using var store = tc.Open();
        // 40 in memory, the rest streamed like a scan's overflow spool: all reach the case.
        var w = store.WriteScan(Scan("scan-1", kept, rest, "EXCH01"));
        Assert.Equal(121, w.FindingsAdded);
        var snap = store.Read(new CaseReadOptions { MaxFindingsPerRule = 25 });
        Assert.Equal(121, snap.TotalFindings);
        Assert.Equal(25, snap.Findings.Count(f => f.RuleId == "noisy"));
        // The earliest are kept.
        Assert.Equal(T0.AddSeconds(1), snap.Findings.Where(f => f.RuleId == "noisy").Min(f => f.Timestamp));
        Assert.Equal(T0.AddSeconds(25), snap.Findings.Where(f => f.RuleId == "noisy").Max(f => f.Timestamp));
        var count = snap.FindingCounts.Single(c => c.RuleId == "noisy");
        Assert.Equal((120L, 25L), (count.Count, count.Shown));
        Assert.Single(snap.Findings, f => f.RuleId == "rare");
    }

    [Theory, MemberData(nameof(TestCase.Backends), MemberType = typeof(TestCase))]
    public void OneAttackerOnThreeServersScannedSeparatelyIsOneCampaign(string backend)
    {
        using var tc = TestCase.Create(backend);
        using var store = tc.Open();
        string[] servers = ["EXCH01", "EXCH02", "EXCH03"];
        for (int i = 0; i < servers.Length; i++)
            store.WriteScan(Scan("scan-" + i, [F(servers[i], "proxylogon-ssrf", "logs/u_ex.log", 5, T0.AddHours(i), "192.0.2.66"),
                F(servers[i], "other", "logs/u_ex.log", 9, T0.AddDays(30), "198.51.100." + i)], servers[i]));
        var snap = store.Read();
        var campaign = Assert.Single(snap.Campaigns, c => c.ClientIps.Contains("192.0.2.66"));
        Assert.Equal(servers, campaign.Hosts);
        Assert.Equal(3, campaign.FindingCount);
        Assert.DoesNotContain(snap.Campaigns, c => c.Id == campaign.Id && c.ClientIps.Count > 1);
    }

    [Theory, MemberData(nameof(TestCase.Backends), MemberType = typeof(TestCase))]
    public async Task TwoWritersAtOnceLoseNothingAndDuplicateNothing(string backend)
    {
        using var tc = TestCase.Create(backend);
        using (tc.Open()) { }
        // Writer A: hosts X (ids 0..2999) and Y; writer B: host X again (ids 1500..4499, overlapping) and Z.
        List<Finding> Range(string host, int from, int to) =>
            Enumerable.Range(from, to - from).Select(i => F(host, "r" + i % 7, "logs/x.log", i, T0.AddSeconds(i), "10.0.0." + i % 200)).ToList();
        var a = new[] { Scan("scan-a1", Range("EXCHX", 0, 3000), "EXCHX"), Scan("scan-a2", Range("EXCHY", 0, 2000), "EXCHY") };
        var b = new[] { Scan("scan-b1", Range("EXCHX", 1500, 4500), "EXCHX"), Scan("scan-b2", Range("EXCHZ", 0, 2000), "EXCHZ") };
        using var start = new Barrier(2);
        Task<List<CaseWriteResult>> Writer(ScanResult[] scans) => Task.Run(() =>
        {
            using var store = tc.Open();
            start.SignalAndWait();
            return scans.Select(s => store.WriteScan(s)).ToList();
        });
        var results = (await Task.WhenAll(Writer(a), Writer(b))).SelectMany(r => r).ToList();
        Assert.Equal(4500 + 2000 + 2000, results.Sum(r => r.FindingsAdded));
        Assert.Equal(1500, results.Sum(r => r.FindingsKnown));
        Assert.Equal(8500, tc.Count("SELECT COUNT(*) FROM findings"));
        Assert.Equal(8500, tc.Count("SELECT COUNT(DISTINCT finding_id) FROM findings"));
        Assert.Equal(3000 + 2000 + 3000 + 2000, tc.Count("SELECT COUNT(*) FROM finding_scans"));
        using var reader = tc.Open();
        var snap = reader.Read(new CaseReadOptions { MaxFindingsPerRule = 10 });
        Assert.Equal(8500, snap.TotalFindings);
        Assert.Equal(3, snap.Hosts.Count);
        Assert.Equal(4, snap.Scans.Count);
    }

    [Theory, MemberData(nameof(TestCase.Backends), MemberType = typeof(TestCase))]
    public void TimelineRowsLandOnceAndFeedTheActivityAndTheTaggedRows(string backend)
    {
        using var tc = TestCase.Create(backend);
        TimelineEvent Row(int i, params string[] tags)
        {
            var e = new TimelineEvent
            {
                Timestamp = T0.UtcDateTime.AddMinutes(20 * i), Host = "exch01.contoso.local", Source = "Security", Category = "process", EventId = 4688,
                User = "CONTOSO\\admin", Process = "cmd.exe", CommandLine = "cmd /c whoami\0", Message = "Process created " + i, File = "Security.evtx", RecordId = 1000 + i,
                TimestampDesc = "Process created",
            };
            foreach (var t in tags) e.AddTag(t);
            return e;
        }
        var rows = Enumerable.Range(0, 9).Select(i => i == 4 ? Row(i, "webshell-child", "recon") : Row(i)).ToList();
        using var store = tc.Open();
        store.WriteScan(Scan("scan-1", [F("EXCH01", "r", "logs/a.log", 1, T0.AddMinutes(5), "192.0.2.1")], "EXCH01"));
        Assert.Equal(9, store.WriteTimelineRows("tl-1", rows));
        Assert.Equal(0, store.WriteTimelineRows("tl-2", rows));
        var snap = store.Read();
        Assert.Equal(9, snap.TimelineEvents);
        var tagged = Assert.Single(snap.TimelineRows);
        Assert.Equal(["recon", "webshell-child"], tagged.Tags);
        Assert.Equal(1004, tagged.RecordId);
        Assert.Equal(HostIds.For("EXCH01"), tagged.HostId);
        // 9 rows 20 minutes apart from 05:00: three per hour over three hours; the dated finding counts in the first.
        var hours = snap.Activity.Where(b => b.HostId == HostIds.For("EXCH01")).ToList();
        Assert.Equal([3L, 3L, 3L], hours.Select(b => b.Events));
        Assert.Equal([1L, 0L, 0L], hours.Select(b => b.Findings));
        Assert.Equal(T0, hours[0].HourUtc);
        // The timeline's host (an FQDN) is the same host as the scan's short name.
        Assert.Single(snap.Hosts);
    }

    [Theory, MemberData(nameof(TestCase.Backends), MemberType = typeof(TestCase))]
    public void SettingsStepsNotesAndQuarantineRoundTrip(string backend)
    {
        using var tc = TestCase.Create(backend);
        using var store = tc.Open();
        store.SetSetting(CaseSettings.Keys.AwareUtc, "2021-03-04T08:00:00.0000000Z");
        store.SetSetting(CaseSettings.Keys.CriticalInfrastructure, "true");
        store.SetSetting(CaseSettings.Keys.Name, "Contoso Exchange");
        store.SetSetting(CaseSettings.Keys.Name, "Contoso Exchange 2021");
        store.SetStep("patch", StepStates.Open, null, "alice", T0);
        store.SetStep("patch", StepStates.Done, "SU installed", "bob", T0.AddHours(2));
        store.SetStep("bsi", StepStates.NotApplicable, "no KRITIS", "alice", T0.AddHours(1));
        Assert.Throws<ArgumentException>(() => store.SetStep("patch", "finished", null, "bob", T0));
        var note = store.AddNote("EXCH01", "shell removed by hand", "carol", T0.AddHours(3));
        var scan = new CaseScan { ScanId = "q-1", Verb = "quarantine", ToolVersion = "test", FinishedUtc = T0.AddHours(4) };
        var entry = new Exir.Remediation.QuarantineEntry
        {
            Id = "20210303T054200Z-1a2b3c4d", OriginalPath = @"C:\inetpub\wwwroot\aspnet_client\shell.aspx", Sha256 = new string('b', 64), Size = 42,
            QuarantinedBy = "carol", Machine = "EXCH01", StoredAs = "items/x", State = Exir.Remediation.QuarantineState.Removed, QuarantinedUtc = T0.UtcDateTime.AddHours(4),
        };
        store.WriteQuarantine(scan, "EXCH01", [entry]);
        store.WriteQuarantine(scan with { ScanId = "q-2" }, "EXCH01", [entry with { State = Exir.Remediation.QuarantineState.Restored }]);

        var snap = store.Read();
        Assert.Equal(new DateTimeOffset(2021, 3, 4, 8, 0, 0, TimeSpan.Zero), snap.Settings.AwareUtc);
        Assert.True(snap.Settings.CriticalInfrastructure);
        Assert.Null(snap.Settings.HighRisk);
        Assert.Equal("Contoso Exchange 2021", snap.Settings.Name);
        Assert.Equal([("bsi", "n/a"), ("patch", "done")], snap.Steps.Select(s => (s.StepId, s.State)));
        Assert.Equal("SU installed", snap.Steps.Single(s => s.StepId == "patch").Note);
        Assert.Equal(3, snap.StepHistory.Count);
        Assert.Equal(note.Id, Assert.Single(snap.Notes).Id);
        Assert.Equal(HostIds.For("EXCH01"), snap.Notes[0].HostId);
        var q = Assert.Single(snap.Quarantine);
        Assert.Equal(("restored", 42L), (q.State, q.Size));
    }

    [Fact]
    public void AdminAccountsMergeAcrossRunsWithoutDoublingAndNameDomainAdmins()
    {
        var a = new CaseAdminAccount { Account = "contoso\\svc", Display = "CONTOSO\\svc", Hosts = ["EXCH01"], Logons = 5, Changes = ["x added to Domain Admins on DC1 by y"], DomainAdmin = true };
        var b = a with { Hosts = ["EXCH02"], Logons = 3, DomainAdmin = false, InWebShellTree = true };
        var merged = Assert.Single(CaseReader.MergeAdmins([a, b]));
        Assert.Equal(["EXCH01", "EXCH02"], merged.Hosts);
        Assert.Equal(5, merged.Logons);
        Assert.True(merged.DomainAdmin && merged.InWebShellTree);
        Assert.Single(merged.Changes);
    }
}
