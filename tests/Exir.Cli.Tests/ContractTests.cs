using System.Text.Json;
using System.Text.RegularExpressions;
using Exir.Tests;

namespace Exir.Cli.Tests;

/// <summary>
/// The one CLI contract, verb by verb, run as a user runs exir: every verb of the README's table has --help with its
/// exit codes (the same words as the table) and an example, exits 0 when nothing is found, 1 on findings and 2 when it
/// cannot run, keeps results on stdout and diagnostics on stderr, and never reads a response file.
/// </summary>
/// <remarks>Tier slow: spawns processes, browsers or reference tools, or reads whole corpora; left out of scripts/test.sh --fast.</remarks>
[Trait("Tier", "slow")]
public sealed partial class ContractTests
{
    /// <summary>The README's verb table: the verb words and the exit codes it states.</summary>
    public static TheoryData<string, string> ReadmeVerbs()
    {
        var data = new TheoryData<string, string>();
        foreach (var line in File.ReadLines(Path.Combine(TestPaths.RepoRoot, "README.md")))
        {
            var m = VerbRow().Match(line);
            if (!m.Success) continue;
            var words = m.Groups["usage"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Skip(1).TakeWhile(w => char.IsAsciiLetterLower(w[0])).ToArray();
            data.Add(string.Join(' ', words), m.Groups["codes"].Value.Trim());
        }
        return data;
    }

    [GeneratedRegex(@"^\|\s*`(?<usage>exir [^`]+)`\s*\|[^|]*\|(?<codes>\s*0 [^|]+)\|\s*$")]
    private static partial Regex VerbRow();

    [Fact]
    public void TheReadmeTableListsEveryVerb()
    {
        var verbs = ReadmeVerbs().Select(r => (string)r.Data.Item1).ToList();
        foreach (var v in new[] { "scan", "timeline", "inventory", "check", "yara", "rules check", "baseline create", "quarantine", "quarantine list", "quarantine restore", "evtx",
                     "case status", "case hosts", "case import", "case step", "case set", "case note" })
            Assert.Contains(v, verbs);
        // And nothing the program does not have: the root help lists every top-level verb of the table.
        var root = ExirProcess.Run("--help");
        Assert.Equal(0, root.ExitCode);
        foreach (var v in verbs) Assert.Contains(v.Split(' ')[0], root.Stdout);
    }

    [Theory]
    [MemberData(nameof(ReadmeVerbs))]
    public void HelpStatesTheReadmesExitCodesAndAnExample(string verb, string codes)
    {
        var r = ExirProcess.Run([.. verb.Split(' '), "--help"]);
        Assert.Equal(0, r.ExitCode);
        var help = Regex.Replace(r.Stdout, @"\s+", " ");
        Assert.Contains("Exit codes: " + codes, help);
        Assert.Contains("Example: exir " + verb.Split(' ')[0], help);
        Assert.Empty(r.Stderr);
    }

    [Fact]
    public void ScanExitsZeroOneTwo()
    {
        var clean = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(clean, "readme.txt"), "nothing here");
        Assert.Equal(0, ExirProcess.Run("scan", clean, "--format", "jsonl").ExitCode);
        var found = ExirProcess.Run("scan", Sample, "--format", "jsonl");
        Assert.Equal(1, found.ExitCode);
        Assert.All(found.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => JsonDocument.Parse(l).Dispose());
        Assert.Contains("VERDICT", found.Stderr);
        AssertCannotRun("scan", "/nonexistent/evidence");
    }

