using Exir.Core.Findings;
using Exir.Detection.Logs;
using Exir.Logs;
using static Exir.Detection.Tests.LogsTestKit;

namespace Exir.Detection.Tests;

public class LogsHttpProxyTests
{
    private const string EcpPath = "Program Files/Microsoft/Exchange Server/V15/Logging/HttpProxy/Ecp/HttpProxy_2021030305-1.LOG";
    private static readonly LogFormat Detector = LogFormat.HttpProxy;

    private static Run ScanLines(params Dictionary<string, string>[] lines) =>
        Scan(Detector, EcpPath, HttpProxyHeader() + string.Concat(lines.Select(l => HttpProxyLine(l))));

    [Fact]
    public void AnsweredAnchorSsrfIsCriticalSuccessWithItsFields()
    {
        var run = ScanLines(
            new Dictionary<string, string> { ["UrlStem"] = "/ecp/default.aspx", ["AnchorMailbox"] = "SMTP:alice@contoso.com", ["HttpStatus"] = "200" },
            new Dictionary<string, string> { ["UrlStem"] = "/ecp/y.js", ["AnchorMailbox"] = "ServerInfo~a]@EXCH01.contoso.local:444/ecp/proxyLogon.ecp#~1941962753", ["HttpStatus"] = "241", ["BackEndStatus"] = "241", ["ClientIpAddress"] = "198.51.100.23", ["Method"] = "POST", ["DateTime"] = "2021-03-03T05:12:34.500Z" });
        var f = run.Single("LOG-HTTPPROXY-SSRF");
        Assert.Equal(Severity.Critical, f.Severity);
        Assert.Equal(Outcome.Success, f.Outcome);
        Assert.Equal(["CVE-2021-26855"], f.Cves);
        Assert.Equal(7, f.Line);
        Assert.Equal(new DateTimeOffset(2021, 3, 3, 5, 12, 34, 500, TimeSpan.Zero), f.Timestamp);
        Assert.Equal("198.51.100.23", f.ClientIp);
        Assert.Equal("ClientIpAddress", f.Details["client_ip_source"]);
        Assert.Equal("ServerInfo~a]@EXCH01.contoso.local:444/ecp/proxyLogon.ecp#~1941962753", f.Details["AnchorMailbox"]);
        Assert.Equal("/ecp/proxyLogon.ecp", f.Details["ssrf_path"]);
        Assert.Equal("241", f.Details["HttpStatus"]);
        Assert.Contains("ServerInfo~a]@EXCH01", f.Evidence);
        Assert.EndsWith("HttpProxy_2021030305-1.LOG", f.Artifact);
        Assert.Equal("EXCH01", f.Host);
    }

    [Fact]
    public void BackEndCookieOnlyExploitIsReported()
    {
        var run = ScanLines(new Dictionary<string, string> { ["UrlStem"] = "/ecp/x.js", ["AnchorMailbox"] = "", ["BackEndCookie"] = "Server~EXCH01.contoso.local/ews/exchange.asmx?a=~1942062522", ["HttpStatus"] = "200" });
        var f = run.Single("LOG-HTTPPROXY-SSRF");
        Assert.Equal(Outcome.Success, f.Outcome);
        Assert.Equal("/ews/exchange.asmx", f.Details["ssrf_path"]);
    }

    [Fact]
    public void AutodiscoverAppendedToTheQueryDoesNotHideTheHit()
    {
        var run = ScanLines(new Dictionary<string, string> { ["AnchorMailbox"] = "ServerInfo~a]@EXCH01:444/ecp/DDI/DDIService.svc/GetList?x=/autodiscover/autodiscover.xml#", ["HttpStatus"] = "200" });
        var f = run.Single("LOG-HTTPPROXY-SSRF");
        Assert.Equal(Severity.Critical, f.Severity);
        Assert.Equal(Outcome.Success, f.Outcome);
    }

    [Fact]
    public void SsrfToAutodiscoverOnlyIsAMediumAttempt()
    {
        var f = ScanLines(new Dictionary<string, string> { ["AnchorMailbox"] = "ServerInfo~a]@EXCH01:444/autodiscover/autodiscover.xml?#", ["HttpStatus"] = "200" }).Single("LOG-HTTPPROXY-SSRF");
        Assert.Equal(Severity.Medium, f.Severity);
        Assert.Equal(Outcome.Attempt, f.Outcome);
    }

