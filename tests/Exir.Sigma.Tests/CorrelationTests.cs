using Exir.Sigma;
using static Exir.Sigma.Tests.SigmaTestKit;

namespace Exir.Sigma.Tests;

/// <summary>Sigma v2 correlations: event_count, value_count, temporal, temporal_ordered; group-by, timespan edges, hosts.</summary>
public sealed class CorrelationTests
{
    private static readonly DateTime T0 = new(2021, 3, 3, 10, 0, 0, DateTimeKind.Utc);

    private const string FailedLogon = """
        title: failed logon
        id: 11111111-0000-0000-0000-000000000001
        name: failed_logon
        status: test
        level: low
        author: exir tests
        logsource:
            product: windows
            service: security
        detection:
            sel:
                EventID: 4625
            condition: sel
        """;

    private static string Correlation(string body) => "\n" + $"""
        ---
        title: correlation under test
        id: 22222222-0000-0000-0000-000000000002
        status: test
        level: high
        author: exir tests
        correlation:
        {body}
        """;

    private static List<SigmaHit> Run(string yaml, IEnumerable<Exir.Evtx.WinEvent> events)
    {
        var set = Load(yaml);
        Assert.Single(set.Correlations);
        var engine = new SigmaEngine(set);
        var correlator = engine.NewCorrelator();
        var hits = new List<SigmaHit>();
        foreach (var e in events)
        {
            hits.Clear();
            engine.Match(e, hits);
            foreach (var h in hits) correlator.Add(h);
        }
        return correlator.Complete();
    }

    private static Exir.Evtx.WinEvent Fail(int seconds, string ip, string host = "EXCH01", string user = "admin") =>
        Event(4625, time: T0.AddSeconds(seconds), computer: host, data: [("IpAddress", ip), ("TargetUserName", user)]);

    private const string CountBody = """
            type: event_count
            rules:
                - failed_logon
            group-by:
                - IpAddress
            timespan: 60s
            condition:
                gte: 3
        """;

    [Fact]
    public void EventCountFiresWhenTheCountIsReachedWithinTheTimespan()
    {
        var result = Run(FailedLogon + Correlation(CountBody), [Fail(0, "203.0.113.9"), Fail(30, "203.0.113.9"), Fail(59, "203.0.113.9"), Fail(10, "198.51.100.1")]);
        var hit = Assert.Single(result);
        Assert.Equal("203.0.113.9", hit.GroupValues.Single(g => g.Key == "IpAddress").Value);
        Assert.Equal(3, hit.Contributing.Count);
        Assert.Equal(T0.AddSeconds(59), hit.TimeUtc);
        Assert.Equal("exir tests", hit.Rule.Author);
    }

    [Fact]
    public void TimespanEdgeIsInclusive()
    {
        // Exactly 60 s from first to last is within 60s; one tick more is not.
        Assert.Single(Run(FailedLogon + Correlation(CountBody), [Fail(0, "a"), Fail(30, "a"), Fail(60, "a")]));
        var events = new[] { Fail(0, "a"), Fail(30, "a"), Event(4625, time: T0.AddSeconds(60).AddTicks(1), data: [("IpAddress", "a")]) };
        Assert.Empty(Run(FailedLogon + Correlation(CountBody), events));
    }

    [Fact]
    public void OutOfOrderHitsAreSortedBeforeCounting()
    {
        Assert.Single(Run(FailedLogon + Correlation(CountBody), [Fail(59, "a"), Fail(0, "a"), Fail(30, "a")]));
    }

    [Fact]
    public void GroupSpansHostsUnlessHostIsAGroupField()
    {
        var across = Run(FailedLogon + Correlation(CountBody), [Fail(0, "a", "EXCH01"), Fail(10, "a", "EXCH02"), Fail(20, "a", "DC01")]);
        var hit = Assert.Single(across);
        Assert.Equal("EXCH01, EXCH02, DC01", hit.Host);
        var perHost = CountBody.Replace("- IpAddress", "- IpAddress\n        - Computer");
        Assert.Empty(Run(FailedLogon + Correlation(perHost), [Fail(0, "a", "EXCH01"), Fail(10, "a", "EXCH02"), Fail(20, "a", "DC01")]));
    }

    [Fact]
    public void BurstsFireOnceEach()
    {
        var events = Enumerable.Range(0, 7).Select(i => Fail(i, "a")).Concat(Enumerable.Range(0, 3).Select(i => Fail(3600 + i, "a")));
        var result = Run(FailedLogon + Correlation(CountBody), events);
        Assert.Equal(2, result.Count);
        Assert.Equal(7, result[0].Contributing.Count);
        Assert.Equal(3, result[1].Contributing.Count);
    }

