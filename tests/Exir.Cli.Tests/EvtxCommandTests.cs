using System.Text.Json;
using Exir.Tests;

namespace Exir.Cli.Tests;

/// <remarks>Tier slow: spawns processes, browsers or reference tools, or reads whole corpora; left out of scripts/test.sh --fast.</remarks>
[Trait("Tier", "slow")]
public class EvtxCommandTests
{
    [Fact]
    public void JsonlDumpHasOneParsableObjectPerRecordAndASummaryOnStderr()
    {
        var file = TestPaths.InCorpus("evtx", "evtx-attack-samples", "DE_1102_security_log_cleared.evtx");
        Assert.True(File.Exists(file), "corpus present");
        var r = ExirProcess.Run("evtx", file, "--format", "jsonl");
        Assert.Equal(0, r.ExitCode);
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        Assert.All(lines, l => JsonDocument.Parse(l));
        Assert.Contains(lines, l => l.Contains("1102"));
        Assert.False(string.IsNullOrWhiteSpace(r.Stderr));
    }

    [Fact]
    public void XmlDumpRendersEvents()
    {
        var file = TestPaths.InCorpus("evtx", "evtx-attack-samples", "DE_1102_security_log_cleared.evtx");
        var r = ExirProcess.Run("evtx", file, "--format", "xml");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("<Event", r.Stdout);
        Assert.Contains("<EventID", r.Stdout);
    }

    [Fact]
    public void NothingReadableExitsTwo()
    {
        var dir = TestPaths.NewTempDir();
        var junk = Path.Combine(dir, "junk.evtx");
        File.WriteAllBytes(junk, new byte[] { 1, 2, 3 });
        Assert.Equal(2, ExirProcess.Run("evtx", "/nonexistent/exir.evtx").ExitCode);
        var junkRun = ExirProcess.Run("evtx", junk);
        Assert.Equal(2, junkRun.ExitCode);
        Assert.DoesNotContain("Unhandled exception", junkRun.Stderr);
    }
}
