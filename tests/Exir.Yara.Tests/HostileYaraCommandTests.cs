using System.Diagnostics;
using Exir.Cli.Commands;
using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Core.Findings;
using Exir.Detection.Files;
using Exir.Detection.Rules;
using Exir.Engine;
using Exir.Pipeline;
using Exir.Tests;

namespace Exir.Yara.Tests;

/// <summary>
/// Hostile rules and targets through `exir yara` and `exir scan --yara` (issue 9): a bad rule must not crash the
/// command or blind the scan's YARA layer, a target that is not a regular file must not hang it, and whatever could
/// not be checked is named (stderr, coverage, verdict) with the documented exit code.
/// </summary>
public class HostileYaraCommandTests
{
    private const string OverflowAndGood = """
        rule Overflow { condition: uint8(9223372036854775807) == 0 }
        rule Hello { strings: $h = "hello" condition: $h }
        """;

    private static (int Exit, string Out, string Err) Yara(string[] ruleFiles, string target, bool recursive = false, TimeSpan? timeout = null)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var task = Task.Run(() => YaraCommand.Run(ruleFiles, target, recursive, printStrings: false, [], 256L << 20, 2, false, stdout, stderr, true, timeout));
        Assert.True(task.Wait(TimeSpan.FromSeconds(60)), $"exir yara {string.Join(' ', ruleFiles)} {target} hung");
        return (task.Result, stdout.ToString(), stderr.ToString());
    }

    private static string Write(string dir, string name, string text)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static void MkFifo(string path)
    {
        using var p = Process.Start("mkfifo", path)!;
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
    }

    [Fact]
    public void Yara_with_an_overflowing_rule_does_not_crash_and_the_other_rules_match()
    {
        var dir = TestPaths.NewTempDir("exir-yara-cli");
        var rules = Write(dir, "r.yar", OverflowAndGood);
        var target = Write(dir, "t.txt", "hello world\n");
        var (exit, stdout, stderr) = Yara([rules], target);
        Assert.Equal(1, exit);
        Assert.Equal($"Hello {target}\n", stdout);
        Assert.Equal("", stderr);
    }

    [Fact]
    public void Yara_names_a_rule_stopped_by_the_time_limit_and_exits_2_when_nothing_else_matched()
    {
        var dir = TestPaths.NewTempDir("exir-yara-cli");
        var rules = Write(dir, "r.yar", """
            rule Endless { condition: for all i in (0..9223372036854775807) : (i >= 0) }
            rule Hello { strings: $h = "hello" condition: $h }
            """);
        var tree = Path.Combine(dir, "tree");
        Directory.CreateDirectory(tree);
        var a = Write(tree, "a.txt", "hello\n");
        Write(tree, "b.txt", "nothing\n");
        var sw = Stopwatch.StartNew();
        var (exit, stdout, stderr) = Yara([rules], tree, recursive: true, timeout: TimeSpan.FromSeconds(1));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), $"took {sw.Elapsed}");
        Assert.Equal(1, exit);
        Assert.Equal($"Hello {a}\n", stdout);
        Assert.Contains("b.txt: rule Endless: stopped at the scan's time limit", stderr);
        Assert.Contains("a.txt: rule Endless", stderr);

        // Nothing matched, a file was not scanned fully: not "nothing found".
        var (exit2, stdout2, stderr2) = Yara([rules], Path.Combine(tree, "b.txt"), timeout: TimeSpan.FromSeconds(1));
        Assert.Equal(2, exit2);
        Assert.Equal("", stdout2);
        Assert.Contains("rule Endless", stderr2);
    }

    [Fact]
    public void Yara_refuses_a_device_or_fifo_target_and_reports_them_in_a_walk()
    {
        if (OperatingSystem.IsWindows()) Assert.Skip("no FIFOs or /dev/zero on Windows");
        var dir = TestPaths.NewTempDir("exir-yara-cli");
        var rules = Write(dir, "r.yar", "rule Any { condition: true }");
        if (File.Exists("/dev/zero"))
        {
            var (exitZero, _, errZero) = Yara([rules], "/dev/zero");
            Assert.Equal(2, exitZero);
            Assert.Contains("not a regular file", errZero);
        }
        var fifo = Path.Combine(dir, "pipe");
        MkFifo(fifo);
        var (exit, stdout, stderr) = Yara([rules], fifo);
        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.Contains("not a regular file", stderr);

        var tree = Path.Combine(dir, "tree");
        Directory.CreateDirectory(tree);
        var real = Write(tree, "a.txt", "x");
        MkFifo(Path.Combine(tree, "p"));
        var (exitTree, outTree, errTree) = Yara([rules], tree, recursive: true);
        Assert.Equal(1, exitTree);
        Assert.Equal($"Any {real}\n", outTree);
        Assert.Contains("/p: ", errTree);
        Assert.Contains("not a regular file", errTree);
    }

    [Fact]
    public void Yara_exits_2_with_the_reason_when_no_rule_file_compiles()
    {
        var dir = TestPaths.NewTempDir("exir-yara-cli");
        var bad1 = Write(dir, "bad1.yar", "rule Broken { condition: and }");
        var bad2 = Write(dir, "bad2.yar", "include \"/dev/zero\"\n");
        var target = Write(dir, "t.txt", "x");
        var (exit, stdout, stderr) = Yara([bad1, bad2], target);
        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.Contains("bad1.yar", stderr);
        Assert.Contains("not a regular file", stderr);
    }

    // ---- exir scan --yara ----------------------------------------------------------------------------------------

    private static string Evidence(string shellText)
    {
        var root = TestPaths.NewTempDir("exir-yara-ev");
        var dir = Path.Combine(root, "inetpub", "wwwroot", "aspnet_client");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "x.aspx"), shellText);
        return root;
    }

    private static ScanResult Scan(string root, RunOptions options)
    {
        using var run = new ScanRun(options);
        using var source = EvidenceSource.Open(root);
        using var evidence = EvidenceSet.Of(new EvidenceInput(source, "test"));
        var task = Task.Run(() => run.Scan(evidence, "test"));
        Assert.True(task.Wait(TimeSpan.FromSeconds(120)), "scan hung");
        return task.Result;
    }

    [Fact]
    public void Scan_with_an_overflowing_user_rule_still_makes_the_other_rules_findings()
    {
        var dir = TestPaths.NewTempDir("exir-yara-scan");
        var rules = Write(dir, "user.yar", """
            rule Overflow { condition: uint8(9223372036854775807) == 0 or int32(0x7ffffffffffffffe) == 1 }
            rule User_Shell_Marker { meta: severity = "high" strings: $h = "exir_hostile_marker" condition: $h }
            """);
        var root = Evidence("<%@ Page Language=\"C#\" %>\n<% /* exir_hostile_marker */ %>\n");
        var result = Scan(root, new RunOptions { ExtraYara = [rules] });
        Assert.Contains(result.Findings, f => f.RuleId == "yara:User_Shell_Marker");
        Assert.Equal(VerdictKind.Compromised, result.Verdict.Kind);
        Assert.DoesNotContain(result.Coverage.Issues, i => i.Kind == IssueKind.CheckNotRun);
    }

    [Fact]
    public void Scan_names_a_rule_cut_short_by_the_time_limit_and_the_verdict_says_so()
    {
        var rulesDir = TestPaths.NewTempDir("exir-yara-rules");
        CopyTree(Path.Combine(TestPaths.RepoRoot, "rules"), rulesDir);
        var scanYaml = Path.Combine(rulesDir, ScanSettings.FileName);
        File.WriteAllText(scanYaml, File.ReadAllText(scanYaml).Replace("timeout_seconds: 60", "timeout_seconds: 1"));
        var dir = TestPaths.NewTempDir("exir-yara-scan");
        var rules = Write(dir, "user.yar", "rule Endless { condition: for all i in (0..9223372036854775807) : (i >= 0) }");
        var root = Evidence("<%@ Page Language=\"C#\" %>\n<% nothing here %>\n");
        var sw = Stopwatch.StartNew();
        var result = Scan(root, new RunOptions { ExtraYara = [rules], RulesDirectory = rulesDir });
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), $"took {sw.Elapsed}");
        var issue = Assert.Single(result.Coverage.Issues, i => i.Kind == IssueKind.CheckNotRun);
        Assert.EndsWith("x.aspx", issue.Path);
        Assert.Contains("Endless", issue.Message);
        Assert.Contains("time limit", issue.Message);
        Assert.Equal(VerdictKind.NoEvidenceFound, result.Verdict.Kind);
        Assert.Contains("did not run fully", result.Verdict.Headline);
        Assert.Contains("could not run fully", result.Verdict.CoverageCaveat);
    }

    [Fact]
    public void Scan_with_a_user_rule_file_of_which_nothing_compiles_is_a_usage_error()
    {
        var dir = TestPaths.NewTempDir("exir-yara-scan");
        var rules = Write(dir, "broken.yar", "rule Broken { strings: $a = \"x\" condition: $a and ( }");
        var e = Assert.Throws<RuleDataException>(() => new ScanRun(new RunOptions { ExtraYara = [rules] }));
        Assert.Contains("broken.yar", e.Message);
        Assert.Contains("no rule compiles", e.Message);
        // A file with one good rule among broken ones runs, and the broken ones are named in the coverage.
        var mixed = Write(dir, "mixed.yar", "rule Broken { condition: and }\nrule Fine { condition: false }");
        using var run = new ScanRun(new RunOptions { ExtraYara = [mixed] });
    }

    [Fact]
    public void The_verdict_does_not_claim_a_content_check_that_did_not_run()
    {
        var start = new DateTimeOffset(2021, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var coverage = new CoverageReport();
        coverage.CheckNotRun(YaraContentRules.LayerCheckName, "no YARA rule compiled");
        var v = Exir.Detection.Correlation.VerdictBuilder.Build([], coverage, start);
        Assert.Equal(VerdictKind.NoEvidenceFound, v.Kind);
        Assert.Contains("YARA web-shell rules did not run", v.Headline);
        Assert.Contains(YaraContentRules.LayerCheckName, v.CoverageCaveat);
    }

    private static void CopyTree(string from, string to)
    {
        foreach (var d in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, d)));
        foreach (var f in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(f, Path.Combine(to, Path.GetRelativePath(from, f)));
    }
}
