using System.Text.Json;
using Exir.Tests;

namespace Exir.Cli.Tests;

/// <summary>The patch-status verbs as a user runs them: pasted build numbers, a collection, bad input.</summary>
/// <remarks>Tier slow: spawns processes, browsers or reference tools, or reads whole corpora; left out of scripts/test.sh --fast.</remarks>
[Trait("Tier", "slow")]
public class InventoryCommandTests
{
    [Fact]
    public void PastedBuildsGiveTheContractFieldsAndExitOneWhenOpen()
    {
        // 15.1.2176.2 is Exchange 2016 CU19 before the March 2021 SU: open to ProxyLogon.
        var r = ExirProcess.Run("inventory", "15.1.2176.2", "15.01.2176.002", "--format", "json");
        Assert.Equal(1, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Stdout);
        Assert.Equal(2, doc.RootElement.GetArrayLength());
        foreach (var server in doc.RootElement.EnumerateArray())
        {
            foreach (var name in new[] { "build", "product", "cu", "su", "precision", "source", "supported", "open_cves", "fixed_by", "action", "action_text" })
                Assert.True(server.TryGetProperty(name, out _), name);
            Assert.Contains("Exchange Server 2016", server.GetProperty("product").GetString());
            Assert.Contains(server.GetProperty("open_cves").EnumerateArray(), c => c.GetString() == "CVE-2021-26855");
            Assert.NotEqual("none", server.GetProperty("action").GetString());
        }
    }

    [Fact]
    public void CuLevelBuildSaysSo()
    {
        var r = ExirProcess.Run("inventory", "15.1.2176", "--format", "json");
        using var doc = JsonDocument.Parse(r.Stdout);
        Assert.Equal("cu", doc.RootElement[0].GetProperty("precision").GetString());
    }

    [Fact]
    public void TextOutputNamesTheAction()
    {
        var r = ExirProcess.Run("inventory", "Version", "15.1", "(Build", "2176.2)");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("ACTION", r.Stdout);
        Assert.Contains("CVE-2021-26855", r.Stdout);
    }

    [Fact]
    public void GarbageBuildIsAClearErrorNotACrash()
    {
        var r = ExirProcess.Run("inventory", "not-a-build");
        Assert.Equal(2, r.ExitCode);
        Assert.DoesNotContain("Unhandled exception", r.Stderr);
    }

    [Fact]
    public void CheckHelpCarriesTheAuthorisationNote()
    {
        var r = ExirProcess.Run("check", "--help");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("authorised", r.Stdout);
    }

    [Fact]
    public void CheckOfAClosedPortGivesAVerdictAndNoCrash()
    {
        // Port 9 on loopback: nothing listens; the host is reported unreachable, exit 2 (could not run) or 1, never a crash.
        var r = ExirProcess.Run("check", "http://127.0.0.1:9", "--format", "json");
        Assert.InRange(r.ExitCode, 1, 2);
        Assert.DoesNotContain("Unhandled exception", r.Stderr);
        Assert.False(string.IsNullOrWhiteSpace(r.Stdout + r.Stderr));
    }
}
