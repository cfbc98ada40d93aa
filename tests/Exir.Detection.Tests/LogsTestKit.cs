using System.Text;
using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Core.Findings;
using Exir.Core;
using Exir.Detection.Logs;
using Exir.Logs;
using Exir.Pipeline;
using Exir.Tests;

namespace Exir.Detection.Tests;

/// <summary>Runs the log rules over one synthetic file through the real record pipeline.</summary>
internal static class LogsTestKit
{
    public const string HttpProxyFields = LogFixtureText.HttpProxyFields;

    public const string HttpProxyFieldsE2013 = LogFixtureText.HttpProxyFieldsE2013;

    public const string IisFields = LogFixtureText.IisFields;

    public static string HttpProxyHeader(string fields = HttpProxyFields, string version = "15.01.2176.002") => LogFixtureText.HttpProxyHeader(fields, version);

    public static string HttpProxyLine(Dictionary<string, string> values, string fields = HttpProxyFields)
    {
        values.TryAdd("DateTime", "2021-03-03T05:12:33.123Z");
        values.TryAdd("RequestId", "5e58f5e5-1ddc-48d3-82c6-0199bc121640");
        values.TryAdd("ServerHostName", "EXCH01");
        values.TryAdd("ClientIpAddress", "203.0.113.66");
        return string.Join(',', fields.Split(',').Select(n => values.TryGetValue(n, out var v) ? Csv(v) : "")) + "\r\n";
    }

    public static string Csv(string v) => LogFixtureText.Csv(v);

    public static string IisHeader(string fields = IisFields) => LogFixtureText.IisHeader(fields, "2021-03-03 00:00:00");

    /// <summary>An IIS line in the default field order; spaces in the user agent become '+', like IIS writes them.</summary>
    public static string IisLine(string method, string stem, string query = "-", int status = 200, string user = "-",
        string clientIp = "203.0.113.66", string userAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64)", string time = "05:12:33", int port = 443) =>
        $"2021-03-03 {time} 10.0.0.5 {method} {stem} {query} {port} {user} {clientIp} {userAgent.Replace(' ', '+')} - {status} 0 0 15\r\n";

    public const string EcpHeader = "#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n#Log-type: ECP Server Log\r\n#Date: 2021-03-03T00:01:18.223Z\r\n#Fields: TimeStamp,ServerName,EventId,EventData\r\n";

    public const string OabHeader = "#Software: Microsoft Exchange Server\r\n#Version: 15.01.2176.002\r\n#Log-type: OABGenerator Log\r\n#Date: 2021-03-03T00:00:00.000Z\r\n#Fields: Timestamp,ThreadId,Level,Organization,OabName,Message\r\n";

    public static string RulesDirectory => Path.Combine(TestPaths.RepoRoot, "rules");

    public sealed record Run(IReadOnlyList<Finding> Findings, RunContext Context)
    {
        public CoverageReport Coverage => Context.Coverage;
        public Finding Single(string ruleId) => Assert.Single(Findings, f => f.RuleId == ruleId);
        public IEnumerable<Finding> Of(string ruleId) => Findings.Where(f => f.RuleId == ruleId);
    }

    public static Run Scan(LogFormat format, string relativePath, string text, RunOptions? options = null) =>
        Scan(format, relativePath, new UTF8Encoding(false).GetBytes(text), options);

    /// <summary>Writes one log file and runs the real record pipeline with the log rules over it; the file must be recognised as <paramref name="format"/>.</summary>
    public static Run Scan(LogFormat format, string relativePath, byte[] content, RunOptions? options = null)
    {
        var dir = TestPaths.NewTempDir("exir-logs");
        try
        {
            var full = Path.Combine(dir, relativePath.Replace('/', Path.DirectorySeparatorChar));
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllBytes(full, content);
            var head = content.AsSpan(0, Math.Min(content.Length, 64 * 1024));
            Assert.Equal(format, LogFormatSniffer.Sniff(head, relativePath));
            using var source = new DirectoryEvidenceSource(dir, EvidenceLimits.Default);
            return RunPipeline(source, options);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>The log rules on the record pipeline over any evidence source (one worker, so tests are deterministic).</summary>
    public static Run RunPipeline(IEvidenceSource source, RunOptions? options = null)
    {
        options ??= new RunOptions { RulesDirectory = RulesDirectory };
        var problems = new CoverageReport();
        var rules = LogRuleSet.Load(new DataFiles("rules", typeof(LogRuleSet).Assembly, options.RulesDirectory ?? RulesDirectory), problems);
        var pipeline = new RecordPipeline(new ArtifactClassifier([".aspx"]), [new LogRuleConsumer(rules)]);
        var context = pipeline.Run(source, options with { Parallelism = 1 });
        context.Coverage.AddFrom(problems);
        return new Run(context.Findings.ToList(), context);
    }

    /// <summary>An evidence source over files made in the test (streams that fail, sizes that lie).</summary>
    public sealed class ListEvidenceSource(params EvidenceFile[] files) : IEvidenceSource
    {
        public string Root => "test";
        public string Kind => "folder";
        public IEnumerable<EvidenceFile> EnumerateFiles(CoverageReport coverage, CancellationToken cancellationToken = default) => files;
        public void Dispose() { }
    }
}
