using System.Text;
using System.Text.Json;
using Exir.Tests;
using Exir.Timeline;

namespace Exir.Timeline.Tests;

/// <summary>exir timeline over the shared EVTX corpus, read by the managed EVTX reader.</summary>
/// <remarks>Tier slow: spawns processes, browsers or reference tools, or reads whole corpora; left out of scripts/test.sh --fast.</remarks>
[Trait("Tier", "slow")]
public class CorpusTests
{
    private static (TimelineResult Result, TimelineKit.Capture Rows) Run(string[] paths, TimelineOptions? options = null, string[]? findings = null) =>
        TimelineKit.Run(paths, options, findings);

    private static (TimelineResult Result, TimelineKit.Capture Rows) Run(params string[] paths) => TimelineKit.Run(paths);

    // Rules of the built-in Sigma pack (rules/sigma) that replaced exir's own event-log hunts.
    private const string WorkerShellChild = "39d47265-8899-4a05-b792-ce9464e7e65d";
    private const string ComsvcsMiniDump = "3a34da5f-e8f8-48de-8570-71d23c1b6c0e";
    private const string PrivilegedGroupAdd = "eb094f47-d393-4344-89b8-07b2c8498362";
    private const string TransportAgentInstall = "00a7a286-2828-4d07-8634-0c971550a8e2";

    [Fact]
    public void Iis_webshell_sysmon_trace_gives_the_w3wp_tree_with_highlights()
    {
        var (r, rows) = Run(Events.Corpus("evtx-attack-samples", "LM_typical_IIS_webshell_sysmon_1_10_traces.evtx"));
        var w3wp = Assert.Single(r.Processes.Roots);
        Assert.Equal("w3wp.exe", w3wp.Name);
        Assert.Equal("IEWIN7", w3wp.Host);
        var cmd = w3wp.Children.Single(c => c.Name == "cmd.exe");
        Assert.Contains("webshell-child", cmd.Tags);
        Assert.Contains("webshell-tree", cmd.Tags);
        Assert.Equal(@"IIS APPPOOL\DefaultAppPool", cmd.User);
        Assert.Equal(1044, cmd.RecordId);
        Assert.Contains(ProcessForest.Descendants(w3wp), n => n.Name == "net1.exe" && n.Tags.Contains("webshell-tree"));
        // The shell below w3wp.exe is the Sigma pack's (proc_creation_win_exchange_worker_shell_child): it tags the
        // record webshell-child through exir.tag.webshell-child and reports a success, as the retired hunt did.
        Assert.Contains(cmd.Tags, t => t == "sigma:" + WorkerShellChild);
        Assert.Contains(r.Findings, f => f.RuleId == "sigma:" + WorkerShellChild && f.Line == 1044 && f.Host == "IEWIN7" && f.Outcome == Core.Findings.Outcome.Success);
        Assert.Contains(r.Admin.Statements, s => s.Id == "webshell" && s.Text.Contains("IEWIN7"));
        // The written rows carry the tree mark, and Sysmon 10 (w3wp opening cmd) is a process-access row.
        Assert.Contains(rows.Rows, e => e.RecordId == 1047 && e.Tags.Contains("webshell-tree"));
        Assert.Contains(rows.Rows, e => e.EventId == 10 && e.Category == "process-access" && e.Process!.EndsWith("w3wp.exe"));
    }

    [Fact]
    public void Comsvcs_minidump_is_a_credential_dump_finding_and_scope_statement()
    {
        var (r, _) = Run(Events.Corpus("evtx-attack-samples", "sysmon_10_1_memdump_comsvcs_minidump.evtx"));
        var f = Assert.Single(r.Findings, f => f.RuleId == "sigma:" + ComsvcsMiniDump);
        Assert.Equal(Core.Findings.Severity.Critical, f.Severity);
        Assert.Equal(Core.Findings.Outcome.Success, f.Outcome);
        Assert.Equal("MSEDGEWIN10", f.Host);
        Assert.EndsWith("sysmon_10_1_memdump_comsvcs_minidump.evtx", f.Artifact);
        Assert.NotNull(f.Line);
        Assert.Contains("comsvcs.dll, MiniDump", f.Evidence);
        Assert.Contains(r.Admin.Statements, s => s.Id == "lsass-dump" && s.Text.Contains("MSEDGEWIN10"));
        Assert.Contains(r.Processes.Roots, root => ProcessForest.Descendants(root).Any(n => n.Tags.Contains("lsass-dump")));
    }

    [Fact]
    public void Cleared_security_log_is_a_finding_pointing_at_its_record()
    {
        var (r, rows) = Run(Events.Corpus("evtx-attack-samples", "DE_1102_security_log_cleared.evtx"));
        var f = Assert.Single(r.Findings, f => f.RuleId == "EVT-LOG-CLEARED");
        Assert.Equal(452811, f.Line);
        Assert.Equal("PC01.example.corp", f.Host);
        Assert.Contains(rows.Rows, e => e.EventId == 1102 && e.Category == "log-tamper" && e.User == @"EXAMPLE\user01");
        Assert.Contains(r.Admin.Statements, s => s.Id == "log-cleared" && s.Text.Contains("PC01.example.corp"));
    }

