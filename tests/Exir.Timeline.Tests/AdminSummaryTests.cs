using Exir.Timeline;
using static Exir.Timeline.Tests.Events;

namespace Exir.Timeline.Tests;

public class AdminSummaryTests
{
    private static ScopeTexts Texts => ScopeTexts.Load(Rules);

    [Fact]
    public void Privileged_logons_pair_4624_with_4672_by_logon_id_and_keep_sources_and_times()
    {
        var b = new AdminSummaryBuilder();
        b.Add(Row(Security(4672, 1, T0, "EX01", ("SubjectUserName", "da-admin"), ("SubjectDomainName", "CORP"), ("SubjectLogonId", "0xABC"), ("PrivilegeList", "SeDebugPrivilege"))));
        b.Add(Row(Security(4624, 2, T0, "EX01", ("TargetUserName", "da-admin"), ("TargetDomainName", "CORP"), ("TargetLogonId", "0xabc"), ("LogonType", "10"), ("IpAddress", "10.1.1.9"))));
        b.Add(Row(Security(4624, 3, T0.AddHours(5), "DC01", ("TargetUserName", "da-admin"), ("TargetDomainName", "corp.local"), ("TargetLogonId", "0x1"), ("LogonType", "3"), ("IpAddress", "10.1.1.20"))));
        b.Add(Row(Security(4624, 4, T0, "EX01", ("TargetUserName", "SYSTEM"), ("TargetDomainName", "NT AUTHORITY"), ("LogonType", "5"))));
        var s = b.Build(null, Texts);
        var a = Assert.Single(s.Accounts);
        Assert.Equal("da-admin", a.Account);
        Assert.True(a.Privileged);
        Assert.Equal(1, a.PrivilegedLogonsByType["10"]);
        Assert.False(a.PrivilegedLogonsByType.ContainsKey("3"));
        Assert.Equal(2, a.Logons);
        Assert.Equal(["DC01", "EX01"], a.Hosts.ToArray());
        Assert.Equal(["10.1.1.20", "10.1.1.9"], a.SourceIps.ToArray());
        Assert.Equal(T0, a.First);
        Assert.Equal(T0.AddHours(5), a.Last);
        Assert.Contains(s.Statements, st => st.Id == "none");
        Assert.Equal(0, a.WebRequests);
        Assert.Contains(s.Statements, st => st.Id == "coverage" && st.Text.Contains("2 host(s)"));
    }

    [Fact]
    public void Merged_scan_findings_do_not_stretch_the_scope_the_logs_cover()
    {
        var b = new AdminSummaryBuilder();
        b.Add(Row(Security(4624, 1, T0, "EX01", ("TargetUserName", "alice"), ("TargetDomainName", "CORP"), ("LogonType", "3"))));
        // A finding dated by the copy time of a file, on a host with no logs here.
        var finding = Exir.Timeline.FindingRows.From(new Exir.Core.Findings.Finding
        {
            RuleId = "FILE-X", Title = "x", Artifact = "a.aspx", Evidence = "e", Host = "COPYBOX",
            Timestamp = T0.AddYears(5), TimeSource = Exir.Core.Findings.TimeSources.FileModified,
        }, "findings.jsonl", 1)!;
        b.Add(finding);
        var coverage = Assert.Single(b.Build(null, Texts).Statements, st => st.Id == "coverage");
        Assert.Contains("1 host(s) (EX01)", coverage.Text);
        Assert.Contains($"to {T0:yyyy-MM-dd HH:mm}Z", coverage.Text);
    }

    private static TimelineEvent FindingRow(string host, string rule, string outcome, DateTime at, string? timeSource = null) =>
        Exir.Timeline.FindingRows.From(new Exir.Core.Findings.Finding
        {
            RuleId = rule, Title = rule + " title", Artifact = "inetpub/logs/u_ex210303.log", Evidence = "e", Host = host, Line = 7,
            Severity = Exir.Core.Findings.Severity.Critical,
            Outcome = outcome == "success" ? Exir.Core.Findings.Outcome.Success : Exir.Core.Findings.Outcome.Attempt,
            Timestamp = at, TimeSource = timeSource ?? Exir.Core.Findings.TimeSources.LogLine,
        }, "findings.jsonl", 1)!;

    [Fact]
    public void Merged_findings_of_a_compromise_replace_no_sign_of_misuse_and_name_the_host()
    {
        var b = new AdminSummaryBuilder();
        b.Add(FindingRow("EXCH01", "FILE-WEBSHELL", "success", T0.AddYears(5), Exir.Core.Findings.TimeSources.FileModified));
        b.Add(FindingRow("EXCH01", "LOG-SSRF", "success", T0.AddHours(2)));
        b.Add(FindingRow("EXCH01", "LOG-PROBE", "attempt", T0));
        var s = b.Build(null, Texts);
        Assert.DoesNotContain(s.Statements, st => st.Id is "none" or "none-with-findings");
        var scan = Assert.Single(s.Statements, st => st.Id == "scan-compromised");
        Assert.Contains("EXCH01 compromised: 2 finding(s) show success", scan.Text);
        // An event-dated success is the first, not the file's (copy) time.
        Assert.Contains($"first at {T0.AddHours(2):yyyy-MM-dd HH:mm:ss}Z: LOG-SSRF title.", scan.Text);
        // No log of the host here: the scope says so and names it, instead of "0 host(s) ((none)) from ? to ?".
        Assert.DoesNotContain(s.Statements, st => st.Id == "coverage");
        var only = Assert.Single(s.Statements, st => st.Id == "coverage-findings-only");
        Assert.Contains("No event or log record of EXCH01", only.Text);
        Assert.All(s.Statements, st => Assert.DoesNotContain("(none)", st.Text));
    }

