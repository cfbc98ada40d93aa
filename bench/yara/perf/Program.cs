// Usage: perf RULEFILE... DIR
// Prints total scan time over every file of DIR (files read up front), then the time per rule (each rule compiled
// alone), slowest first.
using System.Diagnostics;
using System.Text.RegularExpressions;
using Exir.Yara;

var dir = args[^1];
var ruleFiles = args[..^1];
var files = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Select(File.ReadAllBytes).ToList();

YaraRules Compile(string src, string origin)
{
    var c = new YaraCompiler();
    c.AddSource(src, origin);
    return c.Compile();
}

double Time(YaraRules r, out int hits)
{
    hits = 0;
    foreach (var f in files) hits += r.Scan(f).Count; // warm-up
    var sw = Stopwatch.StartNew();
    hits = 0;
    for (int k = 0; k < 3; k++) foreach (var f in files) hits += r.Scan(f).Count;
    return sw.Elapsed.TotalSeconds / 3;
}

var cold = Stopwatch.StartNew();
var all = new YaraCompiler();
foreach (var f in ruleFiles) all.AddFile(f);
var allRules = all.Compile();
Console.WriteLine($"compile: {cold.Elapsed.TotalSeconds:F3}s");
int coldHits = 0;
foreach (var f in files) coldHits += allRules.Scan(f).Count;
Console.WriteLine($"first pass (compile + cold scan): {cold.Elapsed.TotalSeconds:F3}s");
if (Environment.GetEnvironmentVariable("PERF_COLD_ONLY") == "1") return;
if (Environment.GetEnvironmentVariable("PERF_COLD") != "1")Console.WriteLine($"all: {Time(allRules, out int h):F3}s hits={h} files={files.Count} atoms={allRules.AtomCount}");

var rows = new List<(double, string, int)>();
foreach (var rf in ruleFiles)
{
    var text = File.ReadAllText(rf);
    // Split on top-level "rule NAME" declarations (team rules have no imports/includes).
    var starts = Regex.Matches(text, @"(?m)^(?:private\s+|global\s+)*rule\s+(\w+)").Select(m => (m.Index, m.Groups[1].Value)).ToList();
    for (int i = 0; i < starts.Count; i++)
    {
        var end = i + 1 < starts.Count ? starts[i + 1].Index : text.Length;
        var src = text[starts[i].Index..end];
        try
        {
            var sw = Stopwatch.StartNew();
            var r = Compile(src, rf);
            int hh = 0;
            // PERF_COLD=1: each rule's first pass (regex construction and automaton warm-up) instead of its steady cost.
            if (Environment.GetEnvironmentVariable("PERF_COLD") == "1") { foreach (var f in files) hh += r.Scan(f).Count; rows.Add((sw.Elapsed.TotalSeconds, starts[i].Value, hh)); }
            else rows.Add((Time(r, out hh), starts[i].Value, hh));
        }
        catch (Exception e) { Console.WriteLine($"{starts[i].Value}: {e.Message}"); }
    }
}
foreach (var (t, n, hh) in rows.OrderByDescending(r => r.Item1)) Console.WriteLine($"{t,8:F3}s {hh,5} {n}");
