using Exir.Tests;

namespace Exir.Cli.Tests;

/// <summary>exir rules check also validates the data other verbs read: the proxy's rule set and exposure, the mitigations.</summary>
/// <remarks>Tier slow: spawns processes, browsers or reference tools, or reads whole corpora; left out of scripts/test.sh --fast.</remarks>
[Trait("Tier", "slow")]
public class RulesCheckDataTests
{
    [Fact]
    public void BrokenProxyAndMitigationFilesAreNamedWithTheirProblems()
    {
        var rules = Path.Combine(TestPaths.NewTempDir("exir-rules-data"), "rules");
        var from = Path.Combine(TestPaths.RepoRoot, "rules");
        foreach (var f in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(rules, Path.GetRelativePath(from, f));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(f, to);
        }
        var clean = ExirProcess.Run("rules", "check", rules);
        Assert.Equal(0, clean.ExitCode);
        Assert.Matches(@"rules/proxy/exchange\.yaml: proxy rules, 0 problem", clean.Stdout);
        Assert.Matches(@"rules/mitigations/exchange\.yaml: mitigations, 0 problem", clean.Stdout);

        File.AppendAllText(Path.Combine(rules, "proxy", "exchange.yaml"), "\nsurprise_key: 1\n");
        var mitigations = Path.Combine(rules, "mitigations", "exchange.yaml");
        File.WriteAllText(mitigations, File.ReadAllText(mitigations).Replace("id:", "idd:"));
        var broken = ExirProcess.Run("rules", "check", rules);
        Assert.Equal(1, broken.ExitCode);
        Assert.Matches(@"rules/proxy/exchange\.yaml: proxy rules, [1-9]\d* problem", broken.Stdout);
        Assert.Matches(@"rules/mitigations/exchange\.yaml: mitigations, [1-9]\d* problem", broken.Stdout);
        Assert.Contains("surprise_key", broken.Stdout);
    }
}
