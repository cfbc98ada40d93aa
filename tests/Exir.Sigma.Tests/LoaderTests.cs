using Exir.Sigma;
using static Exir.Sigma.Tests.SigmaTestKit;

namespace Exir.Sigma.Tests;

/// <summary>Loading: metadata, filters, the report, multi-document files, rule tests.</summary>
public sealed class LoaderTests
{
    [Fact]
    public void MetadataReachesTheHitForAttribution()
    {
        var yaml = Rule("    sel:\n        EventID: 1102\n    condition: sel", extra:
            "references:\n    - https://example.org/a\ntags:\n    - attack.defense-evasion\n    - attack.t1070.001\n");
        var set = Load(yaml);
        var hits = new List<SigmaHit>();
        new SigmaEngine(set).Match(Event(1102), hits);
        var rule = Assert.Single(hits).Rule;
        Assert.Equal("exir tests", rule.Author);
        Assert.Equal(SigmaRuleSet.DetectionRuleLicenseUrl, rule.LicenseUrl);
        Assert.Equal(["T1070.001"], rule.AttackTechniques);
        Assert.Equal(["https://example.org/a"], rule.References);
        Assert.Equal(SigmaLevel.High, rule.Level);
    }

    [Fact]
    public void FiltersByStatusLevelMinimumLevelAndTags()
    {
        string R(string id, string status, string level, string tag) =>
            $"title: r{id}\nid: {id}\nstatus: {status}\nlevel: {level}\ntags: [{tag}]\nlogsource:\n    product: windows\n    service: security\ndetection:\n    sel:\n        EventID: 1\n    condition: sel\n";
        var yaml = string.Join("---\n", R("a", "stable", "low", "attack.t1003"), R("b", "test", "high", "attack.t1059"), R("c", "deprecated", "critical", "attack.t1003"), R("d", "experimental", "medium", "attack.t1003"));
        Assert.Equal(["a", "b", "d"], SigmaRuleSet.Parse(yaml).Rules.Select(r => r.Id));
        Assert.Equal(["b", "d"], SigmaRuleSet.Parse(yaml, options: new() { MinimumLevel = SigmaLevel.Medium }).Rules.Select(r => r.Id));
        Assert.Equal(["a", "d"], SigmaRuleSet.Parse(yaml, options: new() { Tags = ["attack.T1003"] }).Rules.Select(r => r.Id));
        Assert.Equal(["a"], SigmaRuleSet.Parse(yaml, options: new() { Statuses = new HashSet<string> { "stable" } }).Rules.Select(r => r.Id));
        Assert.Equal(["b"], SigmaRuleSet.Parse(yaml, options: new() { Levels = new HashSet<SigmaLevel> { SigmaLevel.High } }).Rules.Select(r => r.Id));
        var report = SigmaRuleSet.Parse(yaml, options: new() { MinimumLevel = SigmaLevel.High }).Report;
        Assert.Equal(3, report.Filtered);
        Assert.Empty(report.Failed);
    }

