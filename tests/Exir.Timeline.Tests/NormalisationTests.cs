using Exir.Detection.EventLogs;
using Exir.Evtx;
using Exir.Timeline;
using static Exir.Timeline.Tests.Events;

namespace Exir.Timeline.Tests;

public class NormalisationTests
{
    [Fact]
    public void Logon_4624_gives_user_source_ip_logon_type_and_evidence_pointer()
    {
        var e = Security(4624, 77, T0, "EX01.corp.local", ("TargetUserName", "alice"), ("TargetDomainName", "CORP"), ("LogonType", "10"),
            ("IpAddress", "10.0.0.5"), ("WorkstationName", "JUMP01"), ("TargetLogonId", "0x3e7abc"), ("ProcessName", "-"));
        var row = Row(e, "host1/Security.evtx");
        Assert.Equal("logon", row.Category);
        Assert.Equal("Logon", row.TimestampDesc);
        Assert.Equal(@"CORP\alice", row.User);
        Assert.Equal("10.0.0.5", row.SrcIp);
        Assert.Equal("JUMP01", row.SrcHost);
        Assert.Equal("10", row.Field("logon_type"));
        Assert.Equal("EX01.corp.local", row.Host);
        Assert.Equal(77, row.RecordId);
        Assert.Equal("host1/Security.evtx", row.File);
        Assert.Null(row.Process); // "-" is no value
        Assert.Contains("Logon type 10", row.Message);
        Assert.Equal("alice", row.Field("evt_TargetUserName"));
    }

    [Fact]
    public void Missing_computer_falls_back_to_the_evidence_host_and_missing_domain_keeps_the_user()
    {
        var e = Security(4720, 5, T0, "", ("TargetUserName", "backdoor"), ("SubjectUserName", "admin"));
        var row = Mapping.Map(e, "EX02", "f")!;
        Assert.Equal("EX02", row.Host);
        Assert.Equal("backdoor", row.Field("target_user"));
        Assert.Equal("admin", row.User);
        Assert.Equal("account-change", row.Category);
    }

    [Fact]
    public void Forwarded_events_are_mapped_by_provider()
    {
        var e = Ev(4688, "ForwardedEvents", "Microsoft-Windows-Security-Auditing", 9, T0, "DC01",
            ("NewProcessName", @"C:\Windows\System32\cmd.exe"), ("CommandLine", "cmd /c whoami"), ("NewProcessId", "0x1a2c"), ("ProcessId", "0x10"));
        var row = Mapping.Map(e, "x", "f")!;
        Assert.Equal("Security", row.Source);
        Assert.Equal("process", row.Category);
        Assert.Equal("cmd /c whoami", row.CommandLine);
    }

    [Fact]
    public void Exchange_cmdlet_log_with_unnamed_data_is_read_by_position()
    {
        var e = Ev(1, "MSExchange Management", "MSExchange CmdletLogs", 3229, T0, "EX01",
            ("Data[1]", "New-MailboxExportRequest"), ("Data[2]", "-Mailbox ceo -FilePath \\\\127.0.0.1\\c$\\inetpub\\wwwroot\\aspnet_client\\x.aspx"),
            ("Data[3]", "corp.local/Users/eviladmin"), ("Data[4]", "S-1-5-21-1-2-3-500"), ("Data[5]", "S-1-5-21-1-2-3-500"),
            ("Data[6]", "Remote-ManagementShell-Unknown"), ("Data[7]", "5668 w3wp#MSExchangePowerShellAppPool"));
        var row = Row(e);
        Assert.Equal("exchange-cmdlet", row.Category);
        Assert.Equal("New-MailboxExportRequest", row.Field("cmdlet"));
        Assert.Equal("corp.local/Users/eviladmin", row.User);
        Assert.Contains("exchange-cmdlet", row.Tags);
        Assert.StartsWith("New-MailboxExportRequest -Mailbox ceo", row.CommandLine);
    }

    [Fact]
    public void Unlisted_events_are_not_kept()
    {
        var e = Ev(7036, "System", "Service Control Manager", 1, T0, "EX01", ("param1", "x"));
        Assert.Null(Mapping.Map(e, "x", "f"));
    }

    [Fact]
    public void Webshell_child_from_4688_with_parent_name_is_tagged_and_benign_child_is_not()
    {
        var shell = Security(4688, 1, T0, "EX01", ("NewProcessName", @"C:\Windows\System32\cmd.exe"), ("ParentProcessName", @"c:\windows\system32\inetsrv\w3wp.exe"),
            ("CommandLine", "cmd /c whoami"), ("NewProcessId", "0x100"), ("ProcessId", "0x50"));
        var compiler = Security(4688, 2, T0, "EX01", ("NewProcessName", @"C:\Windows\Microsoft.NET\Framework64\v4.0.30319\csc.exe"), ("ParentProcessName", @"c:\windows\system32\inetsrv\w3wp.exe"),
            ("NewProcessId", "0x104"), ("ProcessId", "0x50"));
        Assert.Contains("webshell-child", Row(shell).Tags);
        Assert.DoesNotContain("webshell-child", Row(compiler).Tags);
    }

    [Fact]
    public void Template_renders_alternatives_positions_and_drops_empty_halves()
    {
        var e = Security(4688, 1, T0, "h", ("SubjectUserName", "bob"), ("SubjectDomainName", "-"), ("Data[1]", "first"));
        Assert.Equal("bob", Template.Parse("{TargetDomainName|SubjectDomainName}\\{TargetUserName|SubjectUserName}").Render(e));
        Assert.Equal("first", Template.Parse("{#2}").Render(e));
        Assert.Null(Template.Parse("{Nothing}").Render(e));
        Assert.Equal("4688 from h", Template.Parse("{EventID} from {Computer}").Render(e));
    }
}

public class LsassHighlightTests
{
    [Theory]
    [InlineData(@"C:\Users\Public\rundll32.exe", "0x1fffff", true)]
    [InlineData(@"C:\ProgramData\Microsoft\Windows Defender\Platform\4.18\MsMpEng.exe", "0x1fffff", false)]
    [InlineData(@"C:\Temp\tool.exe", "0x1000", false)] // query-limited-information only
    public void Lsass_open_is_highlighted_for_memory_read_rights_from_unexpected_processes(string source, string access, bool tagged)
    {
        var e = Events.Sysmon(10, 1, Events.T0, "EX01", ("SourceImage", source), ("TargetImage", @"C:\Windows\system32\lsass.exe"), ("GrantedAccess", access));
        Assert.Equal(tagged, Events.Row(e).Tags.Contains("lsass-open"));
        Assert.Equal("process-access", Events.Row(e).Category);
    }
}
