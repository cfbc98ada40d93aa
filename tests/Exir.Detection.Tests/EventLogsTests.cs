using Exir.Core;
using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Core.Findings;
using Exir.Detection.EventLogs;
using Exir.Detection.Sigma;
using Exir.Evtx;
using Exir.Sigma;
using Exir.Pipeline;
using Exir.Tests;

namespace Exir.Detection.Tests;

public class EventLogsTests
{
    private static readonly IReadOnlyList<EventLogRule> Rules =
        EventLogRuleSet.Load(new DataFiles("rules", typeof(EventLogRuleSet).Assembly, Path.Combine(TestPaths.RepoRoot, "rules")));

    /// <summary>The built-in Sigma pack: the event-log detections that moved there from hunts.yaml (CVE-2021-26857, shells, LSASS dumps...).</summary>
    private static readonly Lazy<SigmaEngine> Pack =
        new(() => SigmaHunt.Load(new DataFiles("rules", typeof(EventLogRuleSet).Assembly, Path.Combine(TestPaths.RepoRoot, "rules")), Array.Empty<string>()));

    private const string UmInvalidCast = "sigma:cc8db790-3187-4fd5-af71-a373e3b8a2b0";

    private static List<Finding> SigmaFindings(WinEvent e, string artifact = "a.evtx")
    {
        var hits = new List<SigmaHit>();
        Pack.Value.Match(e, hits);
        return hits.Where(h => !h.CorrelationOnly && SigmaHunt.SemanticsOf(h.Rule).Scan).Select(h => SigmaHunt.ToFinding(h, artifact)).ToList();
    }

    private static WinEvent UmError(string provider = "MSExchange Unified Messaging", int level = 2, string text = "System.InvalidCastException: Unable to cast object of type 'System.Object' to type 'Microsoft.Exchange.UM.UMCommon.UMCallInfoEx'.") => new()
    {
        RecordId = 81234, EventId = 4999, Level = level, Provider = provider, Channel = "Application", Computer = "EX01.corp.local",
        TimestampUtc = new DateTime(2021, 3, 1, 3, 4, 5, DateTimeKind.Utc),
        Data = [new("Data[1]", "E12IIS"), new("Data[2]", "c-RTL-AMD64"), new("Data[3]", "UMWorkerProcess"), new("Data[4]", text)],
    };

    [Fact]
    public void Shipped_hunts_load_without_errors()
    {
        var errors = new List<string>();
        var rules = EventLogRuleSet.Load(new DataFiles("rules", typeof(EventLogRuleSet).Assembly, Path.Combine(TestPaths.RepoRoot, "rules")), (f, m) => errors.Add(f + ": " + m));
        Assert.Empty(errors);
        Assert.Contains(rules, r => r.Info.Id == "EVT-LOG-CLEARED");
        Assert.True(rules.Count >= 7);
    }

    /// <summary>CVE-2021-26857 lives in the Sigma pack now (win_app_exchange_um_invalidcast_cve_2021_26857.yml).</summary>
    [Fact]
    public void Cve_2021_26857_fires_on_a_unified_messaging_error_with_invalid_cast()
    {
        var f = Assert.Single(SigmaFindings(UmError(), "EX01/Application.evtx"), f => f.RuleId == UmInvalidCast);
        Assert.Equal(["CVE-2021-26857"], f.Cves);
        Assert.Equal(Severity.High, f.Severity);
        Assert.Equal(81234, f.Line);
        Assert.Equal("EX01/Application.evtx", f.Artifact);
        Assert.Equal("EX01.corp.local", f.Host);
        Assert.Equal(new DateTimeOffset(2021, 3, 1, 3, 4, 5, TimeSpan.Zero), f.Timestamp);
        Assert.Contains("InvalidCastException", f.Evidence);
        Assert.Equal(Outcome.Attempt, f.Outcome);
    }

