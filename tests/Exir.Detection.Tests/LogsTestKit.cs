using System.Text;
using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Core.Findings;
using Exir.Detection.Logs;
using Exir.Detection.Pipeline;
using Exir.Tests;

namespace Exir.Detection.Tests;

/// <summary>Runs one log detector over one synthetic file, the way the scan pipeline does.</summary>
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

    public sealed record Run(IReadOnlyList<Finding> Findings, ScanContext Context)
    {
        public CoverageReport Coverage => Context.Coverage;
        public Finding Single(string ruleId) => Assert.Single(Findings, f => f.RuleId == ruleId);
        public IEnumerable<Finding> Of(string ruleId) => Findings.Where(f => f.RuleId == ruleId);
    }

    public static Run Scan(LogDetector detector, string relativePath, string text, ScanOptions? options = null) =>
        Scan(detector, relativePath, new UTF8Encoding(false).GetBytes(text), options);

    public static Run Scan(LogDetector detector, string relativePath, byte[] content, ScanOptions? options = null)
    {
        var dir = TestPaths.NewTempDir("exir-logs");
        try
        {
            var full = Path.Combine(dir, relativePath.Replace('/', Path.DirectorySeparatorChar));
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllBytes(full, content);
            using var source = new DirectoryEvidenceSource(dir, EvidenceLimits.Default);
            var coverage = new CoverageReport();
            var context = new ScanContext
            {
                Options = options ?? new ScanOptions { RulesDirectory = RulesDirectory },
                Coverage = coverage,
                Source = source,
            };
            var file = source.EnumerateFiles(coverage).Single();
            var probe = Probe(file, detector.Kind);
            Assert.True(detector.Wants(probe, context));
            detector.Inspect(probe, context);
            return new Run(context.Findings.ToList(), context);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    public static ArtifactProbe Probe(EvidenceFile file, ArtifactKind kind)
    {
        var head = new byte[Math.Min(file.Length, 64 * 1024)];
        try
        {
            using var s = file.OpenRead();
            s.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }
        catch (IOException) { head = []; }
        return new ArtifactProbe { File = file, Kind = kind, Head = head };
    }
}
