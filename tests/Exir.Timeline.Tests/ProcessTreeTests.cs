using Exir.Timeline;
using static Exir.Timeline.Tests.Events;

namespace Exir.Timeline.Tests;

public class ProcessTreeTests
{
    private static ProcessTreeRules TreeRules => ProcessTreeRules.Load(Rules);

    private static TimelineEvent Start4688(ulong rec, int secs, string image, string pid, string parentPid, string? cmd = null, string? parentName = null, string user = "SYSTEM") =>
        Row(Security(4688, rec, T0.AddSeconds(secs), "EX01", ("NewProcessName", image), ("NewProcessId", pid), ("ProcessId", parentPid),
            ("CommandLine", cmd ?? image), ("SubjectUserName", user), ("SubjectDomainName", "CORP"), ("ParentProcessName", parentName ?? "")));

    [Fact]
    public void Security_4688_links_by_pid_and_takes_the_latest_process_with_a_reused_pid()
    {
        var b = new ProcessTreeBuilder();
        b.Add(Start4688(1, 0, @"C:\Windows\System32\inetsrv\w3wp.exe", "0x100", "0x4", "w3wp.exe -ap \"MSExchangeOWAAppPool\""));
        b.Add(Start4688(2, 10, @"C:\Windows\System32\notepad.exe", "0x200", "0x4"));
        b.Add(Start4688(3, 20, @"C:\Windows\System32\cmd.exe", "0x300", "0x100", "cmd /c whoami"));
        // pid 0x100 ends and is reused by another process; a later child belongs to the new one.
        b.Add(Start4688(4, 30, @"C:\Windows\System32\svchost.exe", "0x100", "0x4"));
        b.Add(Start4688(5, 40, @"C:\Windows\System32\conhost.exe", "0x400", "0x100"));
        var forest = b.Build(TreeRules);
        var cmd = forest.Nodes.Single(n => n.Name == "cmd.exe");
        Assert.Equal("w3wp.exe", cmd.Parent!.Name);
        Assert.Contains("webshell-tree", cmd.Tags);
        var conhost = forest.Nodes.Single(n => n.Name == "conhost.exe");
        Assert.Equal("svchost.exe", conhost.Parent!.Name);
        Assert.DoesNotContain("webshell-tree", conhost.Tags);
        Assert.Contains(forest.Roots, r => ProcessForest.Descendants(r).Contains(cmd) || r == cmd.Parent);
        var text = forest.ToText();
        Assert.Contains("cmd /c whoami", text);
        Assert.DoesNotContain("notepad.exe", text); // unrelated processes are not shown
    }

    // One start as Security 4688 (hex pids) and Sysmon 1 (decimal pids, GUIDs) log it, a few milliseconds apart.
    private static TimelineEvent Sysmon1(ulong rec, double secs, string guid, string parentGuid, string image, long pid, long parentPid, string cmd, string parentImage) =>
        Row(Sysmon(1, rec, T0.AddSeconds(secs), "EX01", ("ProcessGuid", guid), ("ParentProcessGuid", parentGuid), ("ProcessId", pid.ToString()),
            ("ParentProcessId", parentPid.ToString()), ("Image", image), ("ParentImage", parentImage), ("CommandLine", cmd), ("User", @"NT AUTHORITY\SYSTEM")),
            "evidence/Sysmon.evtx");

    private const string W3wp = @"C:\Windows\System32\inetsrv\w3wp.exe", Cmd = @"C:\Windows\System32\cmd.exe", Whoami = @"C:\Windows\System32\whoami.exe";

    private static List<TimelineEvent> BothSourcesOfOneShell() =>
    [
        Start4688(11, 0, W3wp, "0x100", "0x4", "w3wp.exe -ap \"MSExchangeOWAAppPool\""),
        Sysmon1(21, 0.004, "{W}", "{SVC}", W3wp, 256, 4, "w3wp.exe -ap \"MSExchangeOWAAppPool\"", @"C:\Windows\System32\svchost.exe"),
        Start4688(12, 20, Cmd, "0x300", "0x100", "cmd  /c whoami", parentName: W3wp),
        Sysmon1(22, 20.003, "{C}", "{W}", Cmd, 768, 256, "cmd /c whoami", W3wp),
        // 4688 without command-line auditing: no command line to compare, still the same start.
        Start4688(13, 21, Whoami, "0x310", "0x300", "", parentName: Cmd),
        Sysmon1(23, 21.002, "{H}", "{C}", Whoami, 784, 768, "whoami", Cmd),
    ];

    [Fact]
    public void A_start_logged_by_4688_and_Sysmon_1_is_one_process_with_both_records()
    {
        var b = new ProcessTreeBuilder();
        foreach (var r in BothSourcesOfOneShell()) b.Add(r);
        var forest = b.Build(TreeRules);
        Assert.Equal(3, forest.Nodes.Count(n => !n.Inferred));
        var cmd = Assert.Single(forest.Nodes, n => n.Name == "cmd.exe");
        Assert.Equal("{C}", cmd.Guid);
        Assert.Equal("evidence/Sysmon.evtx", cmd.File);
        var twin = Assert.Single(cmd.AlsoLoggedAs);
        Assert.Equal(("evidence/Security.evtx", (long?)12), (twin.File, twin.RecordId));
        Assert.Contains("4688", twin.Source);
        Assert.Equal("w3wp.exe", cmd.Parent!.Name);
        Assert.False(cmd.Parent.Inferred);
        Assert.Equal("cmd.exe", Assert.Single(forest.Nodes, n => n.Name == "whoami.exe").Parent!.Name);
        Assert.Equal(3, forest.MergedStarts);
        var text = forest.ToText();
        Assert.Single(text.Split('\n'), l => l.Contains("cmd.exe pid"));
        Assert.Contains("(evidence/Sysmon.evtx #22; also evidence/Security.evtx #12 (Security 4688))", text);
    }