    [Theory]
    [InlineData("MSExchange Unified Messaging", 4, "System.InvalidCastException")] // information, not an error
    [InlineData("MSExchange Common", 2, "System.InvalidCastException")]           // other source
    [InlineData("MSExchange Unified Messaging", 2, "System.NullReferenceException")]
    public void Cve_2021_26857_does_not_fire_on_near_misses(string provider, int level, string text)
    {
        Assert.DoesNotContain(SigmaFindings(UmError(provider, level, text)), f => f.RuleId == UmInvalidCast);
    }

    /// <summary>The event-log hunts and the Sigma pack on the record pipeline over one file; <paramref name="records"/> counts what the pipeline read.</summary>
    private static List<Finding> Scan(string file, Action<long>? records = null)
    {
        using var source = EvidenceSource.Open(file);
        var pipeline = new RecordPipeline(FilesTestSupport.Classifier, [new EventLogHunts(Rules), new SigmaHunt(Pack.Value)]);
        var context = pipeline.Run(source, new RunOptions { Parallelism = 1 });
        records?.Invoke(context.Coverage.Families.Values.Where(f => f.Family.StartsWith("EventLog/", StringComparison.Ordinal)).Sum(f => f.Lines));
        return context.Findings.ToList();
    }

    [Fact]
    public void Corpus_application_log_does_not_fire_cve_2021_26857()
    {
        var file = TestPaths.InCorpus("evtx", "deepbluecli", "many-events-application.evtx");
        long records = 0;
        var findings = Scan(file, n => records = n);
        Assert.True(records > 2000, $"application log read: {records} records");
        Assert.DoesNotContain(findings, f => f.RuleId == UmInvalidCast);
    }

    [Fact]
    public void Detector_reports_corpus_hunts_with_record_pointers()
    {
        var cleared = Scan(TestPaths.InCorpus("evtx", "evtx-attack-samples", "DE_1102_security_log_cleared.evtx"));
        Assert.Contains(cleared, f => f.RuleId == "EVT-LOG-CLEARED" && f.Line == 452811);
        var dump = Scan(TestPaths.InCorpus("evtx", "evtx-attack-samples", "sysmon_10_1_memdump_comsvcs_minidump.evtx"));
        // comsvcs MiniDump (proc_creation_win_lsass_dump_comsvcs_minidump) and the w3wp shell (…_worker_shell_child).
        Assert.Contains(dump, f => f.RuleId == "sigma:3a34da5f-e8f8-48de-8570-71d23c1b6c0e" && f.Severity == Severity.Critical && f.Outcome == Outcome.Success);
        var shell = Scan(TestPaths.InCorpus("evtx", "evtx-attack-samples", "LM_typical_IIS_webshell_sysmon_1_10_traces.evtx"));
        Assert.Contains(shell, f => f.RuleId == "sigma:39d47265-8899-4a05-b792-ce9464e7e65d" && f.Line == 1044 && f.Severity == Severity.High && f.Outcome == Outcome.Success);
        // whoami and archivers are timeline context only, never scan findings.
        Assert.DoesNotContain(shell.Concat(dump).Concat(cleared), f => f.RuleId is "EVT-WHOAMI" or "EVT-ARCHIVER");
    }

    [Fact]
    public void Evidence_with_lone_surrogates_is_made_json_safe()
    {
        var e = UmError(text: "System.InvalidCastException \uD800 broken");
        var f = EventLogHunts.ToFinding(Rules.Single(r => r.Info.Id == "EVT-LOG-CLEARED"), e, "a.evtx");
        Assert.Contains("\uFFFD broken", f.Evidence);
        Assert.DoesNotContain('\uD800', f.Evidence);
    }

    [Fact]
    public void Broken_rule_is_reported_and_skipped()
    {
        var errors = new List<string>();
        var rules = EventLogRuleSet.Parse("""
            rules:
              - id: OK
                title: fine
                match: [{event_id: [1]}]
              - id: BAD
                title: bad regex
                match: [{fields: {CommandLine: {regex: ['(']}}}]
              - id: EMPTY
                title: no match
            """, "t.yaml", (f, m) => errors.Add(m));
        Assert.Equal(["OK"], rules.Select(r => r.Info.Id));
        Assert.Equal(2, errors.Count);
    }
}
