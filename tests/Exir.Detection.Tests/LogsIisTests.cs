using Exir.Core.Findings;
using Exir.Detection.Logs;
using Exir.Logs;
using static Exir.Detection.Tests.LogsTestKit;

namespace Exir.Detection.Tests;

public class LogsIisTests
{
    private const string IisPath = "inetpub/logs/LogFiles/W3SVC1/u_ex210303.log";
    private static readonly LogFormat Detector = LogFormat.IisW3c;

    private static Run ScanLines(params string[] lines) => Scan(Detector, IisPath, IisHeader() + string.Concat(lines));

    [Fact]
    public void SsrfCarrierRequestsAreGradedByStatus()
    {
        var run = ScanLines(
            IisLine("POST", "/ecp/y.js", status: 200),
            IisLine("GET", "/owa/auth/x.js", status: 404),
            IisLine("GET", "/owa/auth/15.1.2176/scripts/premium/flogon.js", status: 200),
            IisLine("GET", "/ecp/15.1.2176/scripts/common.js", status: 200));
        var hits = run.Of("LOG-IIS-SSRF-RESOURCE").OrderBy(f => f.Line).ToList();
        Assert.Equal(2, hits.Count);
        Assert.Equal((Severity.High, Outcome.Attempt), (hits[0].Severity, hits[0].Outcome));
        Assert.Equal(Outcome.Scan, hits[1].Outcome);
        Assert.Equal(6, hits[1].Line);
    }

    [Fact]
    public void ProxyLogonEcpAnsweredWith241IsCritical()
    {
        var run = ScanLines(IisLine("POST", "/ecp/proxyLogon.ecp", status: 241, port: 444, clientIp: "127.0.0.1"), IisLine("GET", "/ecp/default.aspx", status: 200));
        var f = run.Single("LOG-IIS-PROXYLOGON-ECP");
        Assert.Single(run.Findings);
        Assert.Equal(Severity.Critical, f.Severity);
        Assert.Equal(Outcome.Success, f.Outcome);
        Assert.Equal("127.0.0.1", f.ClientIp);
        Assert.Contains("loopback", f.Details["client_ip_note"]);
    }

    [Fact]
    public void DdiResetBySystemIsCriticalAndByANamedAdminOnlyAnIndicator()
    {
        var run = ScanLines(
            IisLine("POST", "/ecp/DDI/DDIService.svc/SetObject", "schema=ResetOABVirtualDirectory&msExchEcpCanary=abc", 200, user: "NT+AUTHORITY\\SYSTEM", port: 444),
            IisLine("POST", "/ecp/DDI/DDIService.svc/SetObject", "msExchEcpCanary=def&schema=OABVirtualDirectory", 200, user: "CONTOSO\\admin"),
            IisLine("POST", "/ecp/DDI/DDIService.svc/GetList", "schema=VirtualDirectory", 200, user: "CONTOSO\\admin"));
        var hits = run.Of("LOG-IIS-DDI-VDIR").OrderBy(f => f.Line).ToList();
        Assert.Equal(2, hits.Count);
        Assert.Equal((Severity.Critical, Outcome.Success), (hits[0].Severity, hits[0].Outcome));
        Assert.Equal("ResetOABVirtualDirectory", hits[0].Details["schema"]);
        Assert.Equal((Severity.Medium, Outcome.Indicator), (hits[1].Severity, hits[1].Outcome));
    }

    [Fact]
    public void UnexpectedScriptsInWebFoldersAreFoundAndShippedPagesAreNot()
    {
        var run = ScanLines(
            IisLine("POST", "/aspnet_client/system_web/supp0rt.aspx", status: 200),
            IisLine("GET", "/owa/auth/logon.aspx", "replaceCurrent=1", 200),
            IisLine("GET", "/OWA/Auth/LOGON.ASPX", status: 200),
            IisLine("GET", "/owa/auth/errorFE.aspx", "httpCode=500", 200),
            IisLine("POST", "/owa/auth/OutlookEN.aspx", status: 404),
            IisLine("POST", "/ecp/auth/TimeoutLogout.aspx", status: 200),
            IisLine("POST", "/ecp/auth/shell.ashx", status: 500));
        var hits = run.Of("LOG-IIS-UNEXPECTED-SCRIPT").OrderBy(f => f.Line).ToList();
        Assert.Equal([5L, 9L, 11L], hits.Select(h => h.Line!.Value));
        Assert.Equal(Outcome.Success, hits[0].Outcome);
        Assert.Equal(Outcome.Scan, hits[1].Outcome);
        Assert.Equal(Outcome.Success, hits[2].Outcome);
    }

    [Fact]
    public void PostToThemeResourcesIsReported()
    {
        var run = ScanLines(
            IisLine("POST", "/owa/auth/Current/themes/resources/logon.aspx", status: 200),
            IisLine("GET", "/owa/auth/Current/themes/resources/logon.css", status: 200));
        var f = run.Single("LOG-IIS-THEMES-POST");
        Assert.Equal(Outcome.Success, f.Outcome);
    }

