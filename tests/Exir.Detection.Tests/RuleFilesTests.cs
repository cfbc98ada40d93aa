using System.Text.Json.Nodes;
using Exir.Core;
using Exir.Detection.Files;
using Exir.Detection.Rules;
using Exir.Engine.Rules;
using Exir.Tests;

namespace Exir.Detection.Tests;

/// <summary>
/// Every rule file of rules/ has the shape its kind requires and every rule's tests: block passes, run through the scan's
/// own code by the generic runner (the same one 'exir rules check' uses). One theory row per file, so a broken rule file
/// is named in the test's name.
/// </summary>
public sealed class RuleFilesTests
{
    private static string RulesDirectory => Path.Combine(TestPaths.RepoRoot, "rules");
    private static readonly Lazy<RuleCatalog> Catalog = new(() => RuleCatalog.Load(new DataFiles("rules", typeof(FileHunt).Assembly, RulesDirectory)));

    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.EnumerateFiles(RulesDirectory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var rel = Path.GetRelativePath(RulesDirectory, f).Replace('\\', '/');
            if (rel.EndsWith(".yaml", StringComparison.Ordinal) || rel.EndsWith(".yar", StringComparison.Ordinal)) data.Add(rel);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Rule_file_has_its_shape_and_metadata_without_a_warning(string file)
    {
        var problems = Catalog.Value.Problems.Where(p => p.File == "rules/" + file || p.File.StartsWith("rules/" + file + ":", StringComparison.Ordinal)).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_test_of_the_rule_file_passes(string file)
    {
        var testsFile = file.EndsWith(".yar", StringComparison.Ordinal) ? file[..^4] + ".tests.yaml" : file;
        var results = RuleTests.RunFile(Catalog.Value, testsFile);
        var failed = results.Where(r => !r.Passed).ToList();
        Assert.True(failed.Count == 0, string.Join("\n", failed));
        if (DetectionRuleIds(file).Count > 0) Assert.NotEmpty(results);
    }

    /// <summary>Every detection rule has a test that makes it fire and one that must not (what it finds, and where it stops).</summary>
    [Theory]
    [MemberData(nameof(Files))]
    public void Every_detection_rule_has_a_firing_and_a_quiet_test(string file)
    {
        var ids = DetectionRuleIds(file);
        if (ids.Count == 0) return;
        var testsFile = file.EndsWith(".yar", StringComparison.Ordinal) ? file[..^4] + ".tests.yaml" : file;
        var results = RuleTests.RunFile(Catalog.Value, testsFile);
        var text = File.ReadAllText(Path.Combine(RulesDirectory, testsFile));
        var doc = YamlJson.Convert(text).Json;
        var expectations = TestsByRule(file, doc);
        foreach (var id in ids)
        {
            Assert.True(expectations.TryGetValue(id, out var fires), $"{id} has no tests");
            Assert.True(fires.Contains(true) || id == "FILE-KNOWN-BAD-HASH", $"{id} has no test that makes it fire"); // a hash cannot be inverted
            Assert.True(fires.Contains(false), $"{id} has no test where it must stay quiet");
        }
        Assert.All(results, r => Assert.True(r.Passed, r.ToString()));
    }

    [Fact]
    public void Schema_errors_name_the_line_the_rule_and_the_problem()
    {
        var schema = RuleSchema.Load(new DataFiles("rules", typeof(FileHunt).Assembly, RulesDirectory));
        var yaml = """
            rules:
              - id: LOG-TEST-BAD
                title: "A rule with mistakes in it"
                author: someone
                status: stable
                falsepositives: [none]
                explanation: "Shows that every mistake is found with its line and column."
                formats: [iis, nginx]
                literals: ["x"]
                severty: high
                match:
                  - { field: Stem, equls: /x }
                tests:
                  - { log: { fields: { Stem: /x } }, expect: { fires: true } }
                  - { log: { fields: { Stem: /y } }, expect: { fires: false } }
            """;
        var problems = schema.Validate("rules/logs/t.yaml", yaml, RuleFileKinds.LogRules);
        Assert.Contains(problems, p => p.Line == 8 && p.RuleId == "LOG-TEST-BAD" && p.Message.Contains("'nginx' is not one of iis, httpproxy"));
        Assert.Contains(problems, p => p.Line == 10 && p.Message == "unknown key 'severty'");
        Assert.Contains(problems, p => p.Line == 12 && p.Message == "unknown key 'equls'");
        // The condition's other shapes (a list, all/any/not) are not reported as well: the closest branch speaks.
        Assert.DoesNotContain(problems, p => p.Message.Contains("missing key(s): all"));
        Assert.All(problems, p => Assert.False(p.Warning));
    }

    [Fact]
    public void Missing_metadata_and_tests_warn_but_the_rule_still_loads()
    {
        var schema = RuleSchema.Load(new DataFiles("rules", typeof(FileHunt).Assembly, RulesDirectory));
        var problems = schema.Validate("rules/logs/t.yaml", """
            rules:
              - id: LOG-USER-RULE
                title: "A user's quick rule"
                explanation: "Written during an incident, without tests yet."
                formats: [iis]
                literals: ["x"]
                match: { field: Stem, equals: /x }
            """, RuleFileKinds.LogRules);
        var p = Assert.Single(problems);
        Assert.True(p.Warning);
        Assert.Contains("author", p.Message);
        Assert.Contains("tests", p.Message);
    }

    [Fact]
    public void A_broken_rule_is_left_out_and_named_and_the_others_run()
    {
        var dir = CopyRules();
        var file = Path.Combine(dir, "logs", "user-agents.yaml");
        File.WriteAllText(file, File.ReadAllText(file).Replace("severity: low", "severity: apocalyptic"));
        var catalog = RuleCatalog.Load(new DataFiles("rules", typeof(FileHunt).Assembly, dir));
        Assert.DoesNotContain(catalog.LogRules.Rules, r => r.Info.Id == "LOG-WEB-CAMPAIGN-UA");
        Assert.Contains(catalog.LogRules.Rules, r => r.Info.Id == "LOG-HTTPPROXY-SSRF");
        Assert.Contains(catalog.Errors, p => p.RuleId == "LOG-WEB-CAMPAIGN-UA" && p.Message.Contains("apocalyptic") && p.Line > 0);
        var coverage = new Exir.Core.Coverage.CoverageReport();
        catalog.ReportInto(coverage);
        Assert.Contains(coverage.Issues, i => i.Kind == Exir.Core.Coverage.IssueKind.RuleSkipped && i.Message.Contains("LOG-WEB-CAMPAIGN-UA"));
    }

    [Fact]
    public void A_test_with_a_wrong_expectation_fails()
    {
        var dir = CopyRules();
        var file = Path.Combine(dir, "logs", "proxylogon.yaml");
        // The nmap probe is graded as a scan; claim it is a success.
        var text = File.ReadAllText(file);
        Assert.Contains("expect: { fires: true, severity: low, outcome: scan }", text);
        File.WriteAllText(file, text.Replace("expect: { fires: true, severity: low, outcome: scan }", "expect: { fires: true, severity: low, outcome: success }"));
        var catalog = RuleCatalog.Load(new DataFiles("rules", typeof(FileHunt).Assembly, dir));
        var failed = Assert.Single(RuleTests.RunFile(catalog, "logs/proxylogon.yaml"), r => !r.Passed);
        Assert.Equal("LOG-HTTPPROXY-SSRF", failed.RuleId);
        Assert.Contains("outcome scan, expected success", failed.Message);
    }

    /// <summary>The ids of the detections a file holds (YARA: the rule names, as yara:NAME).</summary>
    private static List<string> DetectionRuleIds(string file)
    {
        var kind = RuleFileKinds.Of(file);
        if (file.EndsWith(".yar", StringComparison.Ordinal))
        {
            var yara = YaraContentRules.FromSource(File.ReadAllText(Path.Combine(RulesDirectory, file)), file, builtIn: true);
            return yara.Compiled.Rules.Select(r => "yara:" + r.Name).ToList();
        }
        if (kind is not (RuleFileKinds.LogRules or RuleFileKinds.EventRules or RuleFileKinds.FileHunt or RuleFileKinds.SuspiciousFiles or RuleFileKinds.Tamper)) return [];
        var doc = YamlJson.Convert(File.ReadAllText(Path.Combine(RulesDirectory, file))).Json;
        if (kind == RuleFileKinds.Tamper)
            return new[] { "record_gap", "time_gap", "time_backwards" }.Select(k => doc[k]?["id"]?.ToString()).OfType<string>().ToList();
        return (doc["rules"] as JsonArray ?? []).Select(r => r?["id"]?.ToString()).OfType<string>().ToList();
    }

    /// <summary>For each rule, the 'fires' values of its tests.</summary>
    private static Dictionary<string, List<bool>> TestsByRule(string file, JsonNode doc)
    {
        var result = new Dictionary<string, List<bool>>(StringComparer.Ordinal);
        void Add(string id, JsonNode? tests)
        {
            foreach (var t in tests as JsonArray ?? [])
                if (t?["expect"]?["fires"]?.ToString() is { } f)
                    (result.TryGetValue(id, out var l) ? l : result[id] = []).Add(f == "true");
        }
        if (file.EndsWith(".yar", StringComparison.Ordinal))
        {
            foreach (var t in doc["tests"] as JsonArray ?? [])
                if (t?["rule"]?.ToString() is { } rule) Add("yara:" + rule, new JsonArray(t.DeepClone()));
        }
        else if (RuleFileKinds.Of(file) == RuleFileKinds.Tamper)
        {
            foreach (var k in new[] { "record_gap", "time_gap", "time_backwards" })
                if (doc[k]?["id"]?.ToString() is { } id) Add(id, doc[k]!["tests"]);
        }
        else
            foreach (var r in doc["rules"] as JsonArray ?? [])
                if (r?["id"]?.ToString() is { } id) Add(id, r["tests"]);
        return result;
    }

    private static string CopyRules()
    {
        var dir = Path.Combine(TestPaths.NewTempDir(), "rules");
        foreach (var f in Directory.EnumerateFiles(RulesDirectory, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(dir, Path.GetRelativePath(RulesDirectory, f));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(f, target);
        }
        return dir;
    }
}
