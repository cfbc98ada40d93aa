using System.Diagnostics;
using Exir.Tests;

namespace Exir.Cli.Tests;

/// <summary>`exir yara` prints what the real yara prints, so the two can be compared line by line.</summary>
/// <remarks>Tier slow: spawns processes, browsers or reference tools, or reads whole corpora; left out of scripts/test.sh --fast.</remarks>
[Trait("Tier", "slow")]
public class YaraCommandTests
{
    private const string Rules = """
        rule Chopper_Like { strings: $a = "Request.Item[" nocase $b = "eval(" condition: all of them }
        rule Wide_Marker { strings: $w = "cmd.exe" wide ascii condition: $w }
        private rule Hidden { condition: filesize > 0 }
        rule Uses_Private { condition: Hidden and uint16(0) == 0x253c }
        """;

    [Fact]
    public void OutputEqualsRealYara()
    {
        var dir = TestPaths.NewTempDir();
        var rules = Path.Combine(dir, "t.yar");
        File.WriteAllText(rules, Rules);
        var tree = Path.Combine(dir, "tree");
        Directory.CreateDirectory(Path.Combine(tree, "sub"));
        File.WriteAllText(Path.Combine(tree, "a.aspx"), "<%@ Page Language=\"Jscript\"%><%eval(Request.Item[\"z\"],\"unsafe\");%>");
        File.WriteAllBytes(Path.Combine(tree, "sub", "b.bin"), System.Text.Encoding.Unicode.GetBytes("run cmd.exe /c whoami"));
        File.WriteAllText(Path.Combine(tree, "sub", "c.txt"), "nothing");

        var exir = ExirProcess.Run("yara", "-r", "-s", rules, tree);
        Assert.Equal(1, exir.ExitCode); // matches found
        var yara = RunYara("-r", "-s", rules, tree);
        Assert.Equal(Sorted(yara), Sorted(exir.Stdout));
        Assert.Contains("Chopper_Like", exir.Stdout);
        Assert.Contains("Wide_Marker", exir.Stdout);
        Assert.DoesNotContain("Hidden ", exir.Stdout);
    }

    [Fact]
    public void RulesCheckReportsABrokenFile()
    {
        var dir = TestPaths.NewTempDir();
        var good = Path.Combine(dir, "good.yar");
        var bad = Path.Combine(dir, "bad.yar");
        File.WriteAllText(good, Rules);
        File.WriteAllText(bad, "rule Broken { strings: $a = \"x\" condition: $a and ( }");
        Assert.Equal(0, ExirProcess.Run("rules", "check", good).ExitCode);
        var r = ExirProcess.Run("rules", "check", good, bad);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("bad.yar", r.Stdout + r.Stderr);
    }

    private static List<string> Sorted(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).Order(StringComparer.Ordinal).ToList();

    private static string RunYara(params string[] args)
    {
        Assert.True(File.Exists("/usr/bin/yara"), "yara is required (the test command installs it)");
        var psi = new ProcessStartInfo("/usr/bin/yara") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return stdout;
    }
}
