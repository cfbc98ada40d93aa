using System.Text;
using Exir.Core;
using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Core.Findings;
using Exir.Detection.Logs;
using Exir.Logs;
using Exir.Pipeline;
using Exir.Tests;
using static Exir.Detection.Tests.LogsTestKit;

namespace Exir.Detection.Tests;

public class LogsRobustnessTests
{
    private const string ProxyPath = "V15/Logging/HttpProxy/Owa/HttpProxy_2021030305-1.LOG";
    private static string Attack(string time = "2021-03-03T05:12:33.123Z") =>
        HttpProxyLine(new() { ["DateTime"] = time, ["AnchorMailbox"] = "ServerInfo~a]@EXCH01:444/ecp/y#", ["HttpStatus"] = "200" });

    [Fact]
    public void EveryShippedRuleLoads()
    {
        var coverage = new CoverageReport();
        var rules = LogRuleLoader.Load(new DataFiles("rules", typeof(LogRuleSet).Assembly, RulesDirectory), coverage);
        Assert.Empty(coverage.Issues.Where(i => i.Kind == IssueKind.RuleSkipped));
        Assert.True(rules.Count >= 15);
        Assert.All(rules, r => Assert.NotEmpty(r.Info.Explanation));
        Assert.All(rules, r => Assert.NotEmpty(r.Info.References));
    }

    [Fact]
    public void EmbeddedRulesMatchTheRulesFolder()
    {
        var embedded = new DataFiles("rules", typeof(LogRuleSet).Assembly, null);
        var coverage = new CoverageReport();
        Assert.Equal(LogRuleLoader.Load(new DataFiles("rules", typeof(LogRuleSet).Assembly, RulesDirectory), coverage).Count,
            LogRuleLoader.Load(embedded, coverage).Count);
    }

