using System.Text;
using System.Text.Json;
using Exir.Tests;

namespace Exir.Yara.Tests;

/// <summary>
/// YARA's own test suite (VirusTotal/yara tests/*.c, extracted by scripts/extract-yara-suite.py into
/// yara-suite/*.jsonl with the result of Debian's yara 4.2.3 per case): every case runs on exir's engine. The test
/// prints the pass share per upstream file next to yara 4.2.3's and fails when exir's share on a file is below
/// yara's (unless the file is listed in yara-suite/behind.tsv with a reason), or when a case fails that is not
/// listed with its feature and reason in yara-suite/known-failures.tsv.
/// </summary>
public class YaraSuiteTests(ITestOutputHelper output)
{
    internal static string SuiteDir => Path.Combine(TestPaths.RepoRoot, "tests", "Exir.Yara.Tests", "yara-suite");

    internal sealed record Case(string Id, string File, int Line, string Expect, string Rule, byte[]? Data, string? DataFile,
        string? Capture, int Count, int Warnings, string? YaraResult);

    internal sealed record Outcome(bool Pass, string Why);

    internal static IEnumerable<Case> LoadCases()
    {
        foreach (var path in Directory.GetFiles(SuiteDir, "*.jsonl").Order(StringComparer.Ordinal))
            foreach (var line in File.ReadLines(path))
            {
                if (line.Length == 0) continue;
                var e = JsonDocument.Parse(line).RootElement;
                if (e.TryGetProperty("skip", out _)) continue;
                string? S(string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
                int I(string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : 0;
                var yara = e.TryGetProperty("yara", out var y) ? y.GetProperty("result").GetString() : null;
                yield return new Case(S("id")!, S("file")!, I("line"), S("expect")!, S("rule")!,
                    S("data") is { } d ? Encoding.Latin1.GetBytes(d) : null, S("data_file"), S("capture"), I("count"), I("warnings"), yara);
            }
    }

    /// <summary>The external variables YARA's test helper (util.c compile_rule) declares.</summary>
    private static readonly (string Name, object Value)[] TestExternals =
        [("var_zero", 0L), ("var_one", 1L), ("var_true", true), ("var_false", false)];

    internal static Outcome Run(Case c, string yaraTestsTop)
    {
        try { return RunUnguarded(c, yaraTestsTop); }
        catch (Exception e) { return new Outcome(false, $"exception {e.GetType().Name}: {e.Message}"); }
    }

    private static Outcome RunUnguarded(Case c, string yaraTestsTop)
    {
        // assert_warning_strict_escape compiles with yara's strict_escape flag.
        var compiler = new YaraCompiler { StrictEscape = c.Expect == "warning-strict-escape" };
        foreach (var (name, value) in TestExternals) compiler.DefineExternal(name, value);
        // The rule text is stored as bytes (Latin-1 characters); a rule file is read as UTF-8.
        compiler.AddSource(Encoding.UTF8.GetString(Encoding.Latin1.GetBytes(c.Rule)), "rule.yar");
        var errors = compiler.Diagnostics.Where(d => d.IsError).ToList();
        var skipped = compiler.Diagnostics.Where(d => !d.IsError).ToList();
        var warnings = compiler.Warnings.Count;
        string First(List<YaraDiagnostic> l) => l.Count > 0 ? l[0].Message : "";
        switch (c.Expect)
        {
            case "error":
                return errors.Count > 0 ? new(true, First(errors)) : new(false, skipped.Count > 0 ? "not rejected: " + First(skipped) : "compiles, yara rejects it");
            case "compiles":
                return errors.Count == 0 && skipped.Count == 0 ? new(true, "") : new(false, First(errors) + First(skipped));
            case "warning" or "warning-strict-escape":
                if (errors.Count > 0 || skipped.Count > 0) return new(false, First(errors) + First(skipped));
                return warnings >= c.Warnings ? new(true, "") : new(false, $"{warnings} warning(s), expected {c.Warnings}");
            case "no-warning":
                if (errors.Count > 0 || skipped.Count > 0) return new(false, First(errors) + First(skipped));
                return warnings == 0 ? new(true, "") : new(false, compiler.Warnings[0].Message);
        }
        if (errors.Count > 0) return new(false, "compile error: " + First(errors));
        if (skipped.Count > 0) return new(false, First(skipped));
        byte[] data;
        if (c.DataFile is { } f)
        {
            var path = Path.Combine(yaraTestsTop, f);
            if (!File.Exists(path)) return new(false, "data file missing: " + path);
            data = File.ReadAllBytes(path);
        }
        else data = c.Data ?? Encoding.ASCII.GetBytes("dummy");
        var result = compiler.Compile().Scan(data);
        if (result.Problems.Count > 0 && result.Count == 0) return new(false, "scan problem: " + result.Problems[0]);
        return c.Expect switch
        {
            "match" => new(result.Count > 0, result.Count > 0 ? "" : "no match"),
            "nomatch" => new(result.Count == 0, result.Count == 0 ? "" : "matches"),
            "count" => new(result.Count == c.Count, $"{result.Count} rule(s) match, expected {c.Count}"),
            "capture" => Captured(result, data, Encoding.Latin1.GetBytes(c.Capture!)),
            _ => new(false, "expectation not run here: " + c.Expect),
        };
    }

    private static Outcome Captured(YaraScanResult result, byte[] data, byte[] want)
    {
        var got = result.SelectMany(m => m.Strings).Select(s => data.AsSpan((int)s.Offset, (int)Math.Min(s.Length, data.Length - s.Offset)).ToArray()).ToList();
        if (got.Any(g => g.AsSpan().SequenceEqual(want))) return new(true, "");
        return new(false, got.Count == 0 ? "no match" : "captured " + string.Join(", ", got.Take(3).Select(g => '"' + Encoding.Latin1.GetString(g) + '"')));
    }

    internal static Dictionary<string, (string Feature, string Reason)> ReadTsv(string name)
    {
        var map = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        var path = Path.Combine(SuiteDir, name);
        foreach (var line in File.ReadLines(path))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var parts = line.Split('\t');
            map[parts[0]] = (parts.Length > 1 ? parts[1] : "", parts.Length > 2 ? parts[2] : "");
        }
        return map;
    }

    [Fact]
    public void Exir_passes_at_least_yaras_share_of_yaras_own_tests()
    {
        var top = Path.Combine(TestPaths.Shared, "reference", "yara-tests");
        if (!Directory.Exists(top)) Assert.Skip($"needs YARA's test data ({top}), absent here (a fresh clone without ../shared)");
        var known = ReadTsv("known-failures.tsv");
        var behind = ReadTsv("behind.tsv");
        var problems = new List<string>();
        var failuresNow = new List<string>();
        foreach (var file in LoadCases().GroupBy(c => c.File))
        {
            int exir = 0, yara = 0, n = 0;
            foreach (var c in file)
            {
                n++;
                var o = Run(c, top);
                if (o.Pass) exir++;
                if (c.YaraResult == "pass") yara++;
                if (o.Pass)
                {
                    if (known.ContainsKey(c.Id)) output.WriteLine($"  now passes (remove from known-failures.tsv): {c.Id}");
                    continue;
                }
                failuresNow.Add($"{c.Id}\t{(known.TryGetValue(c.Id, out var k) ? k.Feature : "?")}\t{o.Why}");
                if (!known.ContainsKey(c.Id)) problems.Add($"{c.Id}: fails and is not a known failure: {o.Why} -- {OneLine(c.Rule)}");
            }
            var line = $"{file.Key}: exir {exir}/{n} ({100.0 * exir / n:F1}%), yara 4.2.3 {yara}/{n} ({100.0 * yara / n:F1}%)";
            output.WriteLine(line);
            if (exir < yara)
            {
                if (behind.TryGetValue(file.Key, out var why)) output.WriteLine($"  behind yara 4.2.3 (behind.tsv): {why.Feature} {why.Reason}");
                else problems.Add($"{line}: below yara 4.2.3's share");
            }
        }
        output.WriteLine("failing cases by feature (known-failures.tsv):");
        foreach (var g in failuresNow.GroupBy(f => f.Split('\t')[1]).OrderBy(g => g.Key, StringComparer.Ordinal))
            output.WriteLine($"  {g.Key}: {g.Count()}");
        if (Environment.GetEnvironmentVariable("EXIR_YARA_SUITE_FAILURES") is { Length: > 0 } dump)
            File.WriteAllLines(dump, failuresNow);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    private static string OneLine(string s) => System.Text.RegularExpressions.Regex.Replace(s, @"\s+", " ");
}