    [Fact]
    public void NmapProbeIsALowScan()
    {
        var f = ScanLines(new Dictionary<string, string> { ["AnchorMailbox"] = "ServerInfo~localhost/ecp/default.flt?", ["HttpStatus"] = "200" }).Single("LOG-HTTPPROXY-SSRF");
        Assert.Equal(Severity.Low, f.Severity);
        Assert.Equal(Outcome.Scan, f.Outcome);
    }

    [Fact]
    public void ProbeLookalikeWithAnExtraPathIsNotDowngraded()
    {
        var f = ScanLines(new Dictionary<string, string> { ["AnchorMailbox"] = "ServerInfo~localhost/ecp/default.flt?x/../ecp/DDI/DDIService.svc/SetObject", ["HttpStatus"] = "200" }).Single("LOG-HTTPPROXY-SSRF");
        Assert.Equal(Outcome.Success, f.Outcome);
    }

    [Fact]
    public void UnansweredSsrfIsAHighAttempt()
    {
        var f = ScanLines(new Dictionary<string, string> { ["AnchorMailbox"] = "ServerInfo~a]@EXCH01:444/ecp/proxyLogon.ecp#", ["HttpStatus"] = "500", ["BackEndStatus"] = "" }).Single("LOG-HTTPPROXY-SSRF");
        Assert.Equal(Severity.High, f.Severity);
        Assert.Equal(Outcome.Attempt, f.Outcome);
    }

    [Fact]
    public void OrdinaryRoutingValuesAreNotReported()
    {
        var run = ScanLines(
            new Dictionary<string, string> { ["AnchorMailbox"] = "SMTP:alice@contoso.com", ["BackEndCookie"] = "Database~fb7adba2-51f4-47e3-b170-fd39f85aaf35~~2021-03-04T05:00:00", ["HttpStatus"] = "200" },
            new Dictionary<string, string> { ["AnchorMailbox"] = "ServerInfo~EXCH02.contoso.local", ["HttpStatus"] = "200" },
            new Dictionary<string, string> { ["AnchorMailbox"] = "Sid~S-1-5-21-1-2-3-1104", ["UserAgent"] = "Microsoft Office/16.0 (Windows NT 10.0; Server~Info/x)", ["HttpStatus"] = "200" });
        Assert.Empty(run.Findings);
    }

    [Fact]
    public void E2013ColumnSetIsReadByHeader()
    {
        var text = HttpProxyHeader(HttpProxyFieldsE2013, "15.00.1497.002") +
                   HttpProxyLine(new Dictionary<string, string> { ["AnchorMailbox"] = "ServerInfo~a]@EXCH01:444/ecp/DDI/DDIService.svc/SetObject?schema=ResetOABVirtualDirectory&msExchEcpCanary=x#", ["HttpStatus"] = "200", ["UrlQuery"] = "?a=1" }, HttpProxyFieldsE2013);
        var run = Scan(Detector, EcpPath, text);
        Assert.Equal(Outcome.Success, run.Single("LOG-HTTPPROXY-SSRF").Outcome);
        Assert.Equal(Outcome.Success, run.Single("LOG-HTTPPROXY-VDIR-RESET").Outcome);
        Assert.Equal("15.00.1497.002", run.Context.ExchangeBuild);
    }

    [Fact]
    public void ResetVirtualDirectoryNotAtTheEndIsFound()
    {
        var run = ScanLines(new Dictionary<string, string> { ["AnchorMailbox"] = "ServerInfo~a]@EXCH01:444/ecp/DDI/DDIService.svc/SetObject?schema=ResetOABVirtualDirectory&msExchEcpCanary=abc&a=~1942062522", ["HttpStatus"] = "200" });
        var f = run.Single("LOG-HTTPPROXY-VDIR-RESET");
        Assert.Equal(Severity.Critical, f.Severity);
        Assert.Equal("ResetOABVirtualDirectory", f.Details["schema"]);
        Assert.Contains("CVE-2021-27065", f.Cves);
    }

