using System.Diagnostics;
using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Detection.Logs;
using Exir.Detection.Pipeline;

// Usage: LogHarness <folder> [rules-folder] [--reader-only]
var root = args[0];
bool readerOnly = args.Contains("--reader-only");
long candidates = 0;
using var source = new DirectoryEvidenceSource(root, EvidenceLimits.Default);
var context = new ScanContext
{
    Options = new ScanOptions { RulesDirectory = args.Length > 1 ? args[1] : null },
    Coverage = new CoverageReport(),
    Source = source,
};
var detectors = LogDetectors.All();
var files = source.EnumerateFiles(context.Coverage).ToList();
var sw = Stopwatch.StartNew();
long bytes = 0;
Parallel.ForEach(files, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, file =>
{
    var head = new byte[64 * 1024];
    int n;
    using (var s = file.OpenRead()) n = s.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
    if (LogDetectors.Classify(head.AsSpan(0, n), file.RelativePath) is not { } kind) return;
    var probe = new ArtifactProbe { File = file, Kind = kind, Head = head.AsMemory(0, n) };
    if (readerOnly)
    {
        // Only the pre-filtered read: separates the reader's cost from the rules'.
        var format = Exir.Logs.LogFormatSniffer.Sniff(head.AsSpan(0, n), file.RelativePath)!.Value;
        var set = LogRuleSet.For(context);
        using var s = file.OpenRead();
        using var reader = new Exir.Logs.LogReader(s, format, new Exir.Logs.LogReaderOptions { Literals = set.Literals(format), IncludePercentLines = set.Decodes(format) });
        long c = 0;
        while (reader.Read()) c++;
        Interlocked.Add(ref candidates, c);
    }
    else
        foreach (var d in detectors)
            if (d.Wants(probe, context)) d.Inspect(probe, context);
    Interlocked.Add(ref bytes, file.Length);
});
sw.Stop();
var lines = context.Coverage.Families.Values.Sum(f => f.Lines);
if (readerOnly) Console.WriteLine($"reader only: {candidates:N0} candidate lines");
Console.WriteLine($"{bytes / 1e6:F0} MB, {lines:N0} lines in {sw.Elapsed.TotalSeconds:F2} s = {bytes / 1e6 / sw.Elapsed.TotalSeconds:F0} MB/s; {context.Findings.Count} findings; peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1e6:F0} MB");
foreach (var g in context.Findings.GroupBy(f => f.RuleId).OrderBy(g => g.Key)) Console.WriteLine($"  {g.Count(),6} {g.Key}");
