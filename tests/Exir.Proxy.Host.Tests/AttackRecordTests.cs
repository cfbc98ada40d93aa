using Exir.Proxy.AccessLog;
using Exir.Proxy.Host.Tests.Corpora;
using Exir.Proxy.Host.Tests.Emulator;

namespace Exir.Proxy.Host.Tests;

/// <summary>What the proxy keeps of the attack corpus: one finding per block, by a rule of the attack's wave, and one access-log line per request.</summary>
public sealed class AttackRecordTests
{
    [Fact]
    public async Task Every_blocked_attack_is_a_finding_of_its_wave_and_a_line_in_the_access_log()
    {
        var logDir = TestPaths.NewTempDir("exir-proxy-accesslog");
        var blocked = new List<ClientShape>();
        var sent = 0;
        var refusedByKestrel = new List<string>();
        List<Exir.Core.Findings.Finding> findings = [];
        await using (var h = await ProxyHarness.StartAsync(new EmulatorOptions { RequireAuthentication = false }, o => o with { AccessLogDirectory = logDir }))
        {
            foreach (var s in AttackShapes.All)
            {
                var (response, _) = await h.SendAsync(s, TimeSpan.FromSeconds(20));
                sent++;
                if (response?.Status == 403) blocked.Add(s);
                // Kestrel itself refuses a few targets (a decoded NUL) before the proxy's code sees them: 400 without the proxy's body.
                if (response?.Status == 400 && response.Body.Length == 0) refusedByKestrel.Add(s.Name);
            }
            Assert.Empty(h.Emulator.Requests);
            // Kestrel reports its refusals as their connections end.
            await ExchangeEmulator.EventuallyAsync(() => h.Proxy.Findings.Added >= blocked.Count + refusedByKestrel.Count, TimeSpan.FromSeconds(15));
            while (h.Proxy.Findings.Reader.TryRead(out var f)) findings.Add(f);
        }

        // Kestrel's refusals are findings of their own (RefusedRequestTests); a flood of them is rate-limited, this corpus is not one.
        Assert.Equal(refusedByKestrel.Count, findings.RemoveAll(f => f.RuleId == ProxyServer.RefusedRuleId));
        Assert.Equal(blocked.Count, findings.Count);
        for (var i = 0; i < blocked.Count; i++)
        {
            var own = CorpusPolicyTests.OwnRulePrefixes(blocked[i].Wave!);
            var rules = findings[i].Details!["rules"].Split(',');
            Assert.True(rules.Any(r => own.Any(p => r.StartsWith(p, StringComparison.Ordinal))), $"{blocked[i].Name}: {string.Join(",", rules)}");
            Assert.Equal("127.0.0.1", findings[i].ClientIp);
        }

        var lines = Directory.GetFiles(logDir, "*.log").SelectMany(File.ReadAllLines).Where(l => l.Length > 0 && l[0] != '#').ToList();
        // Only NUL targets are refused by Kestrel itself here; they are in the access log too.
        Assert.All(refusedByKestrel, n => Assert.StartsWith("AMB NUL", n));
        Assert.Equal(sent, lines.Count);
        Assert.Equal(blocked.Count, lines.Count(l => l.Contains($" {AccessLogEntry.ActionToken(AccessLogAction.Block)} ", StringComparison.Ordinal)));
    }
}
