using Exir.Core;
using Exir.Proxy;

namespace Exir.Proxy.Tests;

/// <summary>Broken rule and exposure files are refused with the file, the line and what is wrong.</summary>
public sealed class RuleFileTests
{
    private static ProxyDataException Refused(string yaml) =>
        Assert.Throws<ProxyDataException>(() => ProxyRuleSet.Parse([("local.yaml", yaml)]));

    private const string Good = """
        rules:
          - id: LOCAL-1
            title: "t"
            wave: local
            action: block
            when: { field: path, prefix: /x }
        """;

    [Fact]
    public void A_good_file_loads_and_its_rule_works()
    {
        var set = ProxyRuleSet.Parse([("local.yaml", Good)]);
        Assert.True(set.Evaluate(RequestNormaliser.Normalise("GET", "/X/y", []), false).Blocked);
        Assert.Equal(RuleVerdict.Pass, set.Evaluate(RequestNormaliser.Normalise("GET", "/y/x", []), false));
    }

    [Theory]
    [InlineData("rules:\n  - id: A\n    title: t\n    wave: w\n    action: block\n    when: { field: path, prefx: /x }\n", 6, "unknown key 'prefx'")]
    [InlineData("rules:\n  - id: A\n    title: t\n    wave: w\n    action: deny\n    when: { field: path, prefix: /x }\n", 5, "action 'deny' is not one of block, log")]
    [InlineData("rules:\n  - id: A\n    title: t\n    wave: w\n    action: block\n    when: { field: body, contains: x }\n", 6, "unknown field 'body'")]
    [InlineData("rules:\n  - id: A\n    title: t\n    wave: w\n    action: block\n    when: { field: path, regex: '(?<=a)b' }\n", 6, "cannot be used")]
    [InlineData("rules:\n  - id: A\n    title: t\n    wave: w\n    action: block\n    when: { field: path, regex: '(' }\n", 6, "cannot be used")]
    [InlineData("rules:\n  - id: A\n    title: t\n    wave: w\n    action: block\n    when: { field: path, prefix: /x, suffix: .y }\n", 6, "exactly one operator")]
    [InlineData("rules:\n  - id: A\n    title: t\n    wave: w\n    action: block\n    when:\n      all: []\n", 7, "non-empty list")]
    [InlineData("rules:\n  - id: A\n    wave: w\n    action: block\n    when: { field: path, prefix: /x }\n", 2, "missing 'title'")]
    [InlineData("rules:\n  - id: A\n    title: t\n    wave: w\n    action: block\n    when: { field: client, equals: dmz }\n", 6, "client is 'internal' or 'external'")]
    // The parser notices the unclosed list where the text ends.
    [InlineData("rules:\n  - id: A\n    title: [t\n", 4, "not valid YAML")]
    public void Problems_name_the_line(string yaml, int line, string message)
    {
        var e = Refused(yaml);
        var p = Assert.Single(e.Problems);
        Assert.Equal("local.yaml", p.File);
        Assert.Equal(line, p.Line);
        Assert.Contains(message, p.Message);
        Assert.Contains($"local.yaml:{line}:", e.Message);
    }

    [Fact]
    public void Duplicate_ids_across_files_are_refused()
    {
        var e = Assert.Throws<ProxyDataException>(() => ProxyRuleSet.Parse([("a.yaml", Good), ("b.yaml", Good)]));
        var p = Assert.Single(e.Problems);
        Assert.Equal("b.yaml", p.File);
        Assert.Contains("already used in a.yaml:2", p.Message);
    }

    [Fact]
    public void Every_problem_of_a_file_is_reported_at_once()
    {
        var e = Refused("rules:\n  - id: A\n    title: t\n    wave: w\n    action: nope\n    when: { field: nope, equals: x }\n  - title: t\n    wave: w\n    when: { field: path, prefix: /x }\n");
        // Line 7 lacks both its id and its action.
        Assert.Equal([5, 6, 7, 7], e.Problems.Select(p => p.Line).Order());
        Assert.Contains(e.Problems, p => p.Line == 7 && p.Message == "missing 'id'");
    }

