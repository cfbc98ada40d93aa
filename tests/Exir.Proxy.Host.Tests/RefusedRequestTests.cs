using System.Text;
using Exir.Proxy.AccessLog;
using Exir.Proxy.Host.Tests.Emulator;

namespace Exir.Proxy.Host.Tests;

/// <summary>
/// Requests the HTTP server refuses before the proxy's rules see them (they never reach the handler) are still in the
/// access log and findings, like every other refused request; a flood of them is bounded.
/// </summary>
public sealed class RefusedRequestTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(15);

    private static async Task<RawResponse?> SendRawAsync(Uri address, string request)
    {
        await using var raw = await RawHttpConnection.ConnectAsync(address);
        try
        {
            await raw.SendAsync(Encoding.Latin1.GetBytes(request));
            return await raw.ReadResponseAsync(Generous);
        }
        catch (IOException) { return null; }
    }

    private static List<string> LogLines(string dir) =>
        Directory.GetFiles(dir, "*.log").SelectMany(File.ReadAllLines).Where(l => l.Length > 0 && l[0] != '#').ToList();

    [Fact]
    public async Task Malformed_requests_refused_by_the_parser_are_logged_and_reported_with_client_reason_and_bytes()
    {
        var logDir = TestPaths.NewTempDir("exir-proxy-refused");
        var requests = new (string Request, int Status, string Quoted)[]
        {
            ("G<T /owa/?m=badmethod HTTP/1.1\r\nHost: mail.contoso.com\r\n\r\n", 400, "G<T /owa/?m=badmethod"),
            ("GET /owa/?m=obsfold HTTP/1.1\r\nHost: mail.contoso.com\r\nX-Folded: first\r\n second\r\n\r\n", 400, "second"),
            ("POST /owa/auth.owa?m=clte HTTP/1.1\r\nHost: mail.contoso.com\r\nContent-Length: 3\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 400, ""),
            ($"GET /owa/?m=big HTTP/1.1\r\nHost: mail.contoso.com\r\nCookie: {new string('A', 80 * 1024)}\r\n\r\n", 431, ""),
        };
        var findings = new List<Exir.Core.Findings.Finding>();
        string metrics;
        try
        {
            await using (var h = await ProxyHarness.StartAsync(new EmulatorOptions { RequireAuthentication = false }, o => o with { AccessLogDirectory = logDir }))
            {
                foreach (var (request, status, _) in requests)
                {
                    var response = await SendRawAsync(h.Address, request);
                    Assert.True(response is null || response.Status == status, response?.StatusLine);
                }
                Assert.Empty(h.Emulator.Requests);
                // Kestrel reports a refusal as the connection ends: give it a moment.
                await ExchangeEmulator.EventuallyAsync(() => h.Proxy.Findings.Added >= requests.Length, Generous);
                while (h.Proxy.Findings.Reader.TryRead(out var f)) findings.Add(f);
                metrics = h.Proxy.Metrics.Render();
            }

            Assert.Equal(requests.Length, findings.Count);
            Assert.All(findings, f =>
            {
                Assert.Equal(ProxyServer.RefusedRuleId, f.RuleId);
                Assert.Equal("127.0.0.1", f.ClientIp);
                Assert.False(string.IsNullOrEmpty(f.Evidence));
                Assert.True(DateTimeOffset.UtcNow - f.Timestamp < TimeSpan.FromMinutes(5));
            });
            foreach (var (_, status, quoted) in requests)
            {
                Assert.Contains(findings, f => f.Details!["status"] == status.ToString(System.Globalization.CultureInfo.InvariantCulture)
                                               && f.Evidence!.Contains(quoted, StringComparison.Ordinal));
            }
            Assert.Contains("exir_proxy_refused_by_parser_total{status=\"400\"} 3", metrics, StringComparison.Ordinal);
            Assert.Contains("exir_proxy_refused_by_parser_total{status=\"431\"} 1", metrics, StringComparison.Ordinal);

            var lines = LogLines(logDir);
            Assert.Equal(requests.Length, lines.Count);
            Assert.All(lines, l =>
            {
                var fields = l.Split(' ');
                Assert.Equal(W3cAccessLogWriter.FieldCount, fields.Length);
                Assert.Equal("127.0.0.1", fields[8]);
                Assert.Equal(AccessLogEntry.ActionToken(AccessLogAction.Reject), fields[^3]);
                Assert.Equal(ProxyServer.RefusedRuleId, fields[^2]);
            });
            Assert.Equal(1, lines.Count(l => l.Split(' ')[14] == "431"));
        }
        finally { Directory.Delete(logDir, recursive: true); }
    }

    [Fact]
    public async Task Headers_trickled_past_the_header_timeout_are_a_408_finding()
    {
        await using var h = await ProxyHarness.StartAsync(new EmulatorOptions { RequireAuthentication = false }, o => o with { HeaderTimeout = TimeSpan.FromSeconds(1) });
        await using (var raw = await RawHttpConnection.ConnectAsync(h.Address))
        {
            await raw.SendAsync("GET /owa/?m=slowloris HTTP/1.1\r\nHost: mail.contoso.com\r\n");
            Assert.True(await raw.IsClosedAsync(Generous), "the header timeout did not close the connection");
        }
        Assert.True(await ExchangeEmulator.EventuallyAsync(() => h.Proxy.Findings.Added >= 1, Generous));
        Assert.True(h.Proxy.Findings.Reader.TryRead(out var f));
        Assert.Equal(ProxyServer.RefusedRuleId, f!.RuleId);
        Assert.Equal("408", f.Details!["status"]);
        Assert.Equal("127.0.0.1", f.ClientIp);
        Assert.Empty(h.Emulator.Requests);
    }

    [Fact]
    public async Task A_flood_of_malformed_requests_is_logged_and_counted_but_its_findings_are_rate_limited()
    {
        var logDir = TestPaths.NewTempDir("exir-proxy-refused-flood");
        const int flood = 3 * ProxyServer.RefusalFindingsPerSecond;
        try
        {
            long findings, notReported;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            await using (var h = await ProxyHarness.StartAsync(new EmulatorOptions { RequireAuthentication = false }, o => o with { AccessLogDirectory = logDir }))
            {
                await Task.WhenAll(Enumerable.Range(0, flood).Select(i => SendRawAsync(h.Address, $"G<T /owa/?m=flood{i} HTTP/1.1\r\nHost: x\r\n\r\n")));
                await ExchangeEmulator.EventuallyAsync(() => h.Proxy.Findings.Added + h.Proxy.Metrics.RefusalsNotReported >= flood, Generous);
                findings = h.Proxy.Findings.Added;
                notReported = h.Proxy.Metrics.RefusalsNotReported;
                // The proxy still serves.
                var ok = await SendRawAsync(h.Address, "GET /autodiscover/autodiscover.json/v1.0/jdoe@contoso.com?Protocol=EWS HTTP/1.1\r\nHost: mail.contoso.com\r\n\r\n");
                Assert.Equal(200, ok!.Status);
            }
            // The limit holds per clock second: a run of 0.7 s can touch two of them.
            var seconds = (long)clock.Elapsed.TotalSeconds + 2;
            Assert.Equal(flood, findings + notReported);
            Assert.InRange(findings, 1, ProxyServer.RefusalFindingsPerSecond * seconds);
            Assert.True(notReported > 0 || seconds * ProxyServer.RefusalFindingsPerSecond >= flood, $"{findings} findings in {seconds} s");
            Assert.Equal(flood, LogLines(logDir).Count(l => l.Contains(ProxyServer.RefusedRuleId, StringComparison.Ordinal)));
        }
        finally { Directory.Delete(logDir, recursive: true); }
    }
}
