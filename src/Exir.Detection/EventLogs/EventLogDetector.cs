using System.Text;
using Exir.Core.Coverage;
using Exir.Core.Findings;
using Exir.Detection.Pipeline;

namespace Exir.Detection.EventLogs;

/// <summary>
/// Runs the event-log hunts (rules/eventlogs) over EVTX files: CVE-2021-26857 Unified Messaging errors,
/// cleared logs, LSASS dumps, shells below w3wp.exe or the UM processes, suspicious services and cmdlets.
/// </summary>
public sealed class EventLogDetector : IDetector
{
    /// <summary>Findings kept per rule and file; a flood (thousands of identical hits) is summarised, not listed.</summary>
    public const int MaxFindingsPerRuleAndFile = 200;

    private readonly Func<Stream, IEnumerable<WinEvent>> _read;
    private IReadOnlyList<EventLogRule>? _rules;
    private readonly object _gate = new();

    /// <param name="rules">The hunts; null loads rules/eventlogs on first use (honouring --rules).</param>
    /// <param name="read">How to turn an EVTX stream into events; defaults to the managed EVTX reader.</param>
    public EventLogDetector(IReadOnlyList<EventLogRule>? rules = null, Func<Stream, IEnumerable<WinEvent>>? read = null)
    {
        _rules = rules;
        _read = read ?? EvtxEvents.Read;
    }

    public string Name => "eventlogs";

    public bool Wants(ArtifactProbe probe, ScanContext context) => probe.Kind == ArtifactKind.EventLog;

    public void Inspect(ArtifactProbe probe, ScanContext context)
    {
        var rules = Rules(context).Where(r => r.Scan).ToList();
        var perRule = new Dictionary<string, int>(StringComparer.Ordinal);
        long records = 0;
        DateTimeOffset? first = null, last = null;
        var days = new HashSet<DateOnly>();
        string? channel = null;
        try
        {
            using var stream = probe.File.OpenRead();
            foreach (var e in _read(stream))
            {
                context.Cancellation.ThrowIfCancellationRequested();
                records++;
                channel ??= e.Channel;
                var t = new DateTimeOffset(DateTime.SpecifyKind(e.TimestampUtc, DateTimeKind.Utc));
                if (first is null || t < first) first = t;
                if (last is null || t > last) last = t;
                days.Add(DateOnly.FromDateTime(e.TimestampUtc));
                foreach (var rule in rules)
                {
                    if (!rule.Matches(e)) continue;
                    int n = perRule.TryGetValue(rule.Info.Id, out var c) ? c + 1 : 1;
                    perRule[rule.Info.Id] = n;
                    if (n <= MaxFindingsPerRuleAndFile) context.Report(ToFinding(rule, e, probe.File.RelativePath));
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            context.Coverage.AddIssue(IssueKind.Unreadable, probe.File.RelativePath, ex.Message);
        }
        // One coverage family per channel: "did the Application log reach back to the attack" is a question per channel.
        var family = context.Coverage.Family(FamilyName(channel));
        family.AddFile(probe.File.Length);
        family.AddSpan(records, 0, first, last, days);
        foreach (var (id, n) in perRule)
            if (n > MaxFindingsPerRuleAndFile)
                context.Coverage.AddIssue(IssueKind.TooLarge, probe.File.RelativePath, $"{id}: {n:N0} matching records, first {MaxFindingsPerRuleAndFile} reported");
    }

    /// <summary>Coverage family of an event log: "EventLog/Application", "EventLog/Security", ...</summary>
    public static string FamilyName(string? channel) => "EventLog/" + (string.IsNullOrWhiteSpace(channel) ? "unknown channel" : channel);

    private IReadOnlyList<EventLogRule> Rules(ScanContext context)
    {
        if (_rules is not null) return _rules;
        lock (_gate)
        {
            return _rules ??= EventLogRuleSet.LoadDefault(context.Options.RulesDirectory,
                (file, msg) => context.Coverage.AddIssue(IssueKind.RuleSkipped, "rules/" + file, msg));
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
            ClientIp = e.Get("IpAddress") is { Length: > 1 } ip && ip != "-" ? ip : null,
            Evidence = Excerpt(e),
            Details = details,
        };
    }

    /// <summary>Lone UTF-16 surrogates (damaged records) become U+FFFD, so JSON writers downstream cannot fail on them.</summary>
    private static string Clean(string s) =>
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