    [Fact]
    public void New_user_and_group_add_reach_the_admin_summary()
    {
        var (r, _) = Run(Events.Corpus("deepbluecli", "new-user-security.evtx"), Events.Corpus("evtx-attack-samples", "Network_Service_Guest_added_to_admins_4732.evtx"));
        var created = r.Admin.Accounts.Single(a => a.Created && a.Account.EndsWith("ieuser"));
        Assert.Equal(@"ie8win7\ieuser", created.Account); // a local account keeps its host
        Assert.True(created.Created);
        Assert.Contains(created.Changes, c => c.Contains("account created"));
        Assert.Contains(r.Admin.Statements, s => s.Id == "new-accounts" && s.Text.Contains("IEUser"));
        Assert.Contains(r.Admin.Statements, s => s.Id == "privileged-group-change" && s.Text.Contains("Administrators"));
        Assert.Contains(r.Findings, f => f.RuleId == "sigma:" + PrivilegedGroupAdd && f.Line == 191029 && f.Outcome == Core.Findings.Outcome.Indicator);
    }

    [Fact]
    public void Exchange_cmdlet_log_gives_cmdlet_rows_and_the_caller_in_the_summary()
    {
        var (r, rows) = Run(Events.Corpus("evtx-to-mitre-attack"));
        var cmdlets = rows.Rows.Where(e => e.Category == "exchange-cmdlet").ToList();
        Assert.Contains(cmdlets, e => e.Field("cmdlet") == "Install-TransportAgent" && e.Host == "exchange01.offsec.lan" && e.RecordId == 7184);
        var caller = r.Admin.Accounts.Single(a => a.Account == "admmig");
        Assert.Contains("Install-TransportAgent", caller.Cmdlets);
        // EVT-EXCHANGE-CMDLET marks the row (timeline only); the finding is the pack's transport agent rule.
        Assert.Contains(rows.Rows, e => e.RecordId == 7184 && e.Tags.Contains("exchange-cmdlet"));
        Assert.DoesNotContain(r.Findings, f => f.RuleId == "EVT-EXCHANGE-CMDLET");
        Assert.Contains(r.Findings, f => f.RuleId == "sigma:" + TransportAgentInstall && f.Line == 7184 && f.Outcome == Core.Findings.Outcome.Indicator);
        // 4756 on the domain controller: a member added to an Exchange group.
        Assert.Contains(rows.Rows, e => e.EventId == 4756 && e.Host == "rootdc1.offsec.lan" && e.Field("group")!.Contains("Organization Management"));
    }

    [Fact]
    public void Security_log_with_4672_gives_privileged_logons_by_type()
    {
        var (r, _) = Run(Events.Corpus("omerbenamram-evtx", "security.evtx"));
        Assert.Contains(r.Admin.Accounts, a => a.PrivilegedLogonsByType.Count > 0 && a.Hosts.Count > 0 && a.First <= a.Last);
        Assert.All(r.Admin.Accounts, a => Assert.NotNull(a.FirstEvidence));
    }

