using Exir.Core;
using Exir.Detection.EventLogs;
using Exir.Detection.Sigma;
using Exir.Evtx;
using Exir.Sigma;
using Exir.Tests;
using Exir.Timeline;

namespace Exir.Timeline.Tests;

/// <summary>Builders for in-code events and the repository's rules data.</summary>
internal static class Events
{
    public static DataFiles Rules { get; } = new("rules", typeof(EventLogRuleSet).Assembly, Path.Combine(TestPaths.RepoRoot, "rules"));
    public static EventMapping Mapping { get; } = EventMapping.Load(Rules);
    public static IReadOnlyList<EventLogRule> Hunts { get; } = EventLogRuleSet.Load(Rules);
    /// <summary>The built-in Sigma pack: its hits tag records too (sigma:ID and the rules' exir.tag.* tags).</summary>
    public static SigmaEngine Sigma { get; } = SigmaHunt.Load(Rules, Array.Empty<string>());

    public static readonly DateTime T0 = new(2021, 3, 2, 10, 0, 0, DateTimeKind.Utc);

    public static WinEvent Ev(int id, string channel, string provider, ulong record, DateTime t, string computer, params (string, string)[] data) => new()
    {
        EventId = id, Channel = channel, Provider = provider, RecordId = record, TimestampUtc = t, Computer = computer, Level = 4,
        Data = data.Select(d => new KeyValuePair<string, string>(d.Item1, d.Item2)).ToList(),
    };

    public static WinEvent Security(int id, ulong record, DateTime t, string computer, params (string, string)[] data) =>
        Ev(id, "Security", "Microsoft-Windows-Security-Auditing", record, t, computer, data);

    public static WinEvent Sysmon(int id, ulong record, DateTime t, string computer, params (string, string)[] data) =>
        Ev(id, "Microsoft-Windows-Sysmon/Operational", "Microsoft-Windows-Sysmon", record, t, computer, data);

    /// <summary>Normalises and tags an event the way the timeline does.</summary>
    public static TimelineEvent Row(WinEvent e, string file = "evidence/Security.evtx")
    {
        var row = Mapping.Map(e, "fallback-host", file) ?? throw new InvalidOperationException($"event {e.EventId} not mapped");
        foreach (var r in Hunts) if (r.Matches(e)) row.AddTag(r.Tag);
        var hits = new List<SigmaHit>();
        Sigma.Match(e, hits);
        foreach (var h in hits)
        {
            row.AddTag(SigmaHunt.RulePrefix + h.Rule.Id);
            foreach (var t in SigmaHunt.SemanticsOf(h.Rule).TimelineTags) row.AddTag(t);
        }
        return row;
    }

    public static string Corpus(params string[] parts) => TestPaths.InCorpus(["evtx", .. parts]);
}
