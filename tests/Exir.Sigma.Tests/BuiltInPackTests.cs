using System.Globalization;
using Exir.Evtx;
using Exir.Logs;
using YamlDotNet.RepresentationModel;

namespace Exir.Sigma.Tests;

/// <summary>
/// The team's built-in Sigma pack (rules/sigma): every rule loads and reads an event source, every rule carries a
/// test where it fires and one where it stays quiet, and every test passes through the engine with the whole pack
/// loaded (so a test also fails when the rule fires where it must not). One theory row per rule file.
/// Test format (rules/sigma/README.md): `event:` (one Windows event), `log:` (one IIS or HttpProxy line by field)
/// or `events:` (a time-ordered sequence, for correlations), and `match: true|false`.
/// </summary>
public sealed class BuiltInPackTests(ITestOutputHelper output)
{
    private static string RulesDirectory => Path.Combine(TestPaths.RepoRoot, "rules");
    private static string PackDirectory => Path.Combine(RulesDirectory, "sigma");

    private static readonly Lazy<SigmaRuleSet> Pack = new(() =>
        SigmaRuleSet.Load([PackDirectory], new SigmaLoadOptions { RulesDirectory = RulesDirectory }));

    private static readonly Lazy<SigmaEngine> Engine = new(() => new SigmaEngine(Pack.Value));

    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        // Web rules live in web/ (exir hunt runs them; scan leaves web logs to the decoding log rules).
        foreach (var f in Directory.EnumerateFiles(PackDirectory, "*.yml", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            data.Add(Path.GetRelativePath(PackDirectory, f).Replace('\\', '/'));
        return data;
    }

    [Fact]
    public void Every_rule_of_the_pack_loads_and_reads_an_event_source()
    {
        var set = Pack.Value;
        output.WriteLine(set.Report.ToString());
        Assert.True(set.Report.Failed.Count == 0, string.Join("\n", set.Report.Failed));
        Assert.Equal(Files().Count, set.Rules.Count + set.Correlations.Count);
        Assert.True(!set.Report.WithoutSource.Any(), string.Join("\n", set.Report.WithoutSource.Select(s => $"{s.Rule}: {s.Reason}")));
        Assert.All(set.Rules.Concat(set.Correlations), r => Assert.Equal("exir developers", r.Author));
        Assert.Equal(set.Rules.Count + set.Correlations.Count, set.Rules.Concat(set.Correlations).Select(r => r.Id).Distinct().Count());
    }

    /// <summary>
    /// A rule a correlation refers to reports on its own only when the correlation says `generate: true`; in the pack
    /// only building blocks (level informational) are left to their correlation.
    /// </summary>
    [Fact]
    public void Only_informational_building_blocks_are_correlation_only()
    {
        foreach (var rule in Pack.Value.Rules)
        {
            var first = TestsOf(Path.GetRelativePath(PackDirectory, rule.File).Replace('\\', '/')).First(t => t.Match);
            var hits = new List<SigmaHit>();
            if (Child(first.Node, "event") is YamlMappingNode ev) Engine.Value.Match(ToEvent(ev), hits);
            else MatchLog((YamlMappingNode)Child(first.Node, "log")!, hits);
            var hit = Assert.Single(hits, h => h.Rule.Id == rule.Id);
            Assert.True(hit.CorrelationOnly == (rule.Level == SigmaLevel.Informational), $"{rule}: CorrelationOnly={hit.CorrelationOnly}");
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Rule_has_a_firing_and_a_quiet_test(string file)
    {
        var tests = TestsOf(file);
        Assert.Contains(tests, t => t.Match);
        Assert.Contains(tests, t => !t.Match);
    }

    /// <summary>Every test through the engine's own runner (`SigmaRuleTests`, what `exir rules check` uses):
    /// events and lines through the whole engine, `events:` sequences of correlations through a fresh correlator.</summary>
    [Theory]
    [MemberData(nameof(Files))]
    public void Every_test_of_the_rule_passes(string file)
    {
        var rule = RuleOf(file);
        var results = EngineResults.Value.Where(r => ReferenceEquals(r.Rule, rule)).ToList();
        foreach (var r in results) output.WriteLine(r.ToString());
        Assert.Equal(TestsOf(file).Count, results.Count);
        Assert.True(results.All(r => r.Passed), string.Join("\n", results.Where(r => !r.Passed)));
    }

    private static readonly Lazy<List<SigmaRuleTestResult>> EngineResults = new(() => SigmaRuleTests.Run(Pack.Value));

    /// <summary>
    /// exir's own event-log hunts that a pack rule (or several) fully covers (rules/sigma/README.md): every test of
    /// the hunt gives the same answer through the pack. The nine are retired: their tests live on in
    /// tests/Shared/retired-hunts.yaml (Exir.Detection.Tests' RetiredHuntsTests also checks tag, severity and outcome).
    /// </summary>
    public static TheoryData<string, string[]> HuntsTheSigmaPackCovers() => new()
    {
        { "EVT-WEBSHELL-CHILD", ["proc_creation_win_exchange_worker_shell_child.yml"] },
        { "EVT-UM-CHILD", ["proc_creation_win_exchange_um_unexpected_child.yml"] },
        { "EVT-NET-USER-ADD", ["proc_creation_win_net_account_add.yml"] },
        { "EVT-PRIV-GROUP-ADD", ["win_security_privileged_group_member_added.yml"] },
        { "EVT-AD-ACL-CHANGE", ["win_security_ad_object_acl_changed.yml"] },
        { "EVT-CVE-2021-26857", ["win_app_exchange_um_invalidcast_cve_2021_26857.yml"] },
        { "EVT-LSASS-ACCESS", ["proc_access_win_lsass_dump_call_trace.yml"] },
        { "EVT-LSASS-COMSVCS", ["proc_creation_win_lsass_dump_comsvcs_minidump.yml", "posh_ps_lsass_dump_script.yml", "posh_pm_lsass_dump_module_log.yml", "posh_pc_lsass_dump_classic_pipeline.yml"] },
        { "EVT-LSASS-TOOLDUMP", ["proc_creation_win_lsass_dump_tool.yml", "posh_ps_lsass_dump_script.yml", "posh_pm_lsass_dump_module_log.yml", "posh_pc_lsass_dump_classic_pipeline.yml"] },
    };

    [Theory]
    [MemberData(nameof(HuntsTheSigmaPackCovers))]
    public void The_pack_answers_every_test_of_the_hunt_it_covers(string huntId, string[] files)
    {
        // A hunt removed in favour of the pack keeps its tests in tests/Shared/retired-hunts.yaml.
        var hunt = HuntIn(Path.Combine(RulesDirectory, "eventlogs", "hunts.yaml"), huntId)
                   ?? HuntIn(Path.Combine(TestPaths.RepoRoot, "tests", "Shared", "retired-hunts.yaml"), huntId);
        Assert.True(hunt is not null, $"{huntId} is neither in rules/eventlogs/hunts.yaml nor in tests/Shared/retired-hunts.yaml");
        var ids = files.Select(f => RuleOf(f).Id).ToHashSet();
        var failures = new List<string>();
        foreach (var t in ((YamlSequenceNode)Child(hunt, "tests")!).Children.OfType<YamlMappingNode>())
        {
            bool expected = bool.Parse(Scalar((YamlMappingNode)Child(t, "expect")!, "fires")!);
            var hits = new List<SigmaHit>();
            Engine.Value.Match(ToEvent((YamlMappingNode)Child(t, "event")!), hits);
            bool fired = hits.Any(h => ids.Contains(h.Rule.Id));
            output.WriteLine($"{(fired == expected ? "ok  " : "FAIL")} {Scalar(t, "name")}: pack fired={fired}, hunt fires={expected}");
            if (fired != expected) failures.Add($"{huntId} '{Scalar(t, "name")}': the hunt {(expected ? "fires" : "stays quiet")}, the pack {(fired ? "fires" : "stays quiet")}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    private static YamlMappingNode? HuntIn(string file, string huntId)
    {
        var stream = new YamlStream();
        using (var reader = new StringReader(File.ReadAllText(file))) stream.Load(reader);
        var hunts = (YamlSequenceNode)Child((YamlMappingNode)stream.Documents.Single().RootNode, "rules")!;
        return hunts.Children.OfType<YamlMappingNode>().SingleOrDefault(h => Scalar(h, "id") == huntId);
    }

    // ------------------------------------------------------------------ running one test

    private static void MatchLog(YamlMappingNode log, List<SigmaHit> hits)
    {
        var formatName = Scalar(log, "format") ?? "iis";
        var format = LogFormats.ByName(formatName) ?? throw new InvalidOperationException("unknown log format " + formatName);
        var fields = Child(log, "fields") as YamlMappingNode ?? throw new InvalidOperationException("a log test needs fields:");
        var list = fields.Children.Select(kv => new KeyValuePair<string, string>(((YamlScalarNode)kv.Key).Value!, ((YamlScalarNode)kv.Value).Value ?? "")).ToList();
        Engine.Value.MatchWeb(format, list, hits, Time(log));
    }

    private static WinEvent ToEvent(YamlMappingNode ev)
    {
        var data = new List<KeyValuePair<string, string>>();
        if (Child(ev, "data") is YamlMappingNode d)
            foreach (var (k, v) in d.Children)
                data.Add(new(((YamlScalarNode)k).Value!, (v as YamlScalarNode)?.Value ?? ""));
        return new WinEvent
        {
            EventId = int.Parse(Scalar(ev, "event_id") ?? throw new InvalidOperationException("event_id missing"), CultureInfo.InvariantCulture),
            Channel = Scalar(ev, "channel"),
            Provider = Scalar(ev, "provider") ?? "",
            Computer = Scalar(ev, "computer"),
            Level = Scalar(ev, "level") is { } l ? int.Parse(l, CultureInfo.InvariantCulture) : 4,
            RecordId = Scalar(ev, "record_id") is { } r ? ulong.Parse(r, CultureInfo.InvariantCulture) : 1,
            TimestampUtc = Time(ev) ?? new DateTime(2021, 3, 3, 5, 12, 33, DateTimeKind.Utc),
            Data = data,
        };
    }

    private static DateTime? Time(YamlMappingNode node) =>
        Scalar(node, "time") is { } t ? DateTime.Parse(t, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal) : null;

    // ------------------------------------------------------------------ reading the files

    private sealed record PackTest(string Name, bool Match, YamlMappingNode Node);

    private static SigmaRule RuleOf(string file)
    {
        var set = Pack.Value;
        return set.Rules.Concat(set.Correlations).SingleOrDefault(r => Path.GetRelativePath(PackDirectory, r.File).Replace('\\', '/') == file)
               ?? throw new InvalidOperationException($"{file} did not load: " + string.Join("; ", set.Report.Failed.Where(p => p.File.EndsWith(file, StringComparison.Ordinal))));
    }

    private static List<PackTest> TestsOf(string file)
    {
        var stream = new YamlStream();
        using (var reader = new StringReader(File.ReadAllText(Path.Combine(PackDirectory, file)))) stream.Load(reader);
        var root = (YamlMappingNode)stream.Documents.Single().RootNode;
        if (Child(root, "tests") is not YamlSequenceNode tests) return [];
        return tests.Children.OfType<YamlMappingNode>()
            .Select(t => new PackTest(Scalar(t, "name") ?? "(unnamed)", Scalar(t, "match") is { } m && bool.Parse(m), t))
            .ToList();
    }

    private static YamlNode? Child(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;

    private static string? Scalar(YamlMappingNode map, string key) => (Child(map, key) as YamlScalarNode)?.Value;
}
