using Exir.Timeline;
using static Exir.Timeline.Tests.Events;

namespace Exir.Timeline.Tests;

/// <summary>What the analyses keep for the whole run is compact or bounded, and says so when a bound is hit.</summary>
public class CompactStateTests
{
    private static ScopeTexts Texts => ScopeTexts.Load(Rules);

    private static TimelineEvent ExplicitCredentials(ulong record, string logonId = "0x1") =>
        Row(Security(4648, record, T0.AddSeconds(record), "EX01", ("SubjectUserName", "svc-web"), ("SubjectDomainName", "CORP"), ("SubjectLogonId", logonId),
            ("TargetUserName", "da-admin"), ("TargetDomainName", "CORP"), ("ProcessName", @"C:\Windows\System32\runas.exe"), ("ProcessId", "0x1a4")));

    [Fact]
    public void Changes_of_an_account_stop_at_the_bound_and_say_how_many_more_there_were()
    {
        var b = new AdminSummaryBuilder();
        int total = AccountActivity.MaxChanges + 25;
        for (int i = 1; i <= total; i++) b.Add(ExplicitCredentials((ulong)i));
        var a = Assert.Single(b.Build(null, Texts).Accounts, x => x.Account == "da-admin");
        Assert.Equal(total, a.ExplicitCredentialUses);
        Assert.Equal(AccountActivity.MaxChanges + 1, a.Changes.Count);
        Assert.Equal(25, a.ChangesNotKept);
        Assert.Contains("credentials used explicitly", a.Changes[AccountActivity.MaxChanges - 1]);
        Assert.Equal("… 25 more change(s) not kept (bound of 1,000 per account)", a.Changes[^1]);
    }

    [Fact]
    public void Changes_under_the_bound_are_all_kept_without_a_note()
    {
        var b = new AdminSummaryBuilder();
        for (int i = 1; i <= 3; i++) b.Add(ExplicitCredentials((ulong)i));
        var a = Assert.Single(b.Build(null, Texts).Accounts, x => x.Account == "da-admin");
        Assert.Equal(3, a.Changes.Count);
        Assert.All(a.Changes, c => Assert.Contains("credentials used explicitly", c));
        Assert.Equal(0, a.ChangesNotKept);
    }

    [Theory]
    [InlineData("0xABC", "0xabc", true)]     // Windows' form, either case: kept as a number
    [InlineData("0x3e7", "0X3E7", true)]
    [InlineData("0x03e7", "0x3e7", false)]   // not the canonical form: compared as text, as before
    [InlineData("999", "0x3e7", false)]
    [InlineData("logon-7", "LOGON-7", true)] // not a number at all: text, case-insensitive
    [InlineData("0xFFFFFFFFFFFFFFFF", "0xffffffffffffffff", true)] // beyond a long: text
    public void Logon_sessions_pair_by_id_exactly_as_the_lower_cased_text_did(string privilegedId, string logonId, bool paired)
    {
        var b = new AdminSummaryBuilder();
        b.Add(Row(Security(4672, 1, T0, "EX01", ("SubjectUserName", "da-admin"), ("SubjectDomainName", "CORP"), ("SubjectLogonId", privilegedId), ("PrivilegeList", "SeDebugPrivilege"))));
        b.Add(Row(Security(4624, 2, T0, "EX01", ("TargetUserName", "da-admin"), ("TargetDomainName", "CORP"), ("TargetLogonId", logonId), ("LogonType", "10"))));
        var a = Assert.Single(b.Build(null, Texts).Accounts);
        Assert.Equal(paired, a.PrivilegedLogonsByType.ContainsKey("10"));
    }

    [Fact]
    public void Sessions_of_another_host_with_the_same_id_do_not_pair()
    {
        var b = new AdminSummaryBuilder();
        b.Add(Row(Security(4672, 1, T0, "DC01", ("SubjectUserName", "da-admin"), ("SubjectDomainName", "CORP"), ("SubjectLogonId", "0xabc"), ("PrivilegeList", "SeDebugPrivilege"))));
        b.Add(Row(Security(4624, 2, T0, "EX01", ("TargetUserName", "da-admin"), ("TargetDomainName", "CORP"), ("TargetLogonId", "0xabc"), ("LogonType", "10"))));
        Assert.Empty(Assert.Single(b.Build(null, Texts).Accounts).PrivilegedLogonsByType);
    }