    [Fact]
    public void Whole_corpus_timeline_is_sorted_timesketch_ready_and_keeps_every_host()
    {
        var root = TestPaths.InCorpus("evtx");
        var (r, rows) = Run([Path.Combine(root, "evtx-attack-samples"), Path.Combine(root, "deepbluecli"), Path.Combine(root, "evtx-to-mitre-attack")], new TimelineOptions { SortBufferRows = 500 });
        Assert.True(r.Stats.SpillRuns > 0, "small sort buffer must spill");
        Assert.Equal(r.Stats.RowsWritten, rows.Rows.Count);
        Assert.True(rows.Rows.Count > 1000);
        for (int i = 1; i < rows.Rows.Count; i++) Assert.True(rows.Rows[i - 1].Timestamp <= rows.Rows[i].Timestamp);
        Assert.All(rows.Rows, e => Assert.False(string.IsNullOrEmpty(e.File)));
        var lines = Encoding.UTF8.GetString(rows.Jsonl.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(rows.Rows.Count, lines.Length);
        foreach (var l in lines) OutputTests.AssertTimesketchLine(l);
        var hosts = rows.Rows.Select(e => e.Host).ToHashSet();
        Assert.Contains("IEWIN7", hosts);
        Assert.Contains("exchange01.offsec.lan", hosts);
        Assert.Contains("rootdc1.offsec.lan", hosts);
        Assert.Contains("37L4247D28-05", hosts); // the Application log host (deepbluecli)
    }

    [Fact]
    public void Filters_keep_only_the_asked_host_time_and_category()
    {
        var root = TestPaths.InCorpus("evtx", "evtx-to-mitre-attack");
        var (all, allRows) = Run(root);
        var since = new DateTimeOffset(2021, 6, 1, 0, 0, 0, TimeSpan.Zero);
        var (_, rows) = Run([root], new TimelineOptions { Hosts = ["exchange01"], Since = since, Categories = ["exchange-cmdlet"] });
        Assert.NotEmpty(rows.Rows);
        Assert.True(rows.Rows.Count < allRows.Rows.Count);
        Assert.All(rows.Rows, e =>
        {
            Assert.Equal("exchange01.offsec.lan", e.Host);
            Assert.Equal("exchange-cmdlet", e.Category);
            Assert.True(e.Timestamp >= since.UtcDateTime);
        });
    }

    [Fact]
    public void Zip_collection_and_file_names_do_not_matter_evtx_is_found_by_content()
    {
        var temp = TestPaths.NewTempDir();
        var zip = Path.Combine(temp, "EX01-collection.zip");
        using (var z = System.IO.Compression.ZipFile.Open(zip, System.IO.Compression.ZipArchiveMode.Create))
            System.IO.Compression.ZipFileExtensions.CreateEntryFromFile(z, Events.Corpus("evtx-attack-samples", "DE_1102_security_log_cleared.evtx"), "Windows/System32/winevt/Logs/renamed.bin");
        var (r, rows) = Run(zip);
        Assert.Equal(1, r.Stats.EvtxFiles);
        Assert.Contains(rows.Rows, e => e.EventId == 1102 && e.File.EndsWith("EX01-collection.zip!/Windows/System32/winevt/Logs/renamed.bin"));
    }

    [Fact]
    public void Findings_of_exir_scan_are_merged_as_rows()
    {
        var temp = TestPaths.NewTempDir();
        var file = Path.Combine(temp, "findings.jsonl");
        File.WriteAllText(file,
            """{"rule_id":"EXIR-PROXYLOGON-SSRF","title":"ProxyLogon SSRF","severity":"critical","outcome":"attempt","cves":["CVE-2021-26855"],"host":"EX01","artifact":"logs/HttpProxy/Ecp/x.log","line":17,"timestamp":"2021-03-02T09:59:00Z","client_ip":"203.0.113.9","evidence":"POST /ecp/y.js X-BEResource=localhost~1942062522"}""" + "\n" +
            "not json\n" +
            """{"rule_id":"EXIR-X","title":"untimed","artifact":"a"}""" + "\n");
        var evtx = Events.Corpus("evtx-attack-samples", "DE_1102_security_log_cleared.evtx");
        var (r, rows) = Run([evtx], findings: [file]);
        var row = Assert.Single(rows.Rows, e => e.Category == "finding");
        Assert.Equal("EX01", row.Host);
        Assert.Equal("203.0.113.9", row.SrcIp);
        Assert.Equal(17, row.RecordId);
        Assert.Equal("logs/HttpProxy/Ecp/x.log", row.File);
        Assert.Contains("ProxyLogon SSRF", row.Message);
        Assert.Equal(1, r.Stats.FindingRows);
        Assert.Contains(r.Coverage.Issues, i => i.Kind == Exir.Core.Coverage.IssueKind.Malformed);
    }

    [Fact]
    public void Damaged_and_non_evtx_files_are_counted_not_fatal()
    {
        var (r, _) = Run(TestPaths.InCorpus("evtx", "omerbenamram-evtx"));
        Assert.True(r.Stats.EvtxFiles >= 10);
        Assert.Contains(r.Coverage.Issues, i => i.Message.Contains("chunk"));
        Assert.Contains(r.Findings, f => f.RuleId == "TL-RECORD-GAP" && f.Details.ContainsKey("damaged_chunks"));
    }
}

/// <summary>The repository's sample collection (samples/exch01): IIS and Exchange logs on the same timeline as event logs.</summary>
[Trait("Tier", "slow")]
public class SampleCollectionTests
{
    [Fact]
    public void Iis_and_exchange_logs_become_web_rows_pointing_at_their_lines()
    {
        var sample = Path.Combine(TestPaths.RepoRoot, "samples", "exch01");
        var (result, capture) = TimelineKit.Run([sample, Events.Corpus("evtx-attack-samples", "DE_1102_security_log_cleared.evtx")]);
        var rows = capture.Rows;
        Assert.True(result.Stats.LogFiles >= 10, $"log files read: {result.Stats.LogFiles}");
        var exploit = rows.Where(e => e.Category == "web" && e.Field("url") == "/ecp/y.js").ToList();
        Assert.NotEmpty(exploit);
        var first = exploit.First(e => e.Source == "IIS");
        Assert.Equal("203.0.113.77", first.SrcIp);
        Assert.Equal("POST", first.Field("method"));
        Assert.Equal(61, first.RecordId); // the line in u_ex210303.log
        Assert.EndsWith("inetpub/logs/LogFiles/W3SVC1/u_ex210303.log", first.File);
        Assert.Equal(new DateTime(2021, 3, 3, 2, 14, 7, DateTimeKind.Utc), first.Timestamp);
        Assert.Contains(rows, e => e.Source == "Exchange HttpProxy" && e.Host.Equals("EXCH01", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(rows, e => e.EventId == 1102); // event logs of another host on the same timeline
        for (int i = 1; i < rows.Count; i++) Assert.True(rows[i - 1].Timestamp <= rows[i].Timestamp);
    }
}
