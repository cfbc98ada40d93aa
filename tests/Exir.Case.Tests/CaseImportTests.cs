using Exir.Case;
using Exir.Case.Import;
using Exir.Core.Findings;
using Exir.Engine;
using Exir.Pipeline;
using Exir.Reporting.Outputs;
using Exir.Timeline;

namespace Exir.Case.Tests;

/// <summary>exir case import over real output folders (made by the real scan and timeline and their sinks) and over hostile ones.</summary>
public class CaseImportTests
{
    private static readonly string Sample = Path.Combine(TestPaths.RepoRoot, "samples", "exch01");
    private static RunOptions Options => new() { RulesDirectory = Path.Combine(TestPaths.RepoRoot, "rules") };

    /// <summary>Scans the sample server, writes the scan into <paramref name="store"/> directly (when given) and its output folder with the real sinks.</summary>
    private static (string Folder, long Total, string ScanId, int Hosts) ScanSample(ICaseStore? store)
    {
        var folder = TestPaths.NewTempDir("exir-case-out");
        using var run = new ScanRun(Options);
        using var evidence = EvidenceSet.Open([Sample]);
        var result = run.Scan(evidence, "exir scan samples/exch01");
        store?.WriteScan(result);
        using (var outputs = OutputSession.Open(Verb.Scan, null, null, folder, withTimeline: false, _ => { }))
            outputs.Complete(new RunOutput { Verb = Verb.Scan, Scan = result });
        return (folder, result.TotalFindings, result.Provenance.ScanId, result.Hosts.Count);
    }

    [Theory, MemberData(nameof(TestCase.Backends), MemberType = typeof(TestCase))]
    public void ImportingAScanFolderAfterWritingItDirectlyAddsNothing(string backend)
    {
        using var tc = TestCase.Create(backend);
        using var store = tc.Open();
        var (folder, total, scanId, _) = ScanSample(store);
        Assert.True(total > 0, "the sample server has findings");
        var before = store.Read();

        var import = CaseImporter.Import(store, folder);
        Assert.Equal(["scan"], import.Kinds);
        Assert.Equal(0, import.ProblemCount);
        var w = Assert.Single(import.Writes);
        Assert.Equal(scanId, w.ScanId);
        Assert.True(w.ScanWasKnown);
        Assert.Equal((0L, total), (w.FindingsAdded, w.FindingsKnown));
        var after = store.Read();
        Assert.Equal(before.TotalFindings, after.TotalFindings);
        Assert.Equal(before.HostScans.Count, after.HostScans.Count);
        Assert.Equal(total, tc.Count("SELECT COUNT(*) FROM finding_scans"));
    }

    [Theory, MemberData(nameof(TestCase.Backends), MemberType = typeof(TestCase))]
    public void AnImportedScanReadsLikeTheDirectlyWrittenOne(string backend)
    {
        using var direct = TestCase.Create(backend);
        using var imported = TestCase.Create(backend);
        using var a = direct.Open();
        using var b = imported.Open();
        var (folder, total, _, hosts) = ScanSample(a);
        var import = CaseImporter.Import(b, folder);
        Assert.Equal(total, import.FindingsAdded);
        var (x, y) = (a.Read(), b.Read());
        Assert.Equal(hosts, y.Hosts.Count);
        Assert.Equal(x.Hosts.Select(h => (h.HostId, h.Name)), y.Hosts.Select(h => (h.HostId, h.Name)));
        Assert.Equal(x.LatestPerHost.Select(h => (h.Verdict, h.ExchangeBuild, h.PatchStatus?.Action)), y.LatestPerHost.Select(h => (h.Verdict, h.ExchangeBuild, h.PatchStatus?.Action)));
        Assert.Equal(x.LatestPerHost[0].Coverage.Families.Select(f => (f.Family, f.Lines, f.FirstUtc)), y.LatestPerHost[0].Coverage.Families.Select(f => (f.Family, f.Lines, f.FirstUtc)));
        Assert.Equal(x.Findings.Select(f => (f.Id, f.Timestamp, f.Evidence, f.Incident)), y.Findings.Select(f => (f.Id, f.Timestamp, f.Evidence, f.Incident)));
        Assert.Equal(x.Campaigns.Select(c => c.Id), y.Campaigns.Select(c => c.Id));
        Assert.Equal("import", y.Scans.Single().RecordedBy);
        Assert.Equal(x.Scans.Single().ScanId, y.Scans.Single().ScanId);
    }

