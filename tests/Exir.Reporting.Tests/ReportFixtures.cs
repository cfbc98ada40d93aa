using Exir.Core.Coverage;
using Exir.Core.Findings;

namespace Exir.Reporting.Tests;

/// <summary>A scan result whose evidence is hostile in every medium: markup, formulas, terminal escapes.</summary>
internal static class ReportFixtures
{
    public const string ScriptUserAgent = "<script>document.title='PWNED'</script><img src=x onerror=\"document.title='PWNED2'\">";
    public const string Formula = "=HYPERLINK(\"http://evil/\",\"click\")";
    public const string TerminalEscape = "\u001b]0;owned\u0007\u001b[2J\u001b[31mred";

    public static ScanResult Hostile()
    {
        var coverage = new CoverageReport();
        var fam = coverage.Family("HttpProxy/Ecp");
        fam.AddFile(1234);
        var t = new DateTimeOffset(2021, 3, 3, 5, 42, 1, 123, TimeSpan.Zero);
        fam.AddSpan(100, 2, t.AddDays(-10), t, [DateOnly.FromDateTime(t.UtcDateTime)]);
        coverage.AddIssue(IssueKind.Malformed, "<b>bad</b>.log", "line 3: <i>oops</i>");
        coverage.CheckNotRun("CVE-2021-26857", "no Application log");
        coverage.FileHashes["logs/a.log"] = new string('a', 64);
        var findings = new List<Finding>
        {
            new()
            {
                RuleId = "exir.http.ssrf", Title = "SSRF <title>", Severity = Severity.Critical, Outcome = Outcome.Success,
                Cves = ["CVE-2021-26855"], Attack = ["T1190"], Host = "EXCH01", Artifact = "logs/<a>.log", Line = 42, Timestamp = t,
                ClientIp = "203.0.113.7", Evidence = "GET /ecp/y.js UA=" + ScriptUserAgent,
                Details = new Dictionary<string, string> { ["user_agent"] = ScriptUserAgent, ["cell"] = Formula },
                Incident = "INC-001", Explanation = "why <u>", References = ["javascript:alert(1)"],
            },
            new()
            {
                RuleId = "FILE-X", Title = Formula, Severity = Severity.Low, Outcome = Outcome.Indicator,
                Artifact = "-cmd|' /C calc'!A0", Evidence = TerminalEscape + "\r\n+SUM(1)", Details = new Dictionary<string, string>(),
            },
        };
        var verdict = new Verdict(VerdictKind.Compromised, "Compromised <b>", "reason " + ScriptUserAgent, "caveat");
        return new ScanResult
        {
            Findings = findings,
            Incidents = [new Incident("INC-001", ["203.0.113.7"], t, t, Severity.Critical, Outcome.Success, ["CVE-2021-26855"], "step <script>x</script>", 1)],
            Verdict = verdict,
            Hosts =
            [
                new HostResult
                {
                    HostId = HostIds.For("EXCH01"), Name = "EXCH01", Evidence = new EvidenceRoot("/evidence", "folder", null), Verdict = verdict, Coverage = coverage,
                    FindingCount = findings.Count,
                    PatchStatus = new PatchStatus { Build = "15.1.2176.2", Product = "Exchange Server 2016", Cu = "CU19", Precision = "su", Source = "ExSetup.exe <b>", Action = "patch", ActionText = "install =cmd" },
                },
            ],
            NextSteps = ["Disconnect <now>"],
            Provenance = new Provenance
            {
                Tool = "exir", ToolVersion = "0.1.0", Command = "exir scan x", Input = "/evidence", InputKind = "folder",
                RulesOrigin = "rules", RulesVersion = "3 files, sha256:abc", StartedUtc = t, FinishedUtc = t,
            },
        };
    }
}