    [Fact]
    public void Findings_without_success_keep_no_sign_of_misuse_but_point_at_them_and_empty_hosts_are_not_listed()
    {
        var b = new AdminSummaryBuilder();
        var unnamed = Row(Security(4624, 1, T0, "EX01", ("TargetUserName", "alice"), ("TargetDomainName", "CORP"), ("LogonType", "3")));
        unnamed.Host = "";   // a log line whose host field is empty
        b.Add(unnamed);
        b.Add(Row(Security(4624, 2, T0, "EX01", ("TargetUserName", "alice"), ("TargetDomainName", "CORP"), ("LogonType", "3"))));
        b.Add(FindingRow("EX01", "LOG-PROBE", "attempt", T0));
        var s = b.Build(null, Texts);
        Assert.Contains("none of the 1 merged scan finding(s) (EX01)", Assert.Single(s.Statements, st => st.Id == "none-with-findings").Text);
        Assert.Contains("1 host(s) (EX01)", Assert.Single(s.Statements, st => st.Id == "coverage").Text);
        Assert.DoesNotContain(s.Statements, st => st.Id == "coverage-findings-only");
    }

    [Fact]
    public void A_domain_admin_used_from_the_webshell_tree_means_AD_is_compromised()
    {
        var trees = new ProcessTreeBuilder();
        var admin = new AdminSummaryBuilder();
        void Add(TimelineEvent r) { trees.Add(r); admin.Add(r); }
        Add(Row(Security(4672, 1, T0, "EX01", ("SubjectUserName", "da-admin"), ("SubjectDomainName", "CORP"), ("SubjectLogonId", "0x5"))));
        Add(Row(Security(4624, 2, T0, "EX01", ("TargetUserName", "da-admin"), ("TargetDomainName", "CORP"), ("TargetLogonId", "0x5"), ("LogonType", "2"))));
        Add(Row(Sysmon(1, 10, T0.AddMinutes(1), "EX01", ("ProcessGuid", "{C}"), ("ParentProcessGuid", "{W}"), ("Image", @"C:\Windows\System32\cmd.exe"),
            ("ParentImage", @"C:\Windows\System32\inetsrv\w3wp.exe"), ("User", @"NT AUTHORITY\SYSTEM"),
            ("CommandLine", @"cmd /c net use \\DC01\c$ /user:CORP\da-admin Winter2021!"))));
        var forest = trees.Build(ProcessTreeRules.Load(Rules));
        var s = admin.Build(forest, Texts);
        var first = s.Statements[0];
        Assert.Equal("privileged-in-webshell", first.Id);
        Assert.Contains("da-admin", first.Text);
        Assert.Contains("Treat Active Directory as compromised", first.Text);
        Assert.Contains(s.Statements, st => st.Id == "webshell-system");
        Assert.True(s.Accounts.Single(a => a.Account == "da-admin").InWebShellTree);
    }

    [Fact]
    public void Explicit_credentials_used_by_a_process_of_the_webshell_tree_tie_the_account_to_it()
    {
        var trees = new ProcessTreeBuilder();
        var admin = new AdminSummaryBuilder();
        void Add(TimelineEvent r) { trees.Add(r); admin.Add(r); }
        Add(Row(Security(4688, 1, T0, "EX01", ("NewProcessName", @"C:\Windows\System32\cmd.exe"), ("ParentProcessName", @"C:\Windows\System32\inetsrv\w3wp.exe"),
            ("NewProcessId", "0x1f4"), ("ProcessId", "0x50"), ("CommandLine", "cmd /c runas"), ("SubjectUserName", "EX01$"), ("SubjectDomainName", "CORP"))));
        Add(Row(Security(4672, 2, T0.AddMinutes(1), "DC01", ("SubjectUserName", "ent-admin"), ("SubjectDomainName", "CORP"), ("SubjectLogonId", "0x9"))));
        // Same pid on another host, and the same pid before the shell started: neither counts.
        Add(Row(Security(4648, 3, T0.AddMinutes(2), "EX02", ("SubjectUserName", "x"), ("TargetUserName", "other-admin"), ("ProcessId", "0x1f4"))));
        Add(Row(Security(4648, 4, T0.AddMinutes(-5), "EX01", ("SubjectUserName", "x"), ("TargetUserName", "early-admin"), ("ProcessId", "0x1f4"))));
        Add(Row(Security(4648, 5, T0.AddMinutes(2), "EX01", ("SubjectUserName", "EX01$"), ("SubjectDomainName", "CORP"), ("TargetUserName", "ent-admin"),
            ("TargetDomainName", "CORP"), ("TargetServerName", "DC01"), ("ProcessId", "0x1f4"), ("ProcessName", @"C:\Windows\System32\cmd.exe"))));
        var s = admin.Build(trees.Build(ProcessTreeRules.Load(Rules)), Texts);
        Assert.True(s.Accounts.Single(a => a.Account == "ent-admin").InWebShellTree);
        Assert.False(s.Accounts.Single(a => a.Account == "other-admin").InWebShellTree);
        Assert.False(s.Accounts.Single(a => a.Account == "early-admin").InWebShellTree);
        Assert.Equal("privileged-in-webshell", s.Statements[0].Id);
        Assert.Contains(@"CORP\ent-admin", s.Statements[0].Text);
    }

