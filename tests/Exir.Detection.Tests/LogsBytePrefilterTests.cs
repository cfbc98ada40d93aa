using System.Diagnostics;
using Exir.Core.Evidence;
using Exir.Pipeline;
using Exir.Tests;
using static Exir.Detection.Tests.LogsTestKit;

namespace Exir.Detection.Tests;

/// <summary>
/// The log rules report exactly the same findings, and the coverage the same line counts, whether the reader
/// pre-filters UTF-8 bytes or decodes every line first (<see cref="RunOptions.LogTextPrefilter"/>, the reference).
/// </summary>
public class LogsBytePrefilterTests
{
    private static string Describe(RunOptions options, string root, string spanFormat)
    {
        using var source = new DirectoryEvidenceSource(root, EvidenceLimits.Default);
        var run = RunPipeline(source, options);
        var findings = run.Findings
            .Select(f => $"{f.Artifact}:{f.Line}:{f.RuleId}:{f.Severity}:{f.Outcome}:{f.Timestamp:O}:{f.ClientIp}:{f.Evidence}:{string.Join(';', f.Details.OrderBy(d => d.Key, StringComparer.Ordinal))}")
            .Order(StringComparer.Ordinal);
        var families = run.Coverage.Families.OrderBy(f => f.Key, StringComparer.Ordinal)
            .Select(f => $"{f.Key}: {f.Value.Files} files {f.Value.Lines} lines {f.Value.MalformedLines} malformed {f.Value.First?.ToString(spanFormat)}..{f.Value.Last?.ToString(spanFormat)}");
        return string.Join('\n', findings.Concat(families));
    }

    /// <param name="spanFormat">How precisely the coverage time spans must agree: to the tick for logs in time order;
    /// by day where lines are out of order (the span is sampled from the first and last line of skipped stretches).</param>
    private static void AssertSameBothWays(string root, string spanFormat = "O")
    {
        var options = new RunOptions { RulesDirectory = RulesDirectory };
        var bytes = Describe(options with { LogTextPrefilter = false }, root, spanFormat);
        var text = Describe(options with { LogTextPrefilter = true }, root, spanFormat);
        Assert.Contains("LOG-", bytes);
        Assert.Equal(text, bytes);
    }

    [Fact]
    public void TheBundledSampleGivesTheSameFindingsBothWays() =>
        AssertSameBothWays(Path.Combine(TestPaths.RepoRoot, "samples", "exch01"));

    [Fact]
    public void AGeneratedCollectionGivesTheSameFindingsBothWays()
    {
        // bench/scan/gen.py: every log format with planted attacks among realistic lines (small pools: about 14 MB).
        var dir = TestPaths.NewTempDir("exir-loghunt");
        var collection = Path.Combine(dir, "collection");
        var psi = new ProcessStartInfo("python3", [Path.Combine(TestPaths.RepoRoot, "bench", "scan", "gen.py"), "--gb", "0.01", "--pool", "0.1", "--attack-every", "1", "--out", collection])
            { RedirectStandardOutput = true, RedirectStandardError = true };
        try
        {
            using (var p = Process.Start(psi)!)
            {
                p.WaitForExit();
                if (p.ExitCode != 0) Assert.Skip($"python3 bench/scan/gen.py failed here: {p.StandardError.ReadToEnd()}");
            }
        }
        catch (System.ComponentModel.Win32Exception) { Assert.Skip("python3 is not installed here (bench/scan/gen.py needs it)"); }
        // gen.py shuffles the times within each hour.
        try { AssertSameBothWays(collection, "yyyy-MM-dd"); }
        finally { Directory.Delete(dir, true); }
    }
}
