using System.Diagnostics;
using Exir.Core;
using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Detection.Logs;
using Exir.Pipeline;

// Usage: LogHarness <folder> [rounds] [rules-folder] [--reader]
// Runs only the log rules on the record pipeline (all cores), alternating the byte pre-filter and the text
// pre-filter (the reference) in the same process, and checks that both report the same findings and line counts.
// --reader: only the pre-filtered read, one thread (the reader's own cost per core; candidates are counted).
bool readerOnly = args.Contains("--reader");
args = args.Where(a => a != "--reader").ToArray();
var root = args[0];
int rounds = args.Length > 1 ? int.Parse(args[1]) : 3;
var rulesDir = args.Length > 2 ? args[2] : "rules"; // run from the repository root
var problems = new CoverageReport();
var rules = LogRuleSet.Load(new DataFiles("rules", typeof(LogRuleSet).Assembly, Path.GetFullPath(rulesDir)), problems);
long bytes = 0;
foreach (var f in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)) bytes += new FileInfo(f).Length;
var mb = bytes / 1e6;

(double Wall, double Cpu, string Result) Once(bool text) => readerOnly ? ReadOnly(text) : Pipeline(text);

(double Wall, double Cpu, string Result) ReadOnly(bool text)
{
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var sw = Stopwatch.StartNew();
    long candidates = 0, lines = 0;
    var head = new byte[64 * 1024];
    foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
    {
        using var s = File.OpenRead(file);
        int n = s.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (Exir.Logs.LogFormatSniffer.Sniff(head.AsSpan(0, n), file) is not { } format) continue;
        s.Position = 0;
        using var reader = new Exir.Logs.LogReader(s, format, new Exir.Logs.LogReaderOptions
            { Literals = rules.Literals(format), IncludePercentLines = rules.Decodes(format), LowerCase = true, SearchBytes = !text });
        while (reader.Read()) candidates++;
        lines += reader.Stats.Lines;
    }
    sw.Stop();
    return (sw.Elapsed.TotalSeconds, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds, $"{candidates:N0} candidates of {lines:N0} lines");
}

(double Wall, double Cpu, string Result) Pipeline(bool text)
{
    var pipeline = new RecordPipeline(new ArtifactClassifier([".aspx"]), [new LogRuleConsumer(rules)]);
    using var source = new DirectoryEvidenceSource(root, EvidenceLimits.Default);
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var sw = Stopwatch.StartNew();
    using var context = pipeline.Run(source, new RunOptions { LogTextPrefilter = text });
    sw.Stop();
    var used = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
    var findings = context.Findings.Select(f => $"{f.Artifact}:{f.Line}:{f.RuleId}:{f.Severity}:{f.Evidence}").Order(StringComparer.Ordinal).ToList();
    var lines = context.Coverage.Families.Values.Sum(f => f.Lines);
    var malformed = context.Coverage.Families.Values.Sum(f => f.MalformedLines);
    return (sw.Elapsed.TotalSeconds, used, $"{findings.Count} findings, {lines:N0} lines, {malformed} malformed; digest {string.Join("\n", findings).GetHashCode():x8}");
}

Console.WriteLine($"{mb:F0} MB under {root}; {Environment.ProcessorCount} cores; {rules.Rules.Count} rules");
Once(false); Once(true); // warm-up (JIT tiers)
var ratios = new List<double>();
string? reference = null;
for (int r = 0; r < rounds; r++)
{
    // Alternate which goes first, so drift in the machine's load falls on both alike.
    var order = r % 2 == 0 ? new[] { false, true } : [true, false];
    var results = order.ToDictionary(t => t, Once);
    var (b, t) = (results[false], results[true]);
    reference ??= t.Result;
    if (b.Result != t.Result || t.Result != reference) { Console.WriteLine($"DIFFERENT RESULTS\n  bytes: {b.Result}\n  text:  {t.Result}"); Environment.Exit(1); }
    ratios.Add(t.Cpu / b.Cpu);
    Console.WriteLine($"round {r + 1}: bytes {b.Wall:F2} s wall {mb / b.Wall:F0} MB/s, {b.Cpu:F2} CPU-s {mb / b.Cpu:F0} MB/CPU-s | text {t.Wall:F2} s wall {mb / t.Wall:F0} MB/s, {t.Cpu:F2} CPU-s {mb / t.Cpu:F0} MB/CPU-s");
}
ratios.Sort();
Console.WriteLine($"same results both ways: {reference}");
Console.WriteLine($"median CPU ratio text/bytes: {ratios[ratios.Count / 2]:F2}x; peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1e6:F0} MB");
