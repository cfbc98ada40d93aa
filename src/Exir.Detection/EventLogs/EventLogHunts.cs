using System.Text;
using Exir.Core.Coverage;
using Exir.Core.Findings;
using Exir.Evtx;
using Exir.Pipeline;

namespace Exir.Detection.EventLogs;

/// <summary>
/// The event-log hunts (rules/eventlogs) over the records of every event log: CVE-2021-26857 Unified
/// Messaging errors, cleared logs, LSASS dumps, shells below w3wp.exe or the UM processes, suspicious
/// services and cmdlets. Every match tags the record (the timeline shows the tags); rules with
/// <c>scan: true</c> also report a finding that points at the record.
/// </summary>
public sealed class EventLogHunts(IReadOnlyList<EventLogRule> rules) : IEventConsumer
{
    /// <summary>Findings kept per rule and file; a flood (thousands of identical hits) is summarised, not listed.</summary>
    public const int MaxFindingsPerRuleAndFile = 200;

    public string Name => "eventlog-hunts";
    public IReadOnlyList<EventLogRule> Rules => rules;

    public IEventHandler Open(ArtifactProbe probe, RunContext context) => new Handler(rules, probe.File.RelativePath, context);

    private sealed class Handler(IReadOnlyList<EventLogRule> rules, string artifact, RunContext context) : IEventHandler
    {
        private readonly Dictionary<string, int> _perRule = new(StringComparer.Ordinal);

        public void Event(WinEvent e, EventTags tags)
        {
            foreach (var rule in rules)
            {
                if (!rule.Matches(e)) continue;
                tags.Add(rule.Tag);
                if (!rule.Scan) continue;
                int n = _perRule[rule.Info.Id] = _perRule.GetValueOrDefault(rule.Info.Id) + 1;
                if (n <= MaxFindingsPerRuleAndFile) context.Report(ToFinding(rule, e, artifact));
            }
        }

        public void Close(EvtxReadStats stats)
        {
            foreach (var (id, n) in _perRule)
                if (n > MaxFindingsPerRuleAndFile)
                    context.Coverage.AddIssue(IssueKind.TooLarge, artifact, $"{id}: {n:N0} matching records, first {MaxFindingsPerRuleAndFile} reported");
        }
    }

    /// <summary>A finding pointing at the record (artifact + record id), with the record's fields as evidence.</summary>
    public static Finding ToFinding(EventLogRule rule, WinEvent e, string artifact)
    {
        var details = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["event_id"] = e.EventId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["provider"] = e.Provider,
            ["record_id"] = e.RecordId.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (e.Channel is not null) details["channel"] = e.Channel;
        if (e.FromBadCrcChunk) details["bad_crc_chunk"] = "true";
        return Finding.FromRule(rule.Info, artifact) with
        {
            Host = e.Computer is null ? null : Clean(e.Computer),
            Line = (long)Math.Min(e.RecordId, long.MaxValue),
            Timestamp = new DateTimeOffset(DateTime.SpecifyKind(e.TimestampUtc, DateTimeKind.Utc)),
            TimeSource = TimeSources.EventRecord,
            ClientIp = e.Get("IpAddress") is { Length: > 1 } ip && ip != "-" ? ip : null,
            Evidence = Excerpt(e),
            Details = details,
        };
    }

    /// <summary>Lone UTF-16 surrogates (damaged records) become U+FFFD, so JSON writers downstream cannot fail on them.</summary>
    public static string Clean(string s) =>
        s.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') < 0 ? s : Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(s));

    /// <summary>"Channel EventID N: name=value; ..." capped, so a 1 MB script block does not bloat the report.</summary>
    public static string Excerpt(WinEvent e, int max = 2000)
    {
        var sb = new StringBuilder();
        sb.Append(e.Channel ?? e.Provider).Append(" EventID ").Append(e.EventId).Append(':');
        foreach (var (k, v) in e.Data)
        {
            if (string.IsNullOrEmpty(v)) continue;
            sb.Append(' ');
            if (k.Length > 0) sb.Append(k).Append('=');
            sb.Append(v).Append(';');
            if (sb.Length >= max) break;
        }
        if (sb.Length > max) { sb.Length = max; sb.Append('…'); }
        return Clean(sb.ToString());
    }
}
