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