    [Fact]
    public void New_accounts_and_privileged_group_changes_are_stated()
    {
        var b = new AdminSummaryBuilder();
        b.Add(Row(Security(4720, 1, T0, "DC01", ("TargetUserName", "svc-backup2"), ("TargetDomainName", "CORP"), ("SubjectUserName", "eviladmin"), ("SubjectDomainName", "CORP"))));
        b.Add(Row(Security(4728, 2, T0, "DC01", ("MemberName", "CN=svc-backup2,CN=Users,DC=corp,DC=local"), ("TargetUserName", "Domain Admins"), ("TargetDomainName", "CORP"), ("SubjectUserName", "eviladmin"))));
        var s = b.Build(null, Texts);
        Assert.Contains(s.Statements, st => st.Id == "new-accounts" && st.Text.Contains("svc-backup2"));
        Assert.Contains(s.Statements, st => st.Id == "privileged-group-change" && st.Text.Contains(@"CORP\Domain Admins"));
        var created = s.Accounts.Single(a => a.Account == "svc-backup2");
        Assert.True(created.Created);
        Assert.True(created.AddedToPrivilegedGroup);
        Assert.Contains(created.Changes, c => c.Contains("Domain Admins"));
    }

    [Fact]
    public void Web_requests_are_joined_to_privileged_accounts_only()
    {
        var b = new AdminSummaryBuilder();
        b.Add(Row(Security(4672, 1, T0, "EX01", ("SubjectUserName", "da-admin"), ("SubjectDomainName", "CORP"), ("SubjectLogonId", "0x1"))));
        b.Add(Row(Security(4624, 2, T0, "EX01", ("TargetUserName", "mailuser"), ("TargetDomainName", "CORP"), ("LogonType", "3"))));
        TimelineEvent Web(string user, string ip) => new() { Timestamp = T0, Host = "EX01", Category = "web", Source = "IIS", User = user, SrcIp = ip, File = "u_ex.log", RecordId = 1 };
        b.Add(Web("CORP\\da-admin", "203.0.113.9"));
        b.Add(Web("da-admin@corp.local", "203.0.113.10"));
        b.Add(Web("mailuser@corp.local", "10.0.0.8"));
        var s = b.Build(null, Texts);
        var admin = s.Accounts.Single(a => a.Account == "da-admin");
        Assert.Equal(2, admin.WebRequests);
        Assert.Equal(["203.0.113.10", "203.0.113.9"], admin.WebSourceIps.ToArray());
        Assert.Equal(0, s.Accounts.Single(a => a.Account == "mailuser").WebRequests);
    }

    [Fact]
    public void Local_accounts_of_different_hosts_stay_apart_and_domain_accounts_meet()
    {
        var b = new AdminSummaryBuilder();
        foreach (var host in new[] { "WS01", "WS02.corp.local" })
        {
            b.Add(Row(Security(4624, 1, T0, host, ("TargetUserName", "Administrator"), ("TargetDomainName", host.Split('.')[0]), ("LogonType", "2"))));
            b.Add(Row(Security(4624, 2, T0, host, ("TargetUserName", "alice"), ("TargetDomainName", "CORP"), ("LogonType", "3"))));
        }
        var s = b.Build(null, Texts);
        Assert.Equal(["alice", @"ws01\administrator", @"ws02\administrator"], s.Accounts.Select(a => a.Account).Order(StringComparer.Ordinal).ToArray());
        Assert.Equal(2, s.Accounts.Single(a => a.Account == "alice").Hosts.Count);
    }

    [Theory]
    [InlineData(@"CORP\Alice", "alice")]
    [InlineData("alice@corp.local", "alice")]
    [InlineData("corp.local/Users/Alice", "alice")]
    [InlineData(@"NT AUTHORITY\SYSTEM", null)]
    [InlineData("DWM-1", null)]
    [InlineData("-", null)]
    public void Account_keys_meet_across_name_forms(string user, string? key) => Assert.Equal(key, AdminSummaryBuilder.AccountKey(user));
}
