using System.Text;
using System.Text.Json;
using Exir.Proxy.AccessLog;
using Exir.Tests;

namespace Exir.Cli.Tests;

/// <summary>
/// exir proxy's access log, as its writer produces it, is hunted by `exir scan` like an IIS log: the same requests
/// give the same findings as in an IIS W3C log, and the coverage names the proxy's log family.
/// </summary>
/// <remarks>Tier slow: spawns exir.</remarks>
[Trait("Tier", "slow")]
public class ProxyAccessLogScanTests
{
    private sealed record Req(int Second, string Method, string Target, string UserAgent, string? Cookie, int Status, AccessLogAction Action, string[] Rules);

    // The 2021-2022 waves as they reach a proxy, with what exir proxy would answer; and two ordinary requests.
    private static readonly Req[] Requests =
    [
        new(1, "GET", "/owa/auth/logon.aspx?url=https%3a%2f%2fmail.contoso.com%2fowa%2f&reason=0", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.124 Safari/537.36", null, 200, AccessLogAction.Forward, []),
        new(2, "POST", "/ecp/y.js", "ExchangeServicesClient/0.0.0.0", "X-BEResource=localhost/ecp/proxyLogon.ecp?a=~1942062522; X-AnonResource=true", 403, AccessLogAction.Block, ["PX-PL-BERESOURCE-COOKIE", "PX-PL-STATIC-SSRF", "PX-UA-CAMPAIGN-TOOL"]),
        new(3, "POST", "/ecp/proxyLogon.ecp", "python-requests/2.25.1", "X-BEResource=Administrator@EXCH01:444/ecp/proxyLogon.ecp?~1942062522", 403, AccessLogAction.Block, ["PX-PL-BERESOURCE-COOKIE", "PX-PL-PROXYLOGON-ECP"]),
        new(4, "POST", "/ecp/DDI/DDIService.svc/SetObject?schema=ResetOABVirtualDirectory&msExchEcpCanary=9mDq1Ff7tk2xQbWcN3vLhA0pZsYeR1jU", "python-requests/2.25.1", null, 404, AccessLogAction.NotFound, []),
        new(5, "POST", "/aspnet_client/system_web/discover.aspx", "antSword/v2.1", null, 403, AccessLogAction.Block, ["PX-WEBSHELL-ASPNET-CLIENT", "PX-UA-CAMPAIGN-TOOL"]),
        new(6, "GET", "/autodiscover/autodiscover.json?@evil.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.com", "python-requests/2.26.0", null, 403, AccessLogAction.Block, ["PX-PS-AUTODISCOVER-CONFUSION"]),
        new(7, "POST", "/autodiscover/autodiscover.json?@evil.com/%2550ow%2565rshell&Email=autodiscover/autodiscover.json%253F@evil.com", "python-requests/2.28.1", null, 403, AccessLogAction.Block, ["PX-PNS-AUTODISCOVER-POWERSHELL"]),
        new(8, "POST", "/owa/mastermailbox%40outlook.com/powershell", "ClientInfo", null, 403, AccessLogAction.Block, ["PX-OWASSRF-PATH"]),
        new(9, "POST", "/EWS/Exchange.asmx", "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.13901; Pro)", null, 200, AccessLogAction.Forward, []),
    ];

    private static readonly DateTimeOffset Day = new(2021, 3, 3, 2, 14, 0, TimeSpan.Zero);

    private static void WriteProxyLog(string folder)
    {
        using var w = new W3cAccessLogWriter(folder, new() { Version = "0.1.0" });
        foreach (var r in Requests)
        {
            w.Write(new AccessLogEntry
            {
                Time = Day.AddSeconds(r.Second), ServerIp = "192.0.2.10", Method = r.Method, RawTarget = r.Target, Port = 443,
                ClientIp = "203.0.113.77", HttpVersion = "HTTP/1.1", UserAgent = r.UserAgent, Cookie = r.Cookie, Host = "mail.contoso.com",
                Status = r.Status, BytesSent = 120, BytesReceived = 800, TimeTakenMs = 3, ForwardedFor = "203.0.113.77",
                Action = r.Action, Rules = r.Rules, Normalised = Uri.UnescapeDataString(r.Target),
            });
        }
        w.Dispose();
        Assert.Equal(Requests.Length, w.Written);
    }

    private static void WriteIisLog(string file)
    {
        var sb = new StringBuilder(LogFixtureText.IisHeader(
            "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs-version cs(User-Agent) cs(Cookie) cs(Referer) cs-host sc-status sc-substatus sc-win32-status sc-bytes cs-bytes time-taken"));
        foreach (var r in Requests)
        {
            int q = r.Target.IndexOf('?');
            string stem = q < 0 ? r.Target : r.Target[..q], query = q < 0 ? "-" : r.Target[(q + 1)..];
            sb.Append($"{Day.AddSeconds(r.Second):yyyy-MM-dd HH:mm:ss} 192.0.2.10 {r.Method} {stem} {query} 443 - 203.0.113.77 HTTP/1.1 ")
              .Append(r.UserAgent.Replace(' ', '+')).Append(' ').Append(r.Cookie?.Replace(' ', '+') ?? "-")
              .Append($" - mail.contoso.com {r.Status} 0 0 120 800 3\r\n");
        }
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.WriteAllText(file, sb.ToString());
    }

    private static (List<JsonElement> Findings, JsonElement Summary, string Stdout) Scan(string evidence)
    {
        var outDir = TestPaths.NewTempDir();
        var r = ExirProcess.Run("scan", evidence, "--no-progress", "--host", "EXCH01", "--out", outDir);
        Assert.True(r.ExitCode == 1, r.Stdout + r.Stderr);
        var findings = File.ReadAllLines(Path.Combine(outDir, "findings.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json"))).RootElement;
        return (findings, summary, r.Stdout);
    }

