using System.Text.RegularExpressions;
using Exir.Core;
using Exir.Core.Evidence;
using Exir.Core.Findings;
using Exir.Detection.Files;
using Exir.Engine;
using Exir.Pipeline;

namespace Exir.Cli.Tests;

/// <summary>
/// The fixed cost of a run (docs/startup.md): rule matchers are built when the evidence needs them, and what the report
/// says of the rules does not depend on whether they were.
/// </summary>
public class StartupCostTests
{
    private static (ScanResult Result, YaraContentRules Yara) Scan(string root, RunOptions? options = null)
    {
        using var run = new ScanRun(options ?? new RunOptions());
        using var source = EvidenceSource.Open(root);
        using var evidence = EvidenceSet.Of(new EvidenceInput(source, "test"));
        var result = run.Scan(evidence, "test");
        var hunt = run.Consumers.OfType<FileHunt>().Single();
        return (result, Assert.IsType<YaraContentRules>(hunt.ContentRules));
    }

    [Fact]
    public void An_empty_scan_builds_no_yara_scanner_and_still_reports_the_rules()
    {
        var (result, yara) = Scan(TestPaths.NewTempDir("exir-startup-empty"));
        Assert.False(yara.IsCompiled);
        Assert.True(yara.RuleCount > 0);
        Assert.Equal(VerdictKind.NoEvidenceFound, result.Verdict.Kind);
        // The YARA layer counts as loaded (its rules parsed and counted), and the report names the rule set's digest.
        Assert.False(result.Coverage.ChecksNotRun.ContainsKey(YaraContentRules.LayerCheckName));
        Assert.Matches(@"^\d+ files, sha256:[0-9a-f]{16}$", result.Provenance.RulesVersion);
    }

    [Fact]
    public void A_web_file_builds_the_yara_scanner_and_its_rules_match()
    {
        var dir = TestPaths.NewTempDir("exir-startup-rules");
        var rules = Path.Combine(dir, "user.yar");
        File.WriteAllText(rules, "rule Startup_Marker { meta: severity = \"high\" strings: $m = \"exir_startup_marker\" condition: $m }");
        var root = TestPaths.NewTempDir("exir-startup-web");
        var web = Path.Combine(root, "inetpub", "wwwroot", "aspnet_client");
        Directory.CreateDirectory(web);
        File.WriteAllText(Path.Combine(web, "x.aspx"), "<%@ Page Language=\"C#\" %>\n<% /* exir_startup_marker */ %>\n");
        var (result, yara) = Scan(root, new RunOptions { ExtraYara = [rules] });
        Assert.True(yara.IsCompiled);
        Assert.Equal(yara.Compiled.Rules.Count, yara.RuleCount);
        Assert.Contains(result.Findings, f => f.RuleId == "yara:Startup_Marker");
    }

    [Fact]
    public void The_rule_count_without_building_equals_the_count_of_the_built_scanner()
    {
        var data = new DataFiles("rules", typeof(FileHunt).Assembly, null);
        var parsed = YaraContentRules.Load(data, []);
        int counted = parsed.RuleCount;
        Assert.False(parsed.IsCompiled);
        Assert.Equal(counted, parsed.Compiled.Rules.Count);
        Assert.True(parsed.IsCompiled);
    }

    [Fact]
    public void A_rule_regex_checks_its_syntax_at_once_and_builds_its_matcher_at_first_use()
    {
        Assert.ThrowsAny<ArgumentException>(() => new RuleRegex("a(b", RegexOptions.IgnoreCase));
        var linear = new RuleRegex(@"/owa/auth/(?<file>[a-z0-9]+)\.js", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
        Assert.False(linear.IsBuilt);
        var m = linear.Match("GET /OWA/auth/x1.js");
        Assert.True(linear.IsBuilt);
        Assert.Equal("x1", m.Groups["file"].Value);
        Assert.True((linear.Regex.Options & RegexOptions.NonBacktracking) != 0);
        // Look-behind needs the backtracking engine: it gets it, with the time limit that bounds it.
        var behind = new RuleRegex("(?<=cmd=)whoami", RegexOptions.IgnoreCase);
        Assert.True(behind.IsMatch("x?cmd=WHOAMI"));
        Assert.False(behind.IsMatch("whoami"));
        Assert.Equal(RuleRegex.BacktrackingTimeout, behind.Regex.MatchTimeout);
        Assert.Equal("(?<=cmd=)whoami", behind.ToString());
    }
}
