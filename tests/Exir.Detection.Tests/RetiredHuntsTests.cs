using System.Globalization;
using Exir.Core;
using Exir.Core.Evidence;
using Exir.Core.Findings;
using Exir.Detection.EventLogs;
using Exir.Detection.Sigma;
using Exir.Evtx;
using Exir.Pipeline;
using Exir.Sigma;
using YamlDotNet.RepresentationModel;

namespace Exir.Detection.Tests;

/// <summary>
/// The event-log hunts retired in favour of the built-in Sigma pack (tests/Shared/retired-hunts.yaml): every test of
/// every retired hunt, run through the pack with exir's semantics (SigmaHunt's exir.* tags), gives the hunt's answer,
/// and where it fires the record gets the hunt's timeline tag and a finding with the hunt's severity and outcome.
/// Also the exir.* tags themselves: timeline tag, outcome override, scan: false.
/// </summary>
public sealed class RetiredHuntsTests(ITestOutputHelper output)
{
    private static string RulesDirectory => Path.Combine(TestPaths.RepoRoot, "rules");
    private static string RetiredFile => Path.Combine(TestPaths.RepoRoot, "tests", "Shared", "retired-hunts.yaml");
    private static DataFiles Data => new("rules", typeof(EventLogRuleSet).Assembly, RulesDirectory);

    private static readonly Lazy<SigmaEngine> Pack = new(() => SigmaHunt.Load(Data, Array.Empty<string>()));
    private static readonly Lazy<IReadOnlyList<EventLogRule>> Retired = new(() => EventLogRuleSet.Parse(File.ReadAllText(RetiredFile), "retired-hunts.yaml"));

    public static TheoryData<string> RetiredIds()
    {
        var data = new TheoryData<string>();
        foreach (var r in EventLogRuleSet.Parse(File.ReadAllText(RetiredFile), "retired-hunts.yaml")) data.Add(r.Info.Id);
        return data;
    }

    [Fact]
    public void Retired_hunts_are_gone_from_the_shipped_hunts()
    {
        var shipped = EventLogRuleSet.Load(Data).Select(r => r.Info.Id).ToHashSet();
        Assert.Equal(9, Retired.Value.Count);
        Assert.All(Retired.Value, r => Assert.DoesNotContain(r.Info.Id, shipped));
        // The Exchange cmdlet hunt stays, as a timeline highlight: the pack's MSExchange Management rules are the findings.
        Assert.False(EventLogRuleSet.Load(Data).Single(r => r.Info.Id == "EVT-EXCHANGE-CMDLET").Scan);
    }

