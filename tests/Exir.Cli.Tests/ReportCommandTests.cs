using System.Text.Json;
using Exir.Tests;

namespace Exir.Cli.Tests;

/// <summary>exir report over a case written by a real scan: the page in both languages, the exports, the folder, the errors.</summary>
/// <remarks>Tier slow: spawns processes, browsers or reference tools, or reads whole corpora; left out of scripts/test.sh --fast.</remarks>
[Trait("Tier", "slow")]
public class ReportCommandTests
{
    private static readonly Lazy<string> SampleCase = new(() =>
    {
        var db = Path.Combine(TestPaths.NewTempDir("exir-report"), "exir-case.db");
        var scan = ExirProcess.Run("scan", "--no-progress", "--case", db, Path.Combine(TestPaths.RepoRoot, "samples", "exch01"));
        Assert.True(scan.ExitCode == 1, scan.Stderr);
        return db;
    });

    [Fact]
    public void TheSampleCaseGivesAGermanAndAnEnglishPage()
    {
        var dir = TestPaths.NewTempDir("exir-report-out");
        var de = ExirProcess.Run("report", "--case", SampleCase.Value, "--lang", "de", "--out", Path.Combine(dir, "bericht.html"));
        Assert.Equal(1, de.ExitCode); // the case holds findings
        var page = File.ReadAllText(Path.Combine(dir, "bericht.html"));
        Assert.Contains("<html lang=\"de\"", page);
        Assert.Contains("KOMPROMITTIERT", page);
        Assert.Contains("Aufsichtsbehörde", page);
        Assert.Contains("EXCH01", page);
        Assert.DoesNotContain("<script", page, StringComparison.OrdinalIgnoreCase);
        var en = ExirProcess.Run("report", "--case", SampleCase.Value, "--lang", "en");
        Assert.Equal(1, en.ExitCode);
        Assert.Contains("<html lang=\"en\"", en.Stdout);
        Assert.Contains("COMPROMISED", en.Stdout);
    }

    [Fact]
    public void ExportsAreValidAndAFolderGetsAllThree()
    {
        var stix = ExirProcess.Run("report", "--case", SampleCase.Value, "--format", "stix");
        using (var doc = JsonDocument.Parse(stix.Stdout))
        {
            Assert.Equal("bundle", doc.RootElement.GetProperty("type").GetString());
            Assert.Contains(doc.RootElement.GetProperty("objects").EnumerateArray(),
                o => o.GetProperty("type").GetString() == "indicator" && o.GetProperty("pattern").GetString()!.Contains("203.0.113.77"));
        }
        var dir = Path.Combine(TestPaths.NewTempDir("exir-report-dir"), "out");
        Assert.Equal(1, ExirProcess.Run("report", "--case", SampleCase.Value, "--out", dir).ExitCode);
        Assert.Equal(["case.ecs.ndjson", "case.timesketch.jsonl", "indicators.stix.json", "report.html"], Directory.GetFiles(dir).Select(f => Path.GetFileName(f)).Order().ToArray());
        var sketch = File.ReadAllLines(Path.Combine(dir, "case.timesketch.jsonl"));
        Assert.NotEmpty(sketch);
        var times = sketch.Select(l => { using var d = JsonDocument.Parse(l); return d.RootElement.GetProperty("timestamp").GetInt64(); }).ToList();
        Assert.Equal(times.Order(), times); // time order, as Timesketch imports it
        foreach (var line in File.ReadLines(Path.Combine(dir, "case.ecs.ndjson")))
            using (var d = JsonDocument.Parse(line)) Assert.True(d.RootElement.TryGetProperty("@timestamp", out _));
        Assert.True(new FileInfo(Path.Combine(dir, "report.html")).Length > 10_000);
    }

    [Fact]
    public void WhatCannotBeDoneIsExitTwoWithTheReason()
    {
        var dir = TestPaths.NewTempDir("exir-report-bad");
        var none = ExirProcess.Run("report", "--case", Path.Combine(dir, "missing.db"));
        Assert.Equal(2, none.ExitCode);
        Assert.Contains("no case at", none.Stderr);
        Assert.False(File.Exists(Path.Combine(dir, "missing.db")));
        var ext = ExirProcess.Run("report", "--case", SampleCase.Value, "--out", Path.Combine(dir, "r.txt"));
        Assert.Equal(2, ext.ExitCode);
        Assert.Equal(2, ExirProcess.Run("report", "--case", SampleCase.Value, "--lang", "fr").ExitCode);
        Assert.Equal(2, ExirProcess.Run("report", "--case", SampleCase.Value, "--format", "stix", "--out", Path.Combine(dir, "r.html")).ExitCode);
    }
}