    [Fact]
    public void Process_nodes_make_their_lists_only_when_needed_and_still_link()
    {
        var builder = new ProcessTreeBuilder();
        builder.Add(Row(Security(4688, 1, T0, "EX01", ("NewProcessName", @"C:\Windows\System32\cmd.exe"), ("NewProcessId", "0x10"),
            ("ProcessId", "0x20"), ("ParentProcessName", @"C:\Windows\explorer.exe"), ("CommandLine", "cmd /c whoami"))));
        var forest = builder.Build(ProcessTreeRules.Load(Rules));
        var cmd = Assert.Single(forest.Nodes, n => !n.Inferred);
        var parent = Assert.Single(forest.Nodes, n => n.Inferred);
        Assert.Same(cmd, Assert.Single(parent.Children));
        Assert.Empty(cmd.Children);
        Assert.Empty(cmd.AlsoLoggedAs);
        Assert.Empty(parent.AlsoLoggedAs);
    }
}

public class SummaryBoundTests
{
    [Fact]
    public void Sessions_beyond_the_bound_are_counted_and_stated()
    {
        var b = new AdminSummaryBuilder { MaxSessions = 2 };
        for (int i = 1; i <= 5; i++)
            b.Add(Row(Security(4624, (ulong)i, T0.AddSeconds(i), "EX01", ("TargetUserName", "alice"), ("TargetDomainName", "CORP"), ("TargetLogonId", $"0x{i:x}"), ("LogonType", "3"))));
        var note = Assert.Single(b.BoundsHit());
        Assert.StartsWith("3 logon session record(s) beyond the bound of 2 sessions", note);
        Assert.Equal(5, Assert.Single(b.Build(null, ScopeTexts.Load(Rules)).Accounts).Logons);
    }

    [Fact]
    public void No_bound_hit_says_nothing()
    {
        var b = new AdminSummaryBuilder();
        b.Add(Row(Security(4624, 1, T0, "EX01", ("TargetUserName", "alice"), ("TargetDomainName", "CORP"), ("TargetLogonId", "0x1"), ("LogonType", "3"))));
        Assert.Empty(b.BoundsHit());
    }
}

public class SorterBufferTests
{
    [Fact]
    public void Buffered_rows_are_held_as_bytes_not_as_the_row_objects_and_come_back_equal()
    {
        using var sorter = new ExternalSorter(maxBuffered: 1_000, tempDirectory: Exir.Tests.TestPaths.NewTempDir());
        var handles = AddRows(sorter, 50);
        GC.Collect(2, GCCollectionMode.Forced, blocking: true);
        GC.WaitForPendingFinalizers();
        // The buffer keeps no reference to what was added: the rows could die young.
        Assert.All(handles, h => Assert.False(h.IsAlive));
        Assert.Equal(0, sorter.Runs);
        var merged = sorter.Merge().ToList();
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (long?)(49 - i)), merged.Select(r => r.RecordId));
        Assert.All(merged, r =>
        {
            Assert.Equal($"cmd /c echo {r.RecordId} é \u2603", r.CommandLine);
            Assert.Equal(["t1", "t2"], r.Tags);
            Assert.Equal(("process_id", r.RecordId.ToString()), (r.Fields[0].Key, r.Fields[0].Value));
        });
    }

    // Not inlined, so no local of the test method keeps a row alive.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static List<WeakReference> AddRows(ExternalSorter sorter, int n)
    {
        var handles = new List<WeakReference>();
        for (int i = 0; i < n; i++)
        {
            var row = new TimelineEvent
            {
                Timestamp = T0.AddSeconds(n - i), Host = "EX01", File = "f.evtx", RecordId = i, Category = "process",
                CommandLine = $"cmd /c echo {i} é \u2603", Tags = ["t1", "t2"], Fields = [new("process_id", i.ToString())],
            };
            sorter.Add(row);
            handles.Add(new WeakReference(row));
        }
        return handles;
    }
}