    [Fact]
    public void ReportNamesFileAndReasonAndTheShare()
    {
        var dir = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(dir, "good.yml"), Rule("    sel:\n        EventID: 1\n    condition: sel"));
        File.WriteAllText(Path.Combine(dir, "bad-yaml.yml"), "title: x\n  - : [\n");
        File.WriteAllText(Path.Combine(dir, "no-detection.yml"), "title: x\nlogsource:\n    service: security\n");
        File.WriteAllText(Path.Combine(dir, "notes.txt"), "not a rule");
        var set = SigmaRuleSet.Load([dir]);
        Assert.Equal(3, set.Report.Files);
        Assert.Equal(1, set.Report.Loaded);
        Assert.Equal(2, set.Report.Failed.Count);
        Assert.Contains(set.Report.Failed, f => f.File.EndsWith("bad-yaml.yml") && f.Reason.StartsWith("YAML error"));
        Assert.Contains(set.Report.Failed, f => f.File.EndsWith("no-detection.yml") && f.Reason == "no detection");
        Assert.Equal(1 / 3.0, set.Report.LoadedShare, 3);
    }

    [Fact]
    public void GlobalAndRepeatDocumentsMerge()
    {
        const string yaml = """
            action: global
            title: collection
            status: test
            level: medium
            detection:
                sel:
                    CommandLine|contains: 'mimikatz'
                condition: sel
            ---
            id: aaaaaaaa-0000-0000-0000-000000000001
            logsource:
                category: process_creation
                product: windows
            ---
            action: repeat
            id: aaaaaaaa-0000-0000-0000-000000000002
            level: high
            detection:
                sel:
                    CommandLine|contains: 'procdump'
            """;
        var set = SigmaRuleSet.Parse(yaml);
        Assert.Empty(set.Report.Failed);
        Assert.Equal(2, set.Rules.Count);
        Assert.All(set.Rules, r => Assert.Equal("collection", r.Title));
        Assert.Contains(set.Report.Notes, n => n.Contains("action: global"));
        // Merges are deep: the repeat keeps the logsource and the condition and replaces the selection's value.
        Assert.Equal([SigmaLevel.Medium, SigmaLevel.High], set.Rules.Select(r => r.Level));
        var engine = new SigmaEngine(set);
        var hits = new List<SigmaHit>();
        engine.Match(Event(1, "Microsoft-Windows-Sysmon/Operational", data: [("CommandLine", "x mimikatz")]), hits);
        Assert.Equal("aaaaaaaa-0000-0000-0000-000000000001", Assert.Single(hits).Rule.Id);
        hits.Clear();
        engine.Match(Event(1, "Microsoft-Windows-Sysmon/Operational", data: [("CommandLine", "procdump -ma lsass")]), hits);
        Assert.Equal("aaaaaaaa-0000-0000-0000-000000000002", Assert.Single(hits).Rule.Id);
    }

    [Fact]
    public void RuleTestsRunEventAndLogSamples()
    {
        const string yaml = """
            title: cmd.exe started by IIS
            id: bbbbbbbb-0000-0000-0000-000000000001
            status: test
            level: high
            author: exir tests
            logsource:
                category: process_creation
                product: windows
            detection:
                sel:
                    ParentImage|endswith: '\w3wp.exe'
                    Image|endswith: '\cmd.exe'
                condition: sel
            tests:
              - name: w3wp starts cmd (4688)
                event: { event_id: 4688, channel: Security, provider: Microsoft-Windows-Security-Auditing, computer: EXCH01,
                         data: { NewProcessName: 'C:\Windows\System32\cmd.exe', ParentProcessName: 'c:\windows\system32\inetsrv\w3wp.exe' } }
                match: true
              - name: explorer starts cmd
                event: { event_id: 1, channel: Microsoft-Windows-Sysmon/Operational, data: { Image: 'C:\Windows\System32\cmd.exe', ParentImage: 'C:\Windows\explorer.exe' } }
                match: false
              - name: this one is wrong on purpose
                event: { event_id: 1, channel: Microsoft-Windows-Sysmon/Operational, data: { Image: 'C:\Windows\System32\cmd.exe', ParentImage: 'C:\Windows\explorer.exe' } }
                expect: { fires: true }
            ---
            title: OWA theme resources POST
            id: bbbbbbbb-0000-0000-0000-000000000002
            status: test
            level: high
            logsource:
                category: webserver
            detection:
                sel:
                    cs-method: POST
                    cs-uri-stem|startswith: '/owa/auth/Current/themes/resources/'
                condition: sel
            tests:
              - name: IIS line
                log: { format: iis, fields: { cs-method: POST, cs-uri-stem: /owa/auth/Current/themes/resources/x.css, sc-status: "200" } }
                match: true
              - name: HttpProxy line
                log: { format: httpproxy, fields: { Method: POST, UrlStem: /owa/auth/Current/themes/resources/x.css, HttpStatus: "200" } }
                match: true
              - name: GET is ordinary
                log: { format: httpproxy, fields: { Method: GET, UrlStem: /owa/auth/Current/themes/resources/x.css } }
                match: false
              - name: no sample
                match: true
            """;
        var results = SigmaRuleTests.Run(Load(yaml));
        Assert.Equal(7, results.Count);
        Assert.Equal(["w3wp starts cmd (4688)", "explorer starts cmd", "IIS line", "HttpProxy line", "GET is ordinary"],
            results.Where(r => r.Passed).Select(r => r.Name));
        var wrong = results.Single(r => r.Name == "this one is wrong on purpose");
        Assert.False(wrong.Passed);
        Assert.Contains("expected a match", wrong.ToString());
        Assert.Contains("neither 'event', 'events' nor 'log'", results.Single(r => r.Name == "no sample").Problem);
    }

    [Fact]
    public void NoMatchPathDoesNotAllocatePerEvent()
    {
        var yaml = Rule("    sel:\n        CommandLine|contains:\n            - 'mimikatz'\n            - 'procdump'\n        Image|endswith: '\\cmd.exe'\n    filter:\n        User|startswith: 'NT AUTHORITY'\n    condition: sel and not filter", "category: process_creation\n    product: windows");
        var engine = new SigmaEngine(Load(yaml));
        var e = Event(1, "Microsoft-Windows-Sysmon/Operational", data: [("Image", @"C:\Windows\System32\cmd.exe"), ("CommandLine", "cmd /c dir"), ("User", "CONTOSO\\bob"), ("Data[1]", "x"), ("Data[2]", "y")]);
        var hits = new List<SigmaHit>();
        for (int i = 0; i < 1000; i++) engine.Match(e, hits); // warm up (view, search tables)
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++) engine.Match(e, hits);
        long perEvent = (GC.GetAllocatedBytesForCurrentThread() - before) / 10_000;
        Assert.Empty(hits);
        Assert.True(perEvent < 8, $"{perEvent} bytes allocated per non-matching event");
    }

    [Fact]
    public void HostileNestingIsALoadErrorNotACrash()
    {
        var deepCondition = Rule("    sel:\n        A: 'x'\n    condition: " + new string('(', 5000) + "sel" + new string(')', 5000));
        Assert.Contains("nested deeper", LoadError(deepCondition));
        var deepNots = Rule("    sel:\n        A: 'x'\n    condition: " + string.Concat(Enumerable.Repeat("not ", 5000)) + "sel");
        Assert.Contains("nested deeper", LoadError(deepNots));
        var deepYaml = Rule("    sel:\n        A: " + new string('[', 3000) + new string(']', 3000) + "\n    condition: sel");
        var set = SigmaRuleSet.Parse(deepYaml, "t.yml");
        Assert.Single(set.Report.Failed);
    }

    [Fact]
    public void NamedTextsAndFilesLoadIntoOneSet()
    {
        var dir = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(dir, "b.yml"), Rule("    sel:\n        EventID: 2\n    condition: sel", id: "b"));
        var set = SigmaRuleSet.Load([("rules/sigma/a.yml", Rule("    sel:\n        EventID: 1\n    condition: sel", id: "a"))], [dir]);
        Assert.Equal(["a", "b"], set.Rules.Select(r => r.Id));
        Assert.Equal("rules/sigma/a.yml", set.Rules[0].File);
        Assert.Equal(2, set.Report.Files);
    }

    [Fact]
    public void RuleSetIsSafeToMatchFromSeveralThreads()
    {
        var set = Load(Rule("    sel:\n        CommandLine|contains: 'evil'\n    condition: sel"));
        var engine = new SigmaEngine(set);
        int total = 0;
        Parallel.For(0, 8, t =>
        {
            var hits = new List<SigmaHit>();
            for (int i = 0; i < 2000; i++)
                engine.Match(Event(4624, data: [("CommandLine", i % 2 == 0 ? $"evil {t} {i}" : $"good {t} {i}")]), hits);
            Assert.All(hits, h => Assert.StartsWith("evil " + t + " ", h.Field("CommandLine")));
            Interlocked.Add(ref total, hits.Count);
        });
        Assert.Equal(8000, total);
    }
}