    [Fact]
    public void Starts_that_differ_in_command_line_image_or_time_stay_apart()
    {
        var b = new ProcessTreeBuilder();
        b.Add(Start4688(1, 0, Cmd, "0x300", "0x100", "cmd /c whoami"));
        b.Add(Sysmon1(2, 0.01, "{A}", "{W}", Cmd, 768, 256, "cmd /c dir", W3wp));                     // other command line
        b.Add(Start4688(3, 100, Cmd, "0x400", "0x100", "cmd /c ver"));
        b.Add(Sysmon1(4, 103, "{B}", "{W}", Cmd, 1024, 256, "cmd /c ver", W3wp));                     // 3 s later: beyond the window
        b.Add(Start4688(5, 200, Whoami, "0x500", "0x100", "whoami"));
        b.Add(Sysmon1(6, 200.01, "{C}", "{W}", @"C:\Temp\whoami.exe", 1280, 256, "whoami", W3wp));  // same name, other folder
        b.Add(Sysmon1(7, 300, "{D}", "{W}", Cmd, 1536, 256, "cmd /c x", W3wp));
        b.Add(Sysmon1(8, 300.01, "{E}", "{W}", Cmd, 1536, 256, "cmd /c x", W3wp));                    // two Sysmon GUIDs: two processes
        var forest = b.Build(TreeRules);
        Assert.Equal(0, forest.MergedStarts);
        Assert.Equal(8, forest.Nodes.Count(n => !n.Inferred));
    }

    [Fact]
    public void Merging_is_off_when_the_rules_set_no_window()
    {
        var b = new ProcessTreeBuilder();
        foreach (var r in BothSourcesOfOneShell()) b.Add(r);
        var rules = ProcessTreeRules.Parse("watch: [{image: w3wp.exe, tag: webshell-tree, title: t}]");
        Assert.Equal(6, b.Build(rules).Nodes.Count(n => !n.Inferred));
    }

    [Fact]
    public void The_timeline_writes_one_row_per_merged_start_naming_the_other_record()
    {
        using var collector = new TimelineCollector(new TimelineOptions(), TimelineRules.Load(Rules));
        foreach (var r in BothSourcesOfOneShell()) collector.Keep(r);
        var result = collector.Finish([], new Exir.Core.Coverage.CoverageReport());
        var rows = collector.Rows().ToList();
        Assert.Equal(3, rows.Count);
        Assert.All(rows, r => Assert.Equal("evidence/Sysmon.evtx", r.File));
        var cmd = Assert.Single(rows, r => r.Process == Cmd);
        Assert.Equal("evidence/Security.evtx #12 (Security 4688)", cmd.Field("also_logged_as"));
        Assert.Contains("webshell-tree", cmd.Tags);
        Assert.Contains(result.Notes, n => n.StartsWith("3 process start(s) logged by two sources"));
    }

    [Fact]
    public void Sysmon_links_by_guid_and_infers_a_parent_it_never_saw_start()
    {
        var b = new ProcessTreeBuilder();
        TimelineEvent S(ulong rec, string guid, string parentGuid, string image, string parentImage, string cmd) =>
            Row(Sysmon(1, rec, T0.AddSeconds(rec), "EX01", ("ProcessGuid", guid), ("ParentProcessGuid", parentGuid), ("ProcessId", rec.ToString()),
                ("ParentProcessId", "99"), ("Image", image), ("ParentImage", parentImage), ("CommandLine", cmd), ("User", @"NT AUTHORITY\SYSTEM"),
                ("ParentCommandLine", "w3wp.exe -ap \"MSExchangeECPAppPool\"")));
        b.Add(S(1, "{A}", "{W3}", @"C:\Windows\System32\cmd.exe", @"C:\Windows\System32\inetsrv\w3wp.exe", "cmd /c net user x P@ss /add"));
        b.Add(S(2, "{B}", "{A}", @"C:\Windows\System32\net.exe", @"C:\Windows\System32\cmd.exe", "net user x P@ss /add"));
        var forest = b.Build(TreeRules);
        var w3wp = forest.Nodes.Single(n => n.Name == "w3wp.exe");
        Assert.True(w3wp.Inferred);
        Assert.Contains("webshell-tree-root", w3wp.Tags);
        var net = forest.Nodes.Single(n => n.Name == "net.exe");
        Assert.Equal("cmd.exe", net.Parent!.Name);
        Assert.Contains("webshell-tree", net.Tags);
        Assert.Contains("account-add", net.Tags);
        Assert.Single(forest.Roots);
        // Rows of the tree get the tree's mark when written.
        var row = Row(Sysmon(1, 2, T0, "EX01", ("ProcessGuid", "{B}")));
        Assert.Contains("webshell-tree", forest.TagsFor(row));
    }

    [Fact]
    public void A_watched_parent_with_only_benign_children_is_not_a_tree_of_interest()
    {
        var b = new ProcessTreeBuilder();
        b.Add(Start4688(1, 0, @"C:\Windows\System32\inetsrv\w3wp.exe", "0x100", "0x4"));
        b.Add(Start4688(2, 5, @"C:\Windows\Microsoft.NET\Framework64\v4.0.30319\csc.exe", "0x200", "0x100"));
        var forest = b.Build(TreeRules);
        Assert.Empty(forest.Roots);
        Assert.Empty(forest.Nodes.Where(n => n.Tags.Contains("webshell-tree")));
    }
}
