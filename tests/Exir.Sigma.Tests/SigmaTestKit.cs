using Exir.Evtx;
using Exir.Sigma;

namespace Exir.Sigma.Tests;

/// <summary>Small rules and events for the unit tests.</summary>
internal static class SigmaTestKit
{
    public const string Security = "product: windows\n    service: security";

    /// <summary>A rule document around a detection block (indented by the caller with 4 spaces).</summary>
    public static string Rule(string detection, string logsource = Security, string id = "00000000-0000-0000-0000-000000000001", string extra = "") =>
        $"title: test rule {id}\nid: {id}\nstatus: test\nlevel: high\nauthor: exir tests\n{extra}logsource:\n    {logsource}\ndetection:\n{detection}\n";

    public static SigmaRuleSet Load(string yaml)
    {
        var set = SigmaRuleSet.Parse(yaml, "test.yml");
        Assert.True(set.Report.Failed.Count == 0, string.Join("\n", set.Report.Failed));
        return set;
    }

    public static WinEvent Event(int id = 4624, string channel = "Security", string computer = "EXCH01", DateTime? time = null, string provider = "Microsoft-Windows-Security-Auditing", params (string Name, string Value)[] data) => new()
    {
        EventId = id, Channel = channel, Computer = computer, Provider = provider, Level = 4, RecordId = 1,
        TimestampUtc = time ?? new DateTime(2021, 3, 3, 10, 0, 0, DateTimeKind.Utc),
        Data = data.Select(d => new KeyValuePair<string, string>(d.Name, d.Value)).ToList(),
    };

    public static bool Fires(string detection, WinEvent e, string logsource = Security)
    {
        var engine = new SigmaEngine(Load(Rule(detection, logsource)));
        var hits = new List<SigmaHit>();
        engine.Match(e, hits);
        return hits.Count > 0;
    }

    public static bool Fires(string detection, params (string Name, string Value)[] data) => Fires(detection, Event(data: data));

    private static readonly Lazy<SigmaRuleSet> SigmaHq = new(() =>
        SigmaRuleSet.Load([Path.Combine(TestPaths.Corpus, "sigmahq", "rules")], new SigmaLoadOptions { ExcludedStatuses = new HashSet<string>() }));

    /// <summary>All SigmaHQ windows+web rules of the shared corpus, every status, loaded once for the tests that need them.</summary>
    public static SigmaRuleSet SigmaHqRules()
    {
        TestPaths.InCorpus("sigmahq", "rules");
        return SigmaHq.Value;
    }

    /// <summary>The reason a single-rule document fails to load (fails the test when it loads).</summary>
    public static string LoadError(string yaml)
    {
        var set = SigmaRuleSet.Parse(yaml, "test.yml");
        Assert.Single(set.Report.Failed);
        return set.Report.Failed[0].Reason;
    }
}