    [Fact]
    public void A_user_rules_folder_adds_rules_beside_the_shipped_ones()
    {
        var dir = TestPaths.NewTempDir("exir-proxy-rules");
        Directory.CreateDirectory(Path.Combine(dir, "proxy"));
        foreach (var f in new[] { "exchange.yaml", "exposure.yaml" })
            File.Copy(Path.Combine(TestPaths.RepoRoot, "rules", "proxy", f), Path.Combine(dir, "proxy", f));
        File.WriteAllText(Path.Combine(dir, "proxy", "local.yaml"), Good);
        var policy = ProxyPolicy.Load(new DataFiles("rules", typeof(ProxyPolicy).Assembly, dir));
        Assert.Contains(policy.Rules.Rules, r => r.Id == "LOCAL-1" && r.File == "proxy/local.yaml");
        Assert.Contains(policy.Rules.Rules, r => r.Id == "PX-PNS-AUTODISCOVER-POWERSHELL");
    }

    [Theory]
    [InlineData("internalNetworks: [10.0.0.0/33]\nroutes:\n  - { prefix: /owa, methods: [GET] }\n", 1, "not a network")]
    [InlineData("routes:\n  - { prefix: owa, methods: [GET] }\n", 2, "must start with '/'")]
    [InlineData("routes:\n  - { prefix: /owa, access: dmz, methods: [GET] }\n", 2, "access 'dmz'")]
    [InlineData("routes:\n  - { prefix: /owa }\n", 2, "missing 'methods'")]
    [InlineData("routes:\n  - { prefix: /owa, methods: [GET], enabled: maybe }\n", 2, "enabled 'maybe'")]
    [InlineData("routs: []\n", 1, "unknown key 'routs'")]
    public void Exposure_problems_name_the_line(string yaml, int line, string message)
    {
        var e = Assert.Throws<ProxyDataException>(() => Exposure.Parse("exposure.yaml", yaml));
        Assert.Contains(e.Problems, p => p.Line == line && p.Message.Contains(message));
    }

    [Fact]
    public void A_regex_rule_stays_fast_on_a_long_hostile_value()
    {
        // NonBacktracking: a pattern that backtracks exponentially elsewhere runs in linear time here.
        var set = ProxyRuleSet.Parse([("local.yaml", "rules:\n  - id: R\n    title: t\n    wave: w\n    action: block\n    when: { field: query, regex: '^(a+)+$' }\n")]);
        var n = RequestNormaliser.Normalise("GET", "/x?" + new string('a', 5000) + "!", []);
        Assert.False(set.Evaluate(n, false).Blocked);
    }
}

/// <summary>The rule example in docs/proxy.md is a working rule, so the documentation cannot drift from the loader.</summary>
public sealed class DocumentationTests
{
    [Fact]
    public void The_documented_example_rule_loads_and_matches()
    {
        var doc = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "proxy.md"));
        var start = doc.IndexOf("```yaml\nrules:", StringComparison.Ordinal);
        Assert.True(start >= 0, "docs/proxy.md has no yaml rule example");
        start += "```yaml\n".Length;
        var yaml = doc[start..doc.IndexOf("```", start, StringComparison.Ordinal)];
        var set = ProxyRuleSet.Parse([("docs/proxy.md", yaml)]);
        var old = RequestNormaliser.Normalise("POST", "/Microsoft-Server-ActiveSync?Cmd=Sync", [new Header("MS-ASProtocolVersion", "12.0")]);
        var current = RequestNormaliser.Normalise("POST", "/Microsoft-Server-ActiveSync?Cmd=Sync", [new Header("MS-ASProtocolVersion", "16.1")]);
        Assert.True(set.Evaluate(old, false).Blocked);
        Assert.False(set.Evaluate(current, false).Blocked);
    }
}