    [Fact]
    public void ResetSchemaWithoutAForgedRouteIsNotTheSsrfReset()
    {
        // An administrator resetting the OAB directory through ECP: the schema is in the query, the anchor is their own mailbox.
        var run = ScanLines(new Dictionary<string, string> { ["UrlStem"] = "/ecp/DDI/DDIService.svc/SetObject", ["UrlQuery"] = "?schema=ResetOABVirtualDirectory&msExchEcpCanary=x",
            ["AnchorMailbox"] = "Sid~S-1-5-21-1-2-3-500", ["AuthenticatedUser"] = "CONTOSO\\admin", ["HttpStatus"] = "200" });
        Assert.Empty(run.Findings);
    }

    [Fact]
    public void PercentEncodedResetIsFound()
    {
        var run = ScanLines(new Dictionary<string, string> { ["AnchorMailbox"] = "ServerInfo~a]@EXCH01:444/ecp/DDI/DDIService.svc/SetObject?schema=%52esetOABVirtual%44irectory#", ["HttpStatus"] = "500" });
        var f = run.Single("LOG-HTTPPROXY-VDIR-RESET");
        Assert.Equal(Outcome.Attempt, f.Outcome);
    }

    [Fact]
    public void HostileValuesStayVerbatimInEvidenceAndDetails()
    {
        const string ua = "<script>alert('x')</script>=HYPERLINK(\"http://evil\")\u001b[2J";
        var f = ScanLines(new Dictionary<string, string> { ["AnchorMailbox"] = "ServerInfo~a]@EXCH01:444/ecp/y#", ["UserAgent"] = ua, ["HttpStatus"] = "200" }).Single("LOG-HTTPPROXY-SSRF");
        Assert.Equal(ua, f.Details["UserAgent"]);
        Assert.Contains(Csv(ua), f.Evidence);
    }

    [Fact]
    public void VeryLongLineIsClippedInEvidenceWithAMarker()
    {
        var f = ScanLines(new Dictionary<string, string> { ["AnchorMailbox"] = "ServerInfo~a]@EXCH01:444/ecp/y#", ["GenericInfo"] = new string('Q', 40_000), ["HttpStatus"] = "200" }).Single("LOG-HTTPPROXY-SSRF");
        Assert.True(f.Evidence.Length < 10_000);
        Assert.Contains("truncated", f.Evidence);
    }

    [Fact]
    public void TimeWindowIsRespected()
    {
        var text = HttpProxyHeader() + HttpProxyLine(new Dictionary<string, string> { ["AnchorMailbox"] = "ServerInfo~a]@EXCH01:444/ecp/y#", ["HttpStatus"] = "200", ["DateTime"] = "2021-03-03T05:00:00Z" });
        var outside = Scan(Detector, EcpPath, text, new() { RulesDirectory = RulesDirectory, Since = new DateTimeOffset(2021, 3, 4, 0, 0, 0, TimeSpan.Zero) });
        Assert.Empty(outside.Findings);
        var inside = Scan(Detector, EcpPath, text, new() { RulesDirectory = RulesDirectory, Until = new DateTimeOffset(2021, 3, 4, 0, 0, 0, TimeSpan.Zero) });
        Assert.Single(inside.Findings);
    }

    [Fact]
    public void CoverageAndServerFactsComeFromTheLog()
    {
        var run = ScanLines(
            new Dictionary<string, string> { ["DateTime"] = "2021-03-01T00:00:01Z", ["ServerHostName"] = "EXCH01" },
            new Dictionary<string, string> { ["DateTime"] = "2021-03-03T23:59:59Z" });
        var fam = run.Coverage.Families["HttpProxy/Ecp"];
        Assert.Equal(1, fam.Files);
        Assert.Equal(new DateTimeOffset(2021, 3, 1, 0, 0, 1, TimeSpan.Zero), fam.First);
        Assert.Equal(new DateTimeOffset(2021, 3, 3, 23, 59, 59, TimeSpan.Zero), fam.Last);
        Assert.Equal(7, fam.Lines);
        Assert.Equal("EXCH01", run.Context.Host);
        Assert.Equal("15.01.2176.002", run.Context.ExchangeBuild);
        Assert.Equal("Program Files/Microsoft/Exchange Server/V15", run.Context.InstallPath);
    }
}