    private static string Key(JsonElement f) => string.Join(" | ",
        f.GetProperty("rule_id").GetString(), f.GetProperty("timestamp").GetString(), f.GetProperty("severity").GetString(),
        f.GetProperty("outcome").GetString(), f.GetProperty("line").ToString());

    [Fact]
    public void The_proxys_access_log_gives_the_findings_an_iis_log_of_the_same_requests_gives()
    {
        var proxyEvidence = TestPaths.NewTempDir("exir-proxylog");
        WriteProxyLog(Path.Combine(proxyEvidence, "proxy01"));
        Assert.True(File.Exists(Path.Combine(proxyEvidence, "proxy01", "exir-proxy_20210303.log")));
        var iisEvidence = TestPaths.NewTempDir("exir-iislog");
        WriteIisLog(Path.Combine(iisEvidence, "inetpub", "logs", "LogFiles", "W3SVC1", "u_ex210303.log"));

        var proxy = Scan(proxyEvidence);
        var iis = Scan(iisEvidence);

        var proxyRules = proxy.Findings.Select(f => f.GetProperty("rule_id").GetString()).ToHashSet();
        foreach (var id in new[] { "LOG-IIS-SSRF-RESOURCE", "LOG-IIS-PROXYLOGON-ECP", "LOG-IIS-DDI-VDIR", "LOG-IIS-UNEXPECTED-SCRIPT", "LOG-WEB-PROXYSHELL", "LOG-WEB-PROXYNOTSHELL", "LOG-WEB-OWASSRF", "LOG-WEB-CAMPAIGN-UA" })
            Assert.Contains(id, proxyRules);
        Assert.All(proxy.Findings, f => Assert.Equal("proxy01/exir-proxy_20210303.log", f.GetProperty("artifact").GetString()));
        Assert.All(proxy.Findings, f => Assert.Equal("iis", f.GetProperty("details").GetProperty("log_format").GetString()));

        // Same rules, lines (header blocks are four lines in both), times and grades.
        Assert.Equal(iis.Findings.Select(Key).Order(), proxy.Findings.Select(Key).Order());
        Assert.Equal(iis.Summary.GetProperty("verdict").GetProperty("label").GetString(), proxy.Summary.GetProperty("verdict").GetProperty("label").GetString());

        var families = proxy.Summary.GetProperty("coverage").GetProperty("log_families").EnumerateArray().ToList();
        var family = Assert.Single(families);
        Assert.Equal("exir proxy", family.GetProperty("family").GetString());
        Assert.Equal(1, family.GetProperty("files").GetInt32());
        Assert.Equal("2021-03-03T02:14:09Z", family.GetProperty("last").GetString());
        Assert.Contains("exir proxy", proxy.Stdout);
        Assert.Equal("IIS/W3SVC1", Assert.Single(iis.Summary.GetProperty("coverage").GetProperty("log_families").EnumerateArray()).GetProperty("family").GetString());
    }
}