    [Fact]
    public void ScanTakesSeveralRootsEachWithItsHost()
    {
        var other = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(other, "readme.txt"), "nothing here");
        var outDir = TestPaths.NewTempDir();
        var r = ExirProcess.Run("scan", Sample, other, "--out", outDir, "--format", "json");
        Assert.Equal(1, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Stdout);
        var hosts = doc.RootElement.GetProperty("hosts");
        Assert.Equal(2, hosts.GetArrayLength());
        Assert.Equal("EXCH01", hosts[0].GetProperty("name").GetString());
        Assert.Equal("COMPROMISED", hosts[0].GetProperty("verdict").GetProperty("label").GetString());
        Assert.Equal(Path.GetFileName(other), hosts[1].GetProperty("name").GetString());
        Assert.Equal("NO EVIDENCE FOUND", hosts[1].GetProperty("verdict").GetProperty("label").GetString());
        Assert.Contains("1 of 2 servers were compromised", doc.RootElement.GetProperty("verdict").GetProperty("headline").GetString());
        // Results on stdout, the files written named on stderr.
        Assert.Contains("exir: wrote", r.Stderr);
        Assert.DoesNotContain("exir: wrote", r.Stdout);
        AssertCannotRun("scan", Sample, other, "--host", "X"); // --host names one root only
    }

    [Fact]
    public void TimelineExitsZeroOneTwoAndWritesNothingWithoutOut()
    {
        var clean = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(clean, "readme.txt"), "nothing here");
        var r = ExirProcess.RunIn(clean, "timeline", clean);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(["readme.txt"], Directory.GetFileSystemEntries(clean).Select(Path.GetFileName));
        AssertCannotRun("timeline", "/nonexistent/evidence");
        var evtx = TestPaths.InCorpus("evtx", "evtx-attack-samples", "DE_1102_security_log_cleared.evtx");
        Assert.Equal(1, ExirProcess.Run("timeline", evtx).ExitCode);
    }

    [Fact]
    public void InventoryExitsZeroOneTwo()
    {
        var newest = File.ReadLines(Path.Combine(TestPaths.RepoRoot, "knowledge", "exchange-builds.tsv")).Last().Split('\t')[0];
        Assert.Equal(0, ExirProcess.Run("inventory", newest).ExitCode);
        Assert.Equal(1, ExirProcess.Run("inventory", "15.1.2176.2").ExitCode);
        var bad = ExirProcess.Run("inventory", "not-a-build");
        Assert.Equal(2, bad.ExitCode);
        AssertCannotRun("inventory");
    }

    [Fact]
    public void CheckCannotRunWithoutAReachableServer()
    {
        // 0 and 1 need an Exchange server to answer: the remote-check tests run them against the Exchange emulator.
        var r = ExirProcess.Run("check", "http://127.0.0.1:9", "--timeout", "2");
        Assert.Equal(2, r.ExitCode);
        AssertCannotRun("check");
    }

    [Fact]
    public void YaraExitsZeroOneTwo()
    {
        var dir = TestPaths.NewTempDir();
        var rules = Path.Combine(dir, "r.yar");
        File.WriteAllText(rules, "rule Marker { strings: $a = \"exir-marker\" condition: $a }");
        var hit = Path.Combine(dir, "hit.txt");
        File.WriteAllText(hit, "an exir-marker here");
        var miss = Path.Combine(dir, "miss.txt");
        File.WriteAllText(miss, "nothing");
        Assert.Equal(0, ExirProcess.Run("yara", rules, miss).ExitCode);
        var r = ExirProcess.Run("yara", rules, hit);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"Marker {hit}", r.Stdout.Trim());
        var broken = Path.Combine(dir, "broken.yar");
        File.WriteAllText(broken, "rule { condition: }");
        AssertCannotRun("yara", broken, hit);
    }

    [Fact]
    public void RulesCheckExitsZeroOneTwo()
    {
        var ok = ExirProcess.Run("rules", "check", Path.Combine(TestPaths.RepoRoot, "rules"));
        Assert.True(ok.ExitCode == 0, ok.Stdout);
        Assert.Contains("0 failed", ok.Stdout);
        var dir = TestPaths.NewTempDir();
        var rules = Path.Combine(dir, "bad.yar");
        File.WriteAllText(rules, "rule A { condition: nonsense_identifier }");
        Assert.Equal(1, ExirProcess.Run("rules", "check", rules).ExitCode);
        AssertCannotRun("rules", "check", "/nonexistent/rules.yar");
    }

    [Fact]
    public void QuarantineExitsZeroOneTwo()
    {
        var dir = TestPaths.NewTempDir();
        var findings = Path.Combine(dir, "findings.jsonl");
        File.WriteAllText(findings, "");
        Assert.Equal(0, ExirProcess.Run("quarantine", findings, "--store", Path.Combine(dir, "store")).ExitCode);
        var shell = Path.Combine(dir, "x.aspx");
        File.WriteAllText(shell, "<% eval(Request[\"a\"]) %>");
        var dry = ExirProcess.Run("quarantine", shell, "--store", Path.Combine(dir, "store"));
        Assert.Equal(1, dry.ExitCode);
        Assert.True(File.Exists(shell), "a dry run moves nothing");
        AssertCannotRun("quarantine", "--store", Path.Combine(dir, "store"));
        AssertCannotRun("quarantine", "list", "--store", Path.Combine(dir, "no-such-store"));
        AssertCannotRun("quarantine", "restore", "nope", "--store", Path.Combine(dir, "no-such-store"));
    }

    [Fact]
    public void EvtxExitsZeroOneTwo()
    {
        var notEvtx = Path.Combine(TestPaths.NewTempDir(), "x.evtx");
        File.WriteAllText(notEvtx, "not an event log");
        AssertCannotRun("evtx", notEvtx);
        var clean = TestPaths.InCorpus("evtx", "evtx-attack-samples", "DE_1102_security_log_cleared.evtx");
        Assert.Equal(0, ExirProcess.Run("evtx", clean, "--format", "jsonl").ExitCode);
        var damaged = Directory.GetFiles(TestPaths.InCorpus("evtx", "omerbenamram-evtx"), "*.evtx")
            .First(f => Path.GetFileName(f).Contains("bad_chunk", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(1, ExirProcess.Run("evtx", damaged, "--format", "jsonl").ExitCode);
    }

    [Fact]
    public void ResponseFilesAreOff()
    {
        // A file named "@x" whose content is an option must stay a path: a shell glob hands such names to exir.
        var dir = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(dir, "@opts"), "--live");
        var shell = Path.Combine(dir, "x.aspx");
        File.WriteAllText(shell, "<% eval(Request[\"a\"]) %>");
        var r = ExirProcess.RunIn(dir, "quarantine", shell, "@opts", "--store", Path.Combine(dir, "store"));
        Assert.True(File.Exists(shell), "the @file did not turn the dry run into a live one");
        Assert.False(Directory.Exists(Path.Combine(dir, "store")));
        Assert.NotEqual(0, r.ExitCode);
    }

    private static string Sample => Path.Combine(TestPaths.RepoRoot, "samples", "exch01");

    private static void AssertCannotRun(params string[] args)
    {
        var r = ExirProcess.Run(args);
        Assert.True(r.ExitCode == 2, $"exir {string.Join(' ', args)} exited {r.ExitCode}: {r.Stderr}");
        Assert.Contains("exir", r.Stderr);
    }
}