    [Theory, MemberData(nameof(TestCase.Backends), MemberType = typeof(TestCase))]
    public void ATimelineFolderImportsItsRowsAccountsAndFindingsOnce(string backend)
    {
        using var tc = TestCase.Create(backend);
        var folder = TestPaths.NewTempDir("exir-case-tl");
        long rows = 0;
        using (var evidence = EvidenceSet.Open([Sample]))
        using (var run = new TimelineRun(Options, new TimelineOptions()))
        {
            var result = run.Run(evidence, [], "exir timeline samples/exch01");
            using var outputs = OutputSession.Open(Verb.Timeline, null, null, folder, withTimeline: false, _ => { });
            foreach (var row in run.Rows()) { outputs.Row(row); rows++; }
            outputs.Complete(new RunOutput { Verb = Verb.Timeline, Timeline = result });
        }
        Assert.True(rows > 0, "the sample's logs make timeline rows");
        using var store = tc.Open();
        var first = CaseImporter.Import(store, folder);
        Assert.Equal(["timeline"], first.Kinds);
        Assert.Equal(0, first.ProblemCount);
        Assert.Equal(rows, first.TimelineRowsAdded);
        var again = CaseImporter.Import(store, folder);
        Assert.Equal((0L, 0L), (again.TimelineRowsAdded, again.FindingsAdded));
        var snap = store.Read();
        Assert.Equal(rows, snap.TimelineEvents);
        Assert.Contains(snap.Activity, b => b.Events > 0);
        // The rows' and findings' hosts are the case's hosts (no scan named them here).
        Assert.NotEmpty(snap.Hosts);
        Assert.All(snap.Activity, b => Assert.Contains(snap.Hosts, h => h.HostId == b.HostId));
        Assert.All(snap.FindingCounts, c => Assert.Contains(snap.Hosts, h => h.HostId == c.HostId));
    }

    [Theory, MemberData(nameof(TestCase.Backends), MemberType = typeof(TestCase))]
    public void AHostileFolderIsCountedNotFatal(string backend)
    {
        using var tc = TestCase.Create(backend);
        var folder = TestPaths.NewTempDir("exir-case-hostile");
        var good = Scans.F("EXCH09", "r1", "logs/a.log", 3, Scans.T0, "192.0.2.9");
        var goodLine = Exir.Case.Store.CaseJson.FindingText(good);
        File.WriteAllText(Path.Combine(folder, "summary.json"), """
            {"provenance": {"scan_id": "scan-hostile", "tool": "exir", "tool_version": 7, "finished_utc": "not a time"},
             "verdict": {"label": "COMPROMISED"},
             "hosts": [ {"name": "EXCH09", "verdict": {"label": "COMPROMISED"}, "patch_status": {"build": ["x"]}, "findings": "many"}, {"no": "name"}, 5 ],
             "coverage": {"log_families": [{"family": "iis", "lines": "x", "gaps": [{"from": "bad"}]}], "issue_counts": {"Unreadable": 1e99}}}
            """);
        File.WriteAllText(Path.Combine(folder, "findings.jsonl"), string.Join("\n",
            "{not json", "[1,2]", "{\"rule_id\": 5}", goodLine, "\"just a string\"", "{\"rule_id\":\"r2\",\"artifact\":\"x\",\"line\":\"NaN\",\"timestamp\":\"yesterday\"}"));
        File.WriteAllText(Path.Combine(folder, "inventory.json"), "{\"target\": [");
        using var store = tc.Open();
        var r = CaseImporter.Import(store, folder);
        {
            Assert.Equal(["scan", "inventory"], r.Kinds);
            // 4 bad finding lines, 2 hosts without a name, 1 broken inventory.json.
            Assert.Equal(7, r.ProblemCount);
            Assert.Contains(r.Problems, p => p.Contains("findings.jsonl:1"));
            Assert.Contains(r.Problems, p => p.Contains("inventory.json"));
            var snap = store.Read();
            Assert.Equal(2, snap.TotalFindings);
            Assert.Equal(VerdictKind.Compromised, Assert.Single(snap.LatestPerHost).Verdict);
            Assert.Contains(snap.Findings, f => f.Id == good.Id);
        }
    }

    [Theory, MemberData(nameof(TestCase.Backends), MemberType = typeof(TestCase))]
    public void AFolderWithoutExirOutputSaysSo(string backend)
    {
        using var tc = TestCase.Create(backend);
        using var store = tc.Open();
        var r = CaseImporter.Import(store, TestPaths.NewTempDir("exir-case-empty"));
        Assert.Empty(r.Writes);
        Assert.Contains("no exir output", Assert.Single(r.Problems));
    }
}