    [Fact]
    public void BrokenRulesAreSkippedOneByOneAndTheRestRun()
    {
        var dir = TestPaths.NewTempDir("exir-rules");
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "logs"));
            File.WriteAllText(Path.Combine(dir, "logs", "a.yaml"), """
                rules:
                  - id: GOOD
                    title: good
                    formats: [httpproxy]
                    literals: ["ServerInfo~"]
                    references: [x]
                    match: { field: AnchorMailbox, wildcard: "ServerInfo~*/*" }
                  - id: BAD-REGEX
                    title: bad
                    formats: [httpproxy]
                    literals: ["x"]
                    match: { field: AnchorMailbox, regex: "([unclosed" }
                  - id: BAD-FORMAT
                    title: bad
                    formats: [nginx]
                    literals: ["x"]
                    match: { field: AnchorMailbox, equals: x }
                  - id: NO-LITERALS
                    title: bad
                    formats: [iis]
                    match: { field: Stem, equals: x }
                """);
            File.WriteAllText(Path.Combine(dir, "logs", "b.yaml"), "rules: [ this is : not : yaml");
            var dataDir = Path.Combine(dir);
            var run = Scan(LogFormat.HttpProxy, ProxyPath, HttpProxyHeader() + Attack(), new RunOptions { RulesDirectory = dataDir });
            Assert.Equal("GOOD", Assert.Single(run.Findings).RuleId);
            var skipped = run.Coverage.Issues.Where(i => i.Kind == IssueKind.RuleSkipped).Select(i => i.Message).ToList();
            Assert.Contains(skipped, m => m.Contains("BAD-REGEX"));
            Assert.Contains(skipped, m => m.Contains("BAD-FORMAT") && m.Contains("nginx"));
            Assert.Contains(skipped, m => m.Contains("NO-LITERALS"));
            Assert.Contains(run.Coverage.Issues, i => i.Kind == IssueKind.RuleSkipped && i.Path.EndsWith("b.yaml"));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void UnreadableFileIsReportedNotThrown()
    {
        var file = new EvidenceFile("x/HttpProxy_1.LOG", 100, null, () => throw new UnauthorizedAccessException("denied"));
        var run = RunPipeline(new ListEvidenceSource(file));
        Assert.Contains(run.Coverage.Issues, i => i.Kind == IssueKind.Unreadable && i.Path == "x/HttpProxy_1.LOG");
        Assert.Empty(run.Findings);
    }

    [Fact]
    public void ReadErrorMidFileKeepsEarlierFindingsAndReportsTruncation()
    {
        var bytes = Encoding.UTF8.GetBytes(HttpProxyHeader() + Attack() + new string('x', 400_000));
        var file = new EvidenceFile("x/HttpProxy_1.LOG", bytes.Length, null, () => new FailingStream(bytes, 300_000));
        var run = RunPipeline(new ListEvidenceSource(file));
        Assert.Single(run.Findings);
        Assert.Contains(run.Coverage.Issues, i => i.Kind == IssueKind.Truncated && i.Message.Contains("read stopped"));
    }

    [Fact]
    public void MissingFieldsHeaderFallsBackToTheDefaultListAndSaysSo()
    {
        var text = "#Software: Microsoft Exchange Server\r\n#Log-type: HttpProxy Logs\r\n" + Attack();
        var run = Scan(LogFormat.HttpProxy, ProxyPath, text);
        var f = run.Single("LOG-HTTPPROXY-SSRF");
        Assert.Contains("default", f.Details["field_list"]);
        Assert.Contains(run.Coverage.Issues, i => i.Message.Contains("no #Fields header"));
    }

    [Fact]
    public void MissingFieldsHeaderWithUnknownColumnsIsCountedNotGuessed()
    {
        var text = "#Software: Microsoft Exchange Server\r\n#Log-type: HttpProxy Logs\r\n2021-03-03T05:00:00Z,ServerInfo~a]@EXCH01:444/ecp/y#,200\r\n";
        var run = Scan(LogFormat.HttpProxy, ProxyPath, text);
        Assert.Empty(run.Findings);
        Assert.Contains(run.Coverage.Issues, i => i.Kind == IssueKind.Malformed && i.Message.Contains("could not be read by field name"));
    }

    [Fact]
    public void Utf16LogIsScanned()
    {
        var text = HttpProxyHeader() + Attack();
        var bytes = Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes(text)).ToArray();
        var run = Scan(LogFormat.HttpProxy, ProxyPath, bytes);
        Assert.Equal(6, run.Single("LOG-HTTPPROXY-SSRF").Line);
    }

    [Fact]
    public void HugeLineAndBinaryJunkAreCountedAndTheAttackAfterThemFound()
    {
        var ms = new MemoryStream();
        ms.Write(Encoding.UTF8.GetBytes(HttpProxyHeader()));
        ms.Write(Encoding.UTF8.GetBytes("2021-03-03T05:00:00Z,ServerInfo~" + new string('A', 10 * 1024 * 1024) + "\r\n"));
        var junk = new byte[5000];
        new Random(11).NextBytes(junk);
        ms.Write(junk);
        ms.Write(Encoding.UTF8.GetBytes("\r\n" + Attack()));
        var run = Scan(LogFormat.HttpProxy, ProxyPath, ms.ToArray());
        var f = run.Single("LOG-HTTPPROXY-SSRF");
        Assert.True(f.Line > 7);
        var fam = run.Coverage.Families["HttpProxy/Owa"];
        Assert.True(fam.MalformedLines >= 2);
        Assert.Contains(run.Coverage.Issues, i => i.Kind == IssueKind.Malformed && i.Message.Contains("longer than the line limit"));
    }

    [Fact]
    public void ShiftedColumnsAreReportedWithTheFinding()
    {
        var line = Attack().TrimEnd() + ",extra,columns\r\n";
        var run = Scan(LogFormat.HttpProxy, ProxyPath, HttpProxyHeader() + line);
        var f = run.Single("LOG-HTTPPROXY-SSRF");
        Assert.Contains("columns", f.Details["column_mismatch"]);
        Assert.Contains(run.Coverage.Issues, i => i.Kind == IssueKind.Malformed);
    }

    [Fact]
    public void TruncatedFileStillYieldsItsLastLine()
    {
        var text = HttpProxyHeader() + Attack().TrimEnd();
        var run = Scan(LogFormat.HttpProxy, ProxyPath, text);
        Assert.Single(run.Findings);
        Assert.Contains(run.Coverage.Issues, i => i.Kind == IssueKind.Truncated);
    }
}
