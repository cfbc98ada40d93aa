using Exir.Tests;
using Xunit.Sdk;

namespace Exir.Detection.Tests;

/// <summary>
/// Quality of the built-in rules on the shared web-shell corpus (LABELS.tsv), through the real managed
/// engine and the detector (so UTF-16 pages are decoded as in a scan). The floors are what the rules
/// reach today; a rule change that loses a shell or flags a benign page fails here.
/// </summary>
/// <remarks>Tier slow: spawns processes, browsers or reference tools, or reads whole corpora; left out of scripts/test.sh --fast.</remarks>
[Trait("Tier", "slow")]
public sealed class FilesCorpusTests(ITestOutputHelper output)
{
    // Measured 2026-12-03 (issue 13: capability rules, normalisation pass): 281 of 287 shells found, 0 of 880 benign
    // files flagged. Any new miss or any false alarm fails here.
    private const int RecallFloor = 281;
    private const int FalseAlarmCeiling = 0;

    private sealed record Row(string Path, string Label, string Family);

    /// <summary>The capability families of docs/webshells.md (meta capability of every built-in rule).</summary>
    private static readonly HashSet<string> Capabilities =
    [
        "command-exec", "code-eval", "file-upload", "file-manager", "db-client", "tunnel", "capture", "credential-access",
        "recon", "persistence", "concealment", "multi", "banner",
    ];

    private static List<Row> Labels()
    {
        var dir = TestPaths.InCorpus("webshells");
        return File.ReadLines(Path.Combine(dir, "LABELS.tsv")).Skip(1)
            .Select(l => l.Split('\t'))
            .Where(f => f.Length > 3)
            .Select(f => new Row(f[0], f[1], f[2]))
            .ToList();
    }

    /// <summary>The file hunt's findings for every corpus file, scanned once for all the facts here.</summary>
    private static readonly Lazy<(Dictionary<string, IReadOnlyList<Exir.Core.Findings.Finding>> Findings, long Ms)> Scanned = new(() =>
    {
        var dir = TestPaths.InCorpus("webshells");
        // Deep: corpus files sit outside web folders and some have no web extension (OAB export, web.config).
        var detector = FilesTestSupport.Detector(new Exir.Pipeline.RunOptions { Deep = true, Parallelism = 1 });
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var all = new Dictionary<string, IReadOnlyList<Exir.Core.Findings.Finding>>(StringComparer.Ordinal);
        foreach (var row in Labels())
            all[row.Path] = FilesTestSupport.InspectBytes(detector, row.Path, File.ReadAllBytes(Path.Combine(dir, row.Path)));
        return (all, clock.ElapsedMilliseconds);
    });

    [Fact]
    public void Built_in_rules_find_the_shells_and_flag_no_benign_page()
    {
        Assert.SkipUnless(TestPaths.HasShared, "shared corpus not available");
        var (all, ms) = Scanned.Value;
        var missed = new List<Row>();
        var falseAlarms = new List<string>();
        var byFamily = new SortedDictionary<string, (int Found, int Total)>(StringComparer.Ordinal);
        int found = 0, malicious = 0;
        foreach (var row in Labels())
        {
            var findings = all[row.Path];
            var yara = findings.Where(f => f.RuleId.StartsWith("yara:", StringComparison.Ordinal)).ToList();
            if (row.Label == "malicious")
            {
                malicious++;
                bool hit = yara.Count > 0;
                if (hit) found++; else missed.Add(row);
                var (f, t) = byFamily.GetValueOrDefault(row.Family);
                byFamily[row.Family] = (f + (hit ? 1 : 0), t + 1);
            }
            else if (findings.Count > 0)
            {
                falseAlarms.Add($"{row.Path}: {string.Join(", ", findings.Select(x => x.RuleId))}");
            }
        }
        output.WriteLine($"recall {found}/{malicious}, false positives {falseAlarms.Count}, scan {ms} ms");
        foreach (var (family, (f, t)) in byFamily) output.WriteLine($"  {family,-28} {f}/{t}");
        foreach (var m in missed) output.WriteLine($"  missed: {m.Path}");
        foreach (var fa in falseAlarms) output.WriteLine($"  false alarm: {fa}");
        Assert.True(falseAlarms.Count <= FalseAlarmCeiling, $"{falseAlarms.Count} benign pages flagged (ceiling {FalseAlarmCeiling}): {string.Join("; ", falseAlarms)}");
        Assert.True(found >= RecallFloor, $"recall fell to {found}/{malicious} (floor {RecallFloor}); missed: {string.Join(", ", missed.Select(m => m.Path))}");
    }

