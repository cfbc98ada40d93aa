using System.Text.Json;
using Exir.Tests;

namespace Exir.Cli.Tests;

/// <summary>The generated fleet behaves as its scenario says when each server is scanned alone.</summary>
/// <remarks>Tier slow: spawns processes, browsers or reference tools, or reads whole corpora; left out of scripts/test.sh --fast.</remarks>
[Trait("Tier", "slow")]
public class FleetTests
{
    [Fact]
    public void EachGeneratedServerGetsTheVerdictOfItsScenario()
    {
        var root = TestPaths.NewTempDir("exir-fleet");
        var dirs = FleetCollections.Write(Path.Combine(root, "fleet"), 6, normalLines: 50);
        string Verdict(int i)
        {
            var outDir = Path.Combine(root, "out" + i);
            var r = ExirProcess.Run("scan", "--no-progress", "--out", outDir, dirs[i]);
            Assert.True(r.ExitCode is 0 or 1, r.Stderr);
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
            var host = doc.RootElement.GetProperty("hosts")[0];
            Assert.Equal(FleetCollections.HostName(i), host.GetProperty("name").GetString(), StringComparer.OrdinalIgnoreCase);
            return host.GetProperty("verdict").GetProperty("label").GetString()!;
        }
        Assert.Equal("COMPROMISED", Verdict(0));
        Assert.Equal("ATTEMPTED", Verdict(4));
        Assert.Equal("NO EVIDENCE FOUND", Verdict(5));
        Assert.Contains(FleetCollections.CampaignIp, File.ReadAllText(Path.Combine(root, "out0", "findings.jsonl")));
    }
}