    [Fact]
    public void CampaignUserAgentWrittenWithPlusesIsRecognised()
    {
        var run = ScanLines(
            IisLine("POST", "/ecp/default.flt", status: 200, userAgent: "DuckDuckBot/1.0; (+http://duckduckgo.com/duckduckbot.html)"),
            IisLine("GET", "/owa/", status: 302, userAgent: "python-requests/2.25.1"),
            IisLine("GET", "/owa/", status: 302, userAgent: "python-requests/2.31.0"),
            IisLine("GET", "/owa/auth/logon.aspx", status: 200, userAgent: "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
            IisLine("GET", "/owa/auth/logon.aspx", status: 200, userAgent: "Mozilla/5.0 (compatible; Googlebot/2.2; +http://www.google.com/bot.html)"));
        var hits = run.Of("LOG-WEB-CAMPAIGN-UA").OrderBy(f => f.Line).ToList();
        Assert.Equal(3, hits.Count);
        Assert.Equal(Severity.Medium, hits[0].Severity);
        Assert.Equal(Severity.Low, hits[1].Severity);
        Assert.Equal((Severity.Low, 8L), (hits[2].Severity, hits[2].Line!.Value));
        Assert.All(hits, h => Assert.Equal(Outcome.Indicator, h.Outcome));
    }

    [Fact]
    public void ProxyShellStagesAreGradedAndLegitimateAutodiscoverIsNot()
    {
        var run = ScanLines(
            IisLine("POST", "/autodiscover/autodiscover.json", "@evil.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.com", 200, clientIp: "192.0.2.10"),
            IisLine("GET", "/autodiscover/autodiscover.json", "@evil.com/powershell/?X-Rps-CAT=VgEAVAdXaW5kb3dzQwBBCEtlcmJlcm9z&Email=autodiscover/autodiscover.json%3F@evil.com", 200),
            IisLine("GET", "/autodiscover/autodiscover.json", "a=x@evil.com/owa/&Email=autodiscover/autodiscover.json%3Fa=x@evil.com", 302),
            IisLine("GET", "/autodiscover/autodiscover.json/v1.0/alice@contoso.com", "Protocol=ActiveSync&RedirectCount=1", 200, user: "alice@contoso.com"));
        var hits = run.Of("LOG-WEB-PROXYSHELL").OrderBy(f => f.Line).ToList();
        Assert.Equal([5L, 6L, 7L], hits.Select(h => h.Line!.Value));
        Assert.Equal("/mapi/nspi/", hits[0].Details["proxyshell_target"]);
        Assert.Equal(Outcome.Success, hits[0].Outcome);
        Assert.Equal(Outcome.Success, hits[1].Outcome);
        Assert.Equal((Severity.Medium, Outcome.Attempt), (hits[2].Severity, hits[2].Outcome));
        // One finding per line within the autodiscover group: the X-Rps-CAT line is not also reported by the RPS or NotShell rules.
        Assert.Empty(run.Of("LOG-WEB-PROXYSHELL-RPS"));
        Assert.Empty(run.Of("LOG-WEB-PROXYNOTSHELL"));
    }

    [Fact]
    public void DirectRpsCatRequestIsReported()
    {
        var run = ScanLines(
            IisLine("POST", "/powershell", "X-Rps-CAT=VgEAVAdXaW5kb3dzQwBBCEtlcmJlcm9z&clientApplication=x", 200, port: 444),
            IisLine("POST", "/powershell", "serializationLevel=Full;ExchClientVer=15.1.2176.2;clientApplication=ManagementShell", 200, user: "CONTOSO\\admin"));
        var f = run.Single("LOG-WEB-PROXYSHELL-RPS");
        Assert.Equal(Outcome.Success, f.Outcome);
        Assert.Single(run.Findings);
    }

    [Fact]
    public void ProxyNotShellIsFoundThroughEncodingAndReportedOnce()
    {
        var run = ScanLines(
            IisLine("GET", "/autodiscover/autodiscover.json", "@evil.com/owa/&Email=autodiscover/autodiscover.json%3F@evil.com&Protocol=XYZ&FooProtocol=%2550owershell", 401, user: "bob@contoso.com"),
            IisLine("GET", "/autodiscover/autodiscover.xml", "-", 200));
        var f = run.Single("LOG-WEB-PROXYNOTSHELL");
        Assert.Equal(Outcome.Attempt, f.Outcome);
        Assert.Contains("FooProtocol=Powershell", f.Details["decoded_url"]);
        Assert.Single(run.Findings);
    }

    [Fact]
    public void OwaSsrfToPowerShellIsReported()
    {
        var run = ScanLines(
            IisLine("POST", "/owa/mastermailbox%40outlook.com/powershell", "clientApplication=x", 200, user: "CONTOSO\\bob"),
            IisLine("GET", "/owa/service.svc", "action=GetFolder", 200));
        var f = run.Single("LOG-WEB-OWASSRF");
        Assert.Equal((Severity.Critical, Outcome.Success), (f.Severity, f.Outcome));
        Assert.Contains("CVE-2022-41080", f.Cves);
    }

    [Fact]
    public void ForwardedForIsTheClientWhenTheSiteLogsIt()
    {
        var fields = IisFields + " X-Forwarded-For";
        var text = IisHeader(fields) + IisLine("POST", "/ecp/y.js", status: 200, clientIp: "10.0.0.2").TrimEnd() + " 198.51.100.9,+10.0.0.2\r\n";
        var f = Scan(Detector, IisPath, text).Single("LOG-IIS-SSRF-RESOURCE");
        Assert.Equal("198.51.100.9", f.ClientIp);
        Assert.Equal("X-Forwarded-For", f.Details["client_ip_source"]);
    }

    [Fact]
    public void IisCoverageFamilyIsTheSite()
    {
        var run = ScanLines(IisLine("GET", "/owa/", time: "00:00:01"), IisLine("GET", "/owa/", time: "23:00:00"));
        var fam = run.Coverage.Families["IIS/W3SVC1"];
        Assert.Equal(new DateTimeOffset(2021, 3, 3, 0, 0, 1, TimeSpan.Zero), fam.First);
        Assert.Equal(new DateTimeOffset(2021, 3, 3, 23, 0, 0, TimeSpan.Zero), fam.Last);
        Assert.Empty(run.Findings);
    }
}
