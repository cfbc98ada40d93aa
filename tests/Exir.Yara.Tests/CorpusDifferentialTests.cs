using System.Text;
using Exir.Tests;
using Exir.Yara;

namespace Exir.Yara.Tests;

/// <summary>
/// The public Exchange/ASP.NET web-shell rule sets over the web-shell corpus, against the recorded run of
/// Debian's yara 4.2.3 (YARA-BASELINE.tsv and YARA-BASELINE-strings.txt): same (file, rule) pairs and the same
/// -s string matches, for every rule exir accepts.
/// </summary>
/// <remarks>Tier slow: spawns processes, browsers or reference tools, or reads whole corpora; left out of scripts/test.sh --fast.</remarks>
[Trait("Tier", "slow")]
public class CorpusDifferentialTests(ITestOutputHelper output)
{
    private static string RulesDir => TestPaths.InCorpus("yara-rules");
    private static string ShellsDir => TestPaths.InCorpus("webshells");

    private static readonly Lazy<(YaraRules Rules, YaraCompiler Compiler)> Loaded = new(() =>
    {
        var c = new YaraCompiler();
        foreach (var f in Directory.EnumerateFiles(RulesDir, "*.yar", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            // One namespace per file, named like the baseline names rule files.
            var rel = Path.GetRelativePath(RulesDir, f).Replace('\\', '/');
            c.AddFile(f, rel);
        }
        return (c.Compile(), c);
    });

    private static void RequireCorpus()
    {
        if (!TestPaths.HasShared) Assert.Skip("shared corpus not present");
    }

    private static Dictionary<string, HashSet<string>> Baseline()
    {
        var map = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(Path.Combine(ShellsDir, "YARA-BASELINE.tsv")).Skip(1))
        {
            var f = line.Split('\t');
            if (f.Length < 5) continue;
            map[f[0]] = f[4].Length == 0 ? [] : f[4].Split(';').ToHashSet(StringComparer.Ordinal);
        }
        return map;
    }

    [Fact]
    public void Accepts_nearly_all_rules_and_names_every_skipped_one()
    {
        RequireCorpus();
        var (rules, c) = Loaded.Value;
        var skipped = c.Diagnostics.Where(d => d.Rule is not null).ToList();
        output.WriteLine($"accepted {rules.Rules.Count} rules, skipped {skipped.Count}, file errors {c.Diagnostics.Count(d => d.Rule is null && d.IsError)}");
        foreach (var d in skipped) output.WriteLine(d.ToString());
        Assert.DoesNotContain(c.Diagnostics, d => d.IsError);
        Assert.True(rules.Rules.Count >= 1000, $"only {rules.Rules.Count} rules accepted");
        Assert.True(skipped.Count <= 10, $"{skipped.Count} rules skipped");
        Assert.All(skipped, d => Assert.StartsWith("unsupported: ", d.Message));
    }

    [Fact]
    public void Same_file_rule_pairs_as_yara()
    {
        RequireCorpus();
        var (rules, _) = Loaded.Value;
        var accepted = rules.Rules.Select(r => r.Namespace + ":" + r.Name).ToHashSet(StringComparer.Ordinal);
        var baseline = Baseline();
        Assert.True(baseline.Count > 250);
        var mismatches = new List<string>();
        int pairs = 0;
        foreach (var (rel, expectedAll) in baseline)
        {
            var expected = expectedAll.Where(accepted.Contains).ToHashSet();
            var actual = rules.ScanFile(Path.Combine(ShellsDir, rel)).Select(m => m.Rule.Namespace + ":" + m.Rule.Name).ToHashSet();
            pairs += actual.Count;
            if (!actual.SetEquals(expected))
                mismatches.Add($"{rel}: only yara [{string.Join(", ", expected.Except(actual))}] only exir [{string.Join(", ", actual.Except(expected))}]");
        }
        output.WriteLine($"{baseline.Count} files, {pairs} (file, rule) pairs");
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
        Assert.True(pairs > 300);
    }

    [Fact]
    public void Same_pairs_with_per_file_external_variables()
    {
        RequireCorpus();
        var (rules, _) = Loaded.Value;
        var baseline = Baseline();
        var mismatches = new List<string>();
        foreach (var (rel, expected) in baseline)
        {
            var path = Path.Combine(ShellsDir, rel);
            var ext = new Dictionary<string, object>
            {
                ["filename"] = Path.GetFileName(path), ["filepath"] = Path.GetDirectoryName(path)!, ["extension"] = Path.GetExtension(path),
            };
            var actual = rules.ScanFile(path, externals: ext).Select(m => m.Rule.Namespace + ":" + m.Rule.Name).ToHashSet();
            // The README records that per-file externals do not change yara's result on this corpus.
            if (!actual.SetEquals(expected.Where(e => rules.Rules.Any(r => r.Namespace + ":" + r.Name == e))))
                mismatches.Add(rel);
        }
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    [Fact]
    public void Same_string_matches_as_yara_dash_s()
    {
        RequireCorpus();
        var (rules, _) = Loaded.Value;
        var expected = ParseBlocks(File.ReadLines(Path.Combine(ShellsDir, "YARA-BASELINE-strings.txt"), Encoding.Latin1), stripDot: true);
        var actual = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var rel in Baseline().Keys)
        {
            var sb = new StringBuilder();
            foreach (var m in rules.ScanFile(Path.Combine(ShellsDir, rel)))
            {
                // The baseline names rules "rulefile:rule" and paths "./rel".
                var renamed = m with { Rule = m.Rule with { Name = m.Rule.Namespace + ":" + m.Rule.Name } };
                YaraText.AppendMatch(sb, renamed, "./" + rel, printStrings: true);
            }
            foreach (var (k, v) in ParseBlocks(sb.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries), stripDot: true)) actual[k] = v;
        }
        var diffs = new List<string>();
        foreach (var key in expected.Keys.Union(actual.Keys).Order(StringComparer.Ordinal))
        {
            expected.TryGetValue(key, out var e);
            actual.TryGetValue(key, out var a);
            e ??= []; a ??= [];
            if (!e.Order(StringComparer.Ordinal).SequenceEqual(a.Order(StringComparer.Ordinal)))
                diffs.Add($"{key}: yara {e.Count} lines, exir {a.Count}; first only-yara: {e.Except(a).FirstOrDefault()} first only-exir: {a.Except(e).FirstOrDefault()}");
        }
        output.WriteLine($"{expected.Count} rule/file blocks, {expected.Values.Sum(v => v.Count)} string lines");
        Assert.True(diffs.Count == 0, string.Join("\n", diffs.Take(20)));
    }

    private static Dictionary<string, List<string>> ParseBlocks(IEnumerable<string> lines, bool stripDot)
    {
        var blocks = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        List<string>? cur = null;
        foreach (var line in lines)
        {
            if (line.StartsWith("0x", StringComparison.Ordinal) && cur is not null) { cur.Add(line); continue; }
            int sp = line.IndexOf(' ');
            if (sp < 0) continue;
            var path = line[(sp + 1)..];
            if (stripDot && path.StartsWith("./", StringComparison.Ordinal)) path = path[2..];
            var key = line[..sp] + " " + path;
            blocks[key] = cur = [];
        }
        return blocks;
    }
}