    [Theory]
    [MemberData(nameof(RetiredIds))]
    public void The_pack_answers_every_test_of_the_retired_hunt_with_its_tag_severity_and_outcome(string id)
    {
        var hunt = Retired.Value.Single(r => r.Info.Id == id);
        var failures = new List<string>();
        foreach (var (name, expected, e) in TestsOf(id))
        {
            var hits = new List<SigmaHit>();
            Pack.Value.Match(e, hits);
            var tagged = hits.Where(h => !h.CorrelationOnly && SigmaHunt.SemanticsOf(h.Rule).TimelineTags.Contains(hunt.Tag)).ToList();
            var findings = tagged.Where(h => SigmaHunt.SemanticsOf(h.Rule).Scan).Select(h => SigmaHunt.ToFinding(h, "a.evtx")).ToList();
            output.WriteLine($"{name}: expected {expected}, tagged by {string.Join(", ", tagged.Select(h => h.Rule.Title))}");
            if (expected != (findings.Count > 0)) failures.Add($"'{name}': the hunt {(expected ? "fires" : "stays quiet")}, the pack {(findings.Count > 0 ? "fires" : "stays quiet")} with tag {hunt.Tag}");
            foreach (var f in findings)
                if (f.Severity != hunt.Info.Severity || f.Outcome != hunt.Info.Outcome)
                    failures.Add($"'{name}': {f.RuleId} gives {f.Severity.ToWire()}/{f.Outcome.ToWire()}, the hunt {hunt.Info.Severity.ToWire()}/{hunt.Info.Outcome.ToWire()}");
            if (expected) Assert.Equal(e.RecordId, (ulong)findings[0].Line!.Value);
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void Exir_tags_are_read_case_insensitively_and_unknown_ones_are_problems()
    {
        var s = SigmaHunt.ParseSemantics(["attack.t1003.001", "EXIR.Tag.LSASS-Dump", "exir.outcome.Success", "exir.scan.false", "exir.colour.red", "exir.outcome.maybe"]);
        Assert.Equal(["lsass-dump"], s.TimelineTags);
        Assert.Equal(Outcome.Success, s.Outcome);
        Assert.False(s.Scan);
        Assert.Equal(2, s.Problems.Count);
        Assert.Same(SigmaHunt.ExirSemantics.None, SigmaHunt.ParseSemantics(["attack.t1059", "cve.2021-26857"]));
    }

    private const string HighlightRule = """
        title: Shell below the IIS worker, highlight only
        id: 1b0cf1e4-5b0e-4d4c-9a43-5c3a3f0d9a11
        status: test
        author: test
        tags: [attack.t1059, exir.tag.test-highlight, exir.tag.webshell-child, exir.scan.false]
        logsource: {product: windows, category: process_creation}
        detection:
          selection: {ParentImage|endswith: '\w3wp.exe', Image|endswith: '\cmd.exe'}
          condition: selection
        level: critical
        ---
        title: Shell below the IIS worker, an attempt only
        id: 6a4c0f53-8f0e-4e8b-8d7a-1f0b9e7c2d22
        status: test
        author: test
        tags: [exir.outcome.attempt]
        logsource: {product: windows, category: process_creation}
        detection:
          selection: {ParentImage|endswith: '\w3wp.exe', Image|endswith: '\cmd.exe'}
          condition: selection
        level: critical
        """;

    /// <summary>On the record pipeline (the IIS web shell sample): exir.tag.* reaches later consumers (the timeline),
    /// exir.scan.false reports no finding, exir.outcome.* overrides the outcome the level implies.</summary>
    [Fact]
    public void Exir_tags_tag_the_record_and_steer_the_finding_on_the_pipeline()
    {
        var set = SigmaRuleSet.Parse(HighlightRule, "highlight.yml", new SigmaLoadOptions { RulesDirectory = RulesDirectory });
        Assert.Empty(set.Report.Failed);
        var spy = new TagSpy();
        using var source = EvidenceSource.Open(TestPaths.InCorpus("evtx", "evtx-attack-samples", "LM_typical_IIS_webshell_sysmon_1_10_traces.evtx"));
        var context = new RecordPipeline(FilesTestSupport.Classifier, [new SigmaHunt(new SigmaEngine(set)), spy]).Run(source, new RunOptions { Parallelism = 1 });
        var tags = spy.TagsOf(1044);
        Assert.Contains("test-highlight", tags);
        Assert.Contains("webshell-child", tags);
        Assert.Contains("sigma:1b0cf1e4-5b0e-4d4c-9a43-5c3a3f0d9a11", tags);
        Assert.DoesNotContain(context.Findings, f => f.RuleId == "sigma:1b0cf1e4-5b0e-4d4c-9a43-5c3a3f0d9a11");
        var f = Assert.Single(context.Findings, f => f.RuleId == "sigma:6a4c0f53-8f0e-4e8b-8d7a-1f0b9e7c2d22" && f.Line == 1044);
        Assert.Equal(Severity.Critical, f.Severity);
        Assert.Equal(Outcome.Attempt, f.Outcome);
    }

    private sealed class TagSpy : IEventConsumer
    {
        private readonly Dictionary<ulong, List<string>> _tags = [];
        public string Name => "spy";
        public List<string> TagsOf(ulong record) { lock (_tags) return _tags.GetValueOrDefault(record) ?? []; }
        public IEventHandler Open(ArtifactProbe probe, RunContext context) => new Handler(this);
        private sealed class Handler(TagSpy spy) : IEventHandler
        {
            public void Event(WinEvent e, EventTags tags)
            {
                if (tags.All.Count == 0) return;
                lock (spy._tags) spy._tags[e.RecordId] = [.. tags.All];
            }
        }
    }

    // ------------------------------------------------------------------ the retired hunts' tests

    private static IEnumerable<(string Name, bool Fires, WinEvent Event)> TestsOf(string id)
    {
        var stream = new YamlStream();
        using (var reader = new StringReader(File.ReadAllText(RetiredFile))) stream.Load(reader);
        var rules = (YamlSequenceNode)Child((YamlMappingNode)stream.Documents.Single().RootNode, "rules")!;
        var hunt = rules.Children.OfType<YamlMappingNode>().Single(h => Scalar(h, "id") == id);
        ulong record = 1000;
        foreach (var t in ((YamlSequenceNode)Child(hunt, "tests")!).Children.OfType<YamlMappingNode>())
        {
            var ev = (YamlMappingNode)Child(t, "event")!;
            var data = new List<KeyValuePair<string, string>>();
            if (Child(ev, "data") is YamlMappingNode d)
                foreach (var (k, v) in d.Children) data.Add(new(((YamlScalarNode)k).Value!, (v as YamlScalarNode)?.Value ?? ""));
            var e = new WinEvent
            {
                EventId = int.Parse(Scalar(ev, "event_id")!, CultureInfo.InvariantCulture),
                Channel = Scalar(ev, "channel"), Provider = Scalar(ev, "provider") ?? "", Computer = Scalar(ev, "computer") ?? "EXCH01.contoso.local",
                Level = Scalar(ev, "level") is { } l ? int.Parse(l, CultureInfo.InvariantCulture) : 4,
                RecordId = ++record, TimestampUtc = new DateTime(2021, 3, 3, 5, 12, 33, DateTimeKind.Utc), Data = data,
            };
            yield return (Scalar(t, "name") ?? "(unnamed)", bool.Parse(Scalar((YamlMappingNode)Child(t, "expect")!, "fires")!), e);
        }
    }

    private static YamlNode? Child(YamlMappingNode map, string key) => map.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;
    private static string? Scalar(YamlMappingNode map, string key) => (Child(map, key) as YamlScalarNode)?.Value;
}
