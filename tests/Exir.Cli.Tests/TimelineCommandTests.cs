using System.Text.Json;
using Exir.Tests;

namespace Exir.Cli.Tests;

/// <remarks>Tier slow: spawns processes, browsers or reference tools, or reads whole corpora; left out of scripts/test.sh --fast.</remarks>
[Trait("Tier", "slow")]
public class TimelineCommandTests
{
    [Fact]
    public void TimelineOverAttackSamplesWritesTimesketchReadyOutputs()
    {
        var evidence = TestPaths.InCorpus("evtx", "evtx-attack-samples");
        Assert.True(Directory.Exists(evidence), "corpus present");
        var outDir = TestPaths.NewTempDir();
        var r = ExirProcess.Run("timeline", evidence, "--out", outDir);
        Assert.Equal(1, r.ExitCode); // the samples hold a cleared log, an LSASS dump and a web-shell tree
        var jsonl = Path.Combine(outDir, "timeline.jsonl");
        Assert.True(File.Exists(jsonl));
        int rows = 0;
        foreach (var line in File.ReadLines(jsonl))
        {
            using var doc = JsonDocument.Parse(line);
            var o = doc.RootElement;
            Assert.False(string.IsNullOrEmpty(o.GetProperty("message").GetString()));
            Assert.True(DateTimeOffset.TryParse(o.GetProperty("datetime").GetString(), out _));
            Assert.False(string.IsNullOrEmpty(o.GetProperty("timestamp_desc").GetString()));
            rows++;
        }
        Assert.True(rows > 50, $"{rows} rows");
        Assert.True(File.Exists(Path.Combine(outDir, "timeline.html")));
        Assert.Contains("w3wp.exe", File.ReadAllText(Path.Combine(outDir, "process-trees.txt")), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void TimelineBadInputExitsTwo()
    {
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");
        Assert.Equal(2, ExirProcess.Run("timeline", "/nonexistent/exir/x", "--out", outDir).ExitCode);
        Assert.False(Directory.Exists(outDir), "nothing written for a bad path");
        Assert.Equal(2, ExirProcess.Run("timeline", TestPaths.NewTempDir(), "--since", "not-a-date", "--out", outDir).ExitCode);
    }
}