    /// <summary>
    /// Right reason: every malicious corpus file has a row in webshell-expectations.tsv naming the capability families
    /// that must fire on it; a hit by a rule of another capability (or a tool banner) does not stand in for them.
    /// </summary>
    [Fact]
    public void Each_shell_is_found_by_the_capability_it_has()
    {
        Assert.SkipUnless(TestPaths.HasShared, "shared corpus not available");
        var expected = File.ReadLines(Path.Combine(TestPaths.RepoRoot, "tests", "Exir.Detection.Tests", "webshell-expectations.tsv"))
            .Where(l => l.Length > 0 && !l.StartsWith('#')).Skip(1)
            .Select(l => l.Split('\t'))
            .ToDictionary(f => f[0], f => (Sha256: f[1], Capabilities: f[3] == "-" ? [] : f[3].Split(',')), StringComparer.Ordinal);
        var (all, _) = Scanned.Value;
        var sha = File.ReadLines(Path.Combine(TestPaths.InCorpus("webshells"), "LABELS.tsv")).Skip(1)
            .Select(l => l.Split('\t')).Where(f => f.Length > 4).ToDictionary(f => f[0], f => f[4], StringComparer.Ordinal);
        var problems = new List<string>();
        int checkedFiles = 0, checkedCapabilities = 0;
        foreach (var row in Labels().Where(r => r.Label == "malicious"))
        {
            if (!expected.TryGetValue(row.Path, out var e)) { problems.Add($"{row.Path}: no row in webshell-expectations.tsv"); continue; }
            if (!string.Equals(e.Sha256, sha[row.Path], StringComparison.OrdinalIgnoreCase)) { problems.Add($"{row.Path}: sha256 differs from the corpus (file changed?)"); continue; }
            var fired = all[row.Path]
                .Where(f => f.RuleId.StartsWith("yara:", StringComparison.Ordinal))
                .Select(f => f.Details.GetValueOrDefault("meta.capability"))
                .Where(c => c is not null && c != "banner")
                .ToHashSet(StringComparer.Ordinal);
            checkedFiles++;
            foreach (var c in e.Capabilities)
            {
                checkedCapabilities++;
                if (!fired.Contains(c))
                    problems.Add($"{row.Path}: expected capability {c}, fired: {(fired.Count == 0 ? "none" : string.Join(",", fired.Order()))}");
            }
        }
        output.WriteLine($"{checkedFiles} shells, {checkedCapabilities} expected capabilities checked");
        foreach (var p in problems) output.WriteLine("  " + p);
        Assert.True(problems.Count == 0, $"{problems.Count} right-reason failures: {string.Join("; ", problems.Take(20))}");
    }

    [Fact]
    public void Built_in_rules_match_exactly_what_the_real_yara_matches()
    {
        Assert.SkipUnless(TestPaths.HasShared, "shared corpus not available");
        var yaraBin = new[] { "/usr/bin/yara", "/usr/local/bin/yara" }.FirstOrDefault(File.Exists);
        Assert.SkipWhen(yaraBin is null, "yara not installed (scripts/test.sh installs it)");
        var dir = TestPaths.InCorpus("webshells");
        var ruleFiles = Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "rules", "yara"), "*.yar").Order(StringComparer.Ordinal).ToList();
        var psi = new System.Diagnostics.ProcessStartInfo(yaraBin!) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir };
        psi.ArgumentList.Add("-w");
        psi.ArgumentList.Add("-r");
        foreach (var f in ruleFiles) psi.ArgumentList.Add(f);
        psi.ArgumentList.Add(".");
        using var p = System.Diagnostics.Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        var oracle = p.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ', 2)).Select(x => $"{x[1].TrimStart('.', '/')}\t{x[0]}")
            // the samples only (the corpus README names the tools whose banners the rules know)
            .Where(x => x.StartsWith("benign/", StringComparison.Ordinal) || x.StartsWith("malicious/", StringComparison.Ordinal))
            .ToHashSet(StringComparer.Ordinal);
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, err.Result);

        var rules = FilesTestSupport.BuiltInRules;
        var ours = new HashSet<string>(StringComparer.Ordinal);
        foreach (var row in Labels())
        {
            var bytes = File.ReadAllBytes(Path.Combine(dir, row.Path));
            // The raw scan only: the real yara does not see the normalised text.
            foreach (var m in rules.ScanRaw(bytes.AsSpan(), new Exir.Detection.Files.FileFacts(Path.GetFileName(row.Path), row.Path, ""), []))
                ours.Add($"{row.Path}\t{m.Rule}");
        }
        Assert.Equal(oracle.Order(StringComparer.Ordinal), ours.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Every_built_in_rule_compiles_and_carries_the_required_metadata()
    {
        var rules = FilesTestSupport.BuiltInRules;
        Assert.Empty(rules.Problems);
        Assert.True(rules.RuleCount >= 30, $"only {rules.RuleCount} built-in rules compiled");
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var r in rules.Compiled.Rules)
        {
            foreach (var key in new[] { "id", "title", "severity", "description", "attack", "references", "capability", "request_input" })
                Assert.True(r.Meta.ContainsKey(key) && r.Meta[key].Length > 0, $"{r.Name}: meta '{key}' missing");
            Assert.True(ids.Add(r.Meta["id"]), $"{r.Name}: duplicate id {r.Meta["id"]}");
            Assert.True(Exir.Core.Findings.SeverityNames.TryParseSeverity(r.Meta["severity"], out _), $"{r.Name}: bad severity");
            Assert.True(Capabilities.Contains(r.Meta["capability"]), $"{r.Name}: capability '{r.Meta["capability"]}' is not one of docs/webshells.md");
            Assert.True(r.Meta["request_input"] is "required" or "not required", $"{r.Name}: request_input must be 'required' or 'not required'");
        }
    }
}