    [Fact]
    public void ValueCountCountsDistinctValues()
    {
        const string body = """
                type: value_count
                rules:
                    - failed_logon
                group-by:
                    - IpAddress
                timespan: 5m
                condition:
                    gte: 3
                    field: TargetUserName
            """;
        var spray = Run(FailedLogon + Correlation(body), [Fail(0, "a", user: "u1"), Fail(10, "a", user: "u2"), Fail(20, "a", user: "u3")]);
        Assert.Equal("3", Assert.Single(spray).Field("count"));
        Assert.Empty(Run(FailedLogon + Correlation(body), [Fail(0, "a", user: "u1"), Fail(10, "a", user: "U1"), Fail(20, "a", user: "u2")]));
    }

    [Fact]
    public void UpperBoundConditionsUseFixedWindows()
    {
        const string body = """
                type: event_count
                rules:
                    - failed_logon
                group-by:
                    - IpAddress
                timespan: 60s
                condition:
                    gte: 2
                    lte: 3
            """;
        var result = Run(FailedLogon + Correlation(body), [Fail(0, "a"), Fail(1, "a"), Fail(0, "b"), Fail(1, "b"), Fail(2, "b"), Fail(3, "b"), Fail(0, "c")]);
        Assert.Equal("a", Assert.Single(result).GroupValues[0].Value);
    }

    private const string WebShellChild = """
        title: w3wp spawns a shell
        id: 33333333-0000-0000-0000-000000000003
        name: w3wp_child
        status: test
        level: high
        author: exir tests
        logsource:
            category: process_creation
            product: windows
        detection:
            sel:
                ParentImage|endswith: '\w3wp.exe'
            condition: sel
        ---
        title: member added to an admin group
        id: 44444444-0000-0000-0000-000000000004
        name: admin_add
        status: test
        level: medium
        author: exir tests
        logsource:
            product: windows
            service: security
        detection:
            sel:
                EventID: [4728, 4732, 4756]
            condition: sel
        """;

    private static Exir.Evtx.WinEvent Child(int seconds, string host) =>
        Event(4688, time: T0.AddSeconds(seconds), computer: host, data: [("ParentProcessName", @"c:\windows\system32\inetsrv\w3wp.exe"), ("NewProcessName", @"C:\Windows\System32\cmd.exe")]);

    private static Exir.Evtx.WinEvent AdminAdd(int seconds, string host) =>
        Event(4732, time: T0.AddSeconds(seconds), computer: host, data: [("MemberName", "CN=evil")]);

    [Fact]
    public void TemporalOrderedAcrossHostsWithinTheTimespan()
    {
        const string body = """
                type: temporal_ordered
                rules:
                    - w3wp_child
                    - admin_add
                timespan: 10m
            """;
        var yaml = WebShellChild + "\n" + Correlation(body);
        // The web shell on the Exchange server, then the new admin on the domain controller.
        var hit = Assert.Single(Run(yaml, [Child(0, "EXCH01"), AdminAdd(300, "DC01")]));
        Assert.Equal("EXCH01, DC01", hit.Host);
        Assert.Equal(2, hit.Contributing.Count);
        // Wrong order, or too late: nothing.
        Assert.Empty(Run(yaml, [AdminAdd(0, "DC01"), Child(300, "EXCH01")]));
        Assert.Empty(Run(yaml, [Child(0, "EXCH01"), AdminAdd(601, "DC01")]));
        Assert.Single(Run(yaml, [Child(0, "EXCH01"), AdminAdd(600, "DC01")]));
    }

    [Fact]
    public void TemporalAnyOrder()
    {
        const string body = """
                type: temporal
                rules:
                    - w3wp_child
                    - admin_add
                timespan: 10m
            """;
        var yaml = WebShellChild + "\n" + Correlation(body);
        Assert.Single(Run(yaml, [AdminAdd(0, "DC01"), Child(300, "EXCH01")]));
        Assert.Empty(Run(yaml, [AdminAdd(0, "DC01"), AdminAdd(30, "DC01")]));
    }

    [Fact]
    public void AliasesGroupFieldsSpelledDifferently()
    {
        const string body = """
                type: temporal
                rules:
                    - w3wp_child
                    - admin_add
                group-by:
                    - host
                aliases:
                    host:
                        w3wp_child: Computer
                        admin_add: Computer
                timespan: 10m
            """;
        var yaml = WebShellChild + "\n" + Correlation(body);
        Assert.Empty(Run(yaml, [Child(0, "EXCH01"), AdminAdd(60, "DC01")]));
        Assert.Single(Run(yaml, [Child(0, "EXCH01"), AdminAdd(60, "EXCH01")]));
    }

