using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Core.Findings;
using Exir.Detection.Logs;
using Exir.Logs;
using Exir.Pipeline;
using Exir.Tests;
using static Exir.Detection.Tests.LogsTestKit;

namespace Exir.Detection.Tests;

/// <summary>The log part of the bundled sample (samples/exch01) tells the whole story, and the decoys stay quiet.</summary>
public class LogsSampleTests
{
    private const string Attacker = "203.0.113.77";

    private static (List<Finding> Findings, RunContext Context) ScanSample()
    {
        var root = Path.Combine(TestPaths.RepoRoot, "samples", "exch01");
        using var source = new DirectoryEvidenceSource(root, EvidenceLimits.Default);
        var run = RunPipeline(source);
        Assert.True(run.Coverage.Families.Values.Sum(f => f.Files) >= 11);
        return (run.Findings.ToList(), run.Context);
    }

    [Fact]
    public void TheProxyLogonChainIsFoundFromOneAttacker()
    {
        var (findings, context) = ScanSample();
        var ssrf = findings.Where(f => f.RuleId == "LOG-HTTPPROXY-SSRF" && f.ClientIp == Attacker).ToList();
        Assert.True(ssrf.Count(f => f.Outcome == Outcome.Success) >= 4);
        Assert.Contains(ssrf, f => f.Severity == Severity.Medium && f.Details["ssrf_path"].StartsWith("/autodiscover/"));
        Assert.Equal(Outcome.Success, Assert.Single(findings, f => f.RuleId == "LOG-HTTPPROXY-VDIR-RESET").Outcome);
        Assert.Contains("eval(Request[\"orange\"]", Assert.Single(findings, f => f.RuleId == "LOG-ECP-VDIR-PAYLOAD").Details["payload"]);
        Assert.EndsWith(@"aspnet_client\discover.aspx", Assert.Single(findings, f => f.RuleId == "LOG-OAB-FILE-WRITE").Details["temp_file"]);
        var shellUse = findings.Where(f => f.RuleId == "LOG-IIS-UNEXPECTED-SCRIPT" && f.ClientIp == Attacker).ToList();
        Assert.Equal(6, shellUse.Count);
        Assert.All(shellUse, f => Assert.Equal(Outcome.Success, f.Outcome));
        Assert.Contains(findings, f => f.RuleId == "LOG-IIS-PROXYLOGON-ECP" && f.Outcome == Outcome.Success);
        Assert.Contains(findings, f => f.RuleId == "LOG-IIS-DDI-VDIR" && f.Details["schema"] == "ResetOABVirtualDirectory" && f.Outcome == Outcome.Success);
        Assert.Contains(findings, f => f.RuleId == "LOG-WEB-CAMPAIGN-UA" && f.Details["UserAgent"].StartsWith("antSword"));
        Assert.Equal("EXCH01", context.Host);
        Assert.Equal("15.01.2176.002", context.ExchangeBuild);
        Assert.Equal("Program Files/Microsoft/Exchange Server/V15", context.InstallPath);
    }

    [Fact]
    public void ProxyShellAttemptAndScannersAreNotSuccesses()
    {
        var (findings, _) = ScanSample();
        var proxyShell = findings.Where(f => f.ClientIp == "198.51.100.200").ToList();
        Assert.NotEmpty(proxyShell);
        Assert.All(proxyShell, f => Assert.Equal(Outcome.Attempt, f.Outcome));
        Assert.Contains(proxyShell, f => f.RuleId == "LOG-WEB-PROXYSHELL");
        Assert.Equal(Outcome.Scan, Assert.Single(findings, f => f.RuleId == "LOG-HTTPPROXY-SSRF" && f.ClientIp == "192.0.2.50").Outcome);
        var shellScan = findings.Where(f => f.RuleId == "LOG-IIS-UNEXPECTED-SCRIPT" && f.ClientIp == "192.0.2.51").ToList();
        Assert.Equal(6, shellScan.Count);
        Assert.All(shellScan, f => Assert.Equal(Outcome.Scan, f.Outcome));
    }

    [Fact]
    public void DecoysProduceNoFinding()
    {
        var (findings, context) = ScanSample();
        Assert.DoesNotContain(findings, f => f.ClientIp is { } ip && ip.StartsWith("10.0."));
        Assert.DoesNotContain(findings, f => f.Evidence.Contains("autodiscover.json/v1.0"));
        Assert.DoesNotContain(findings, f => f.Evidence.Contains("Set-OwaVirtualDirectory"));
        Assert.DoesNotContain(findings, f => f.Evidence.Contains(@"ClientAccess\OAB\Temp"));
        Assert.Empty(context.Coverage.Issues.Where(i => i.Kind is IssueKind.Malformed or IssueKind.RuleSkipped or IssueKind.Unreadable));
        Assert.Equal(new DateOnly(2021, 3, 3), DateOnly.FromDateTime(context.Coverage.Families["IIS/W3SVC1"].First!.Value.UtcDateTime));
    }
}
