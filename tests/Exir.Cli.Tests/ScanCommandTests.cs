using System.Security.Cryptography;
using System.Text.Json;
using Exir.Tests;

namespace Exir.Cli.Tests;

/// <remarks>Tier slow: spawns processes, browsers or reference tools, or reads whole corpora; left out of scripts/test.sh --fast.</remarks>
[Trait("Tier", "slow")]
public class ScanCommandTests
{
    private static string Sample => Path.Combine(TestPaths.RepoRoot, "samples", "exch01");

    [Fact]
    public void SampleIsCompromisedWithAllOutputsWritten()
    {
        var outDir = TestPaths.NewTempDir();
        var before = TreeHash(Sample);
        var r = ExirProcess.Run("scan", Sample, "--out", outDir);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("VERDICT: COMPROMISED", r.Stdout);
        Assert.Equal(before, TreeHash(Sample)); // evidence untouched
        foreach (var name in new[] { "findings.jsonl", "findings.csv", "summary.json", "report.html" })
            Assert.True(File.Exists(Path.Combine(outDir, name)), name);
        var findings = File.ReadAllLines(Path.Combine(outDir, "findings.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Contains(findings, f => f.GetProperty("rule_id").GetString() == "FILE-LSASS-DUMP" && f.GetProperty("artifact").GetString() == "root/lsass.dmp");
        Assert.Contains(findings, f => f.GetProperty("rule_id").GetString() == "FILE-STAGED-ARCHIVE");
        // The vendor archive is listed only because the host shows exploitation (as Test-ProxyLogon lists it), as info.
        Assert.All(findings.Where(f => f.GetProperty("artifact").GetString()!.Contains("McAfee")),
            f => Assert.Equal(("FILE-VENDOR-ARCHIVE", "info"), (f.GetProperty("rule_id").GetString(), f.GetProperty("severity").GetString())));
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
        Assert.Equal("COMPROMISED", summary.RootElement.GetProperty("verdict").GetProperty("label").GetString());
        Assert.StartsWith("exir scan", summary.RootElement.GetProperty("provenance").GetProperty("command").GetString());
        Assert.Contains("sha256:", summary.RootElement.GetProperty("provenance").GetProperty("rules_version").GetString());
    }

    [Fact]
    public void TimelineIsEmbeddedInTheReportOnRequest()
    {
        var evidence = TestPaths.NewTempDir();
        File.Copy(TestPaths.InCorpus("evtx", "evtx-attack-samples", "LM_typical_IIS_webshell_sysmon_1_10_traces.evtx"), Path.Combine(evidence, "Sysmon.evtx"));
        var outDir = TestPaths.NewTempDir();
        var r = ExirProcess.Run("scan", evidence, "--out", outDir, "--timeline");
        Assert.Equal(1, r.ExitCode);
        var html = File.ReadAllText(Path.Combine(outDir, "report.html"));
        Assert.Contains("<svg", html);
        Assert.Contains("w3wp.exe", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(2, ExirProcess.Run("scan", evidence, "--timeline").ExitCode); // needs --out
    }

    [Fact]
    public void EmptyEvidenceIsCleanWithExitZero()
    {
        var dir = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(dir, "readme.txt"), "nothing here");
        var r = ExirProcess.Run("scan", dir);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("VERDICT: NO EVIDENCE FOUND", r.Stdout);
        Assert.Contains("No Exchange or IIS logs", r.Stdout.Replace("\n", " ").Replace("║", " ").Replace("  ", " "));
    }

    [Theory]
    [InlineData("scan", "/nonexistent/exir/evidence")]
    [InlineData("scan", ".", "--format", "xml")]
    [InlineData("scan", ".", "--no-such-option")]
    [InlineData("scan", ".", "--since", "yesterday-ish")]
    [InlineData("no-such-verb")]
    [InlineData("scan", ".", "--baseline", "/nonexistent/baseline.tsv")]
    [InlineData("scan", ".", "--yara", "/nonexistent/rules")]
    [InlineData("scan", ".", "--since", "2021-03-02", "--until", "2021-03-01")]
    public void BadArgumentsExitTwoWithAMessage(params string[] args)
    {
        var r = ExirProcess.Run(args);
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("exir:", r.Stderr.TrimStart());
    }

    [Fact]
    public void OutputInsideTheEvidenceIsRefused()
    {
        var dir = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(dir, "a.txt"), "a");
        var r = ExirProcess.Run("scan", dir, "--out", Path.Combine(dir, "results"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("inside the evidence", r.Stderr);
        Assert.False(Directory.Exists(Path.Combine(dir, "results")));
    }

    [Fact]
    public void MachineFormatsKeepStdoutPureAndPutTheVerdictOnStderr()
    {
        var jsonl = ExirProcess.Run("scan", Sample, "--format", "jsonl");
        Assert.Equal(1, jsonl.ExitCode);
        var lines = jsonl.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        Assert.All(lines, l => JsonDocument.Parse(l));
        Assert.Contains("VERDICT: COMPROMISED", jsonl.Stderr);

        var json = ExirProcess.Run("scan", Sample, "--format", "json");
        using var doc = JsonDocument.Parse(json.Stdout);
        Assert.Equal(lines.Length, doc.RootElement.GetProperty("findings").GetArrayLength());

        var csv = ExirProcess.Run("scan", Sample, "--format", "csv");
        Assert.StartsWith("rule_id,title,severity", csv.Stdout);
    }

    [Fact]
    public void ZipOfTheSampleGivesTheSameFindings()
    {
        var dir = TestPaths.NewTempDir();
        var zip = Path.Combine(dir, "exch01.zip");
        System.IO.Compression.ZipFile.CreateFromDirectory(Sample, zip);
        var fromZip = ExirProcess.Run("scan", zip, "--format", "jsonl");
        var fromDir = ExirProcess.Run("scan", Sample, "--format", "jsonl");
        static List<string> Keys(string stdout) => stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Select(e => $"{e.GetProperty("rule_id").GetString()}|{e.GetProperty("artifact").GetString()!.Replace("exch01.zip!/", "")}|{e.GetProperty("line")}")
            .Order().ToList();
        Assert.Equal(Keys(fromDir.Stdout), Keys(fromZip.Stdout));
        Assert.Equal(1, fromZip.ExitCode);
    }

    [Fact]
    public void HelpIsAvailableForEveryVerb()
    {
        var root = ExirProcess.Run("--help");
        Assert.Equal(0, root.ExitCode);
        Assert.Contains("scan", root.Stdout);
        var scan = ExirProcess.Run("scan", "--help");
        Assert.Equal(0, scan.ExitCode);
        Assert.Contains("--out", scan.Stdout);
        Assert.Contains("--since", scan.Stdout);
    }

    private static string TreeHash(string root)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var f in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(Path.GetRelativePath(root, f)));
            sha.AppendData(File.ReadAllBytes(f));
            sha.AppendData(BitConverter.GetBytes(File.GetLastWriteTimeUtc(f).Ticks));
        }
        return Convert.ToHexString(sha.GetHashAndReset());
    }
}