    [Fact]
    public void MemoryStaysBoundedAndEvictionIsCounted()
    {
        var set = SigmaRuleSet.Parse(FailedLogon + Correlation(CountBody.Replace("gte: 3", "gte: 100000")), "t.yml", new SigmaLoadOptions { MaxCorrelationEventsPerGroup = 100 });
        var engine = new SigmaEngine(set);
        var correlator = engine.NewCorrelator();
        var hits = new List<SigmaHit>();
        for (int i = 0; i < 1000; i++) { hits.Clear(); engine.Match(Fail(i / 100, "a"), hits); correlator.Add(hits[0]); }
        Assert.Empty(correlator.Complete());
        Assert.True(correlator.Evicted > 0);
    }

    [Fact]
    public void LevelFilterKeepsBaseRulesACorrelationNeeds()
    {
        // The base rule is low, the correlation high: --min-level high keeps the correlation working.
        var set = SigmaRuleSet.Parse(FailedLogon + Correlation(CountBody + "\n    generate: true"), "t.yml", new SigmaLoadOptions { MinimumLevel = SigmaLevel.High });
        Assert.Empty(set.Report.Failed);
        Assert.Single(set.Correlations);
        Assert.Equal("failed logon", Assert.Single(set.PulledInForCorrelations).Title);
        var engine = new SigmaEngine(set);
        var correlator = engine.NewCorrelator();
        var hits = new List<SigmaHit>();
        foreach (var e in new[] { Fail(0, "a"), Fail(1, "a"), Fail(2, "a") }) engine.Match(e, hits);
        Assert.All(hits, h => Assert.True(h.CorrelationOnly)); // filtered out as alerts, even with generate: true
        foreach (var h in hits) correlator.Add(h);
        Assert.Single(correlator.Complete());
        // Without a correlation needing it, the filter drops it.
        Assert.Empty(SigmaRuleSet.Parse(FailedLogon, "t.yml", new SigmaLoadOptions { MinimumLevel = SigmaLevel.High }).Rules);
    }

    [Fact]
    public void CorrelationNamingAnUnknownRuleIsALoadError()
    {
        var set = SigmaRuleSet.Parse(FailedLogon + Correlation(CountBody.Replace("- failed_logon", "- nope")), "t.yml");
        Assert.Empty(set.Correlations);
        Assert.Contains("nope", Assert.Single(set.Report.Failed).Reason);
    }

    [Fact]
    public void BaseRulesOfANonGeneratingCorrelationAreMarked()
    {
        var set = Load(FailedLogon + Correlation(CountBody));
        var hits = new List<SigmaHit>();
        new SigmaEngine(set).Match(Fail(0, "a"), hits);
        Assert.True(Assert.Single(hits).CorrelationOnly);
        var generating = Load(FailedLogon + Correlation(CountBody + "\n    generate: true"));
        hits.Clear();
        new SigmaEngine(generating).Match(Fail(0, "a"), hits);
        Assert.False(Assert.Single(hits).CorrelationOnly);
    }

    [Fact]
    public void CorrelationRuleTestsRunEventSequences()
    {
        const string tests = """

            tests:
              - name: three failures from one address
                events:
                  - { time: "2021-03-03T05:00:00Z", event_id: 4625, channel: Security, data: { IpAddress: 203.0.113.9 } }
                  - { time: "2021-03-03T05:00:20Z", event_id: 4625, channel: Security, data: { IpAddress: 203.0.113.9 } }
                  - { time: "2021-03-03T05:00:40Z", event_id: 4625, channel: Security, data: { IpAddress: 203.0.113.9 } }
                match: true
              - name: the third one too late
                events:
                  - { time: "2021-03-03T05:00:00Z", event_id: 4625, channel: Security, data: { IpAddress: 203.0.113.9 } }
                  - { time: "2021-03-03T05:00:20Z", event_id: 4625, channel: Security, data: { IpAddress: 203.0.113.9 } }
                  - { time: "2021-03-03T05:01:01Z", event_id: 4625, channel: Security, data: { IpAddress: 203.0.113.9 } }
                match: false
              - name: claims a match that is not there
                events:
                  - { time: "2021-03-03T05:00:00Z", event_id: 4625, channel: Security, data: { IpAddress: 203.0.113.9 } }
                match: true
            """;
        var results = SigmaRuleTests.Run(Load(FailedLogon + Correlation(CountBody) + tests));
        Assert.Equal([true, true, false], results.Select(r => r.Passed));
    }

    [Theory]
    [InlineData("30s", 30)]
    [InlineData("5m", 300)]
    [InlineData("2h", 7200)]
    [InlineData("1d", 86400)]
    public void Timespans(string text, int seconds) => Assert.Equal(TimeSpan.FromSeconds(seconds), SigmaRuleSet.ParseTimespan(text));
}
