using System.Globalization;
using Exir.Core;
using Exir.Core.Findings;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Exir.Timeline;

/// <summary>Thresholds and rule metadata of the tamper checks (rules/timeline/tamper.yaml).</summary>
public sealed class TamperRules
{
    public required RuleInfo RecordGap { get; init; }
    public required RuleInfo TimeGap { get; init; }
    public required RuleInfo TimeBackwards { get; init; }
    public long MinMissing { get; init; } = 1;
    public TimeSpan MinTimeGap { get; init; } = TimeSpan.FromHours(24);
    public TimeSpan MinBackwards { get; init; } = TimeSpan.FromMinutes(60);
    /// <summary>Channels busy enough that silence means something; empty checks all.</summary>
    public IReadOnlySet<string> TimeGapChannels { get; init; } = new HashSet<string>();
    /// <summary>Channels where time running backwards is checked; those of the time gaps unless time_backwards names its own.</summary>
    public IReadOnlySet<string> BackwardsChannels { get; init; } = new HashSet<string>();

    public static TamperRules Load(DataFiles rules) => Parse(rules.ReadAllText("timeline/tamper.yaml"));

    public static TamperRules Parse(string yaml)
    {
        var doc = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance)
            .IgnoreUnmatchedProperties().Build().Deserialize<Doc>(yaml) ?? new Doc();
        return new TamperRules
        {
            RecordGap = Info(doc.RecordGap, "TL-RECORD-GAP", "Event records missing inside a log"),
            TimeGap = Info(doc.TimeGap, "TL-TIME-GAP", "Long silence between consecutive event records"),
            TimeBackwards = Info(doc.TimeBackwards, "TL-TIME-BACKWARDS", "Event time goes backwards"),
            MinMissing = Math.Max(1, doc.RecordGap?.MinMissing ?? 1),
            MinTimeGap = TimeSpan.FromHours(doc.TimeGap?.MinHours ?? 24),
            MinBackwards = TimeSpan.FromMinutes(doc.TimeBackwards?.MinMinutes ?? 60),
            TimeGapChannels = (doc.TimeGap?.Channels ?? []).ToHashSet(StringComparer.OrdinalIgnoreCase),
            BackwardsChannels = (doc.TimeBackwards?.Channels ?? doc.TimeGap?.Channels ?? []).ToHashSet(StringComparer.OrdinalIgnoreCase),
        };
    }

    private static RuleInfo Info(RuleDoc? d, string id, string title)
    {
        SeverityNames.TryParseSeverity(d?.Severity, out var sev);
        SeverityNames.TryParseOutcome(d?.Outcome, out var outcome);
        return new RuleInfo
        {
            Id = d?.Id ?? id, Title = d?.Title ?? title, Severity = d?.Severity is null ? Severity.Low : sev, Outcome = outcome,
            Attack = d?.Attack ?? [], Explanation = d?.Explanation?.Trim() ?? "",
        };
    }

    private sealed class Doc { public RuleDoc? RecordGap { get; set; } public RuleDoc? TimeGap { get; set; } public RuleDoc? TimeBackwards { get; set; } }
    private sealed class RuleDoc
    {
        public string? Id { get; set; }
        public string? Title { get; set; }
        public string? Severity { get; set; }
        public string? Outcome { get; set; }
        public List<string>? Attack { get; set; }
        public string? Explanation { get; set; }
        public long? MinMissing { get; set; }
        public double? MinHours { get; set; }
        public double? MinMinutes { get; set; }
        public List<string>? Channels { get; set; }
    }
}

/// <summary>Sorted, merged runs of consecutive record numbers with the times at their ends; bounded.</summary>
internal sealed class RunSet
{
    public const int MaxRuns = 100_000;
    public readonly List<Run> Runs = [];

    public struct Run { public ulong From, To; public DateTime FromTs, ToTs; }

    public void Add(ulong id, DateTime ts)
    {
        // Fast path: records come in id order, so the last run usually grows by one.
        if (Runs.Count > 0)
        {
            var last = Runs[^1];
            if (id == last.To + 1) { last.To = id; last.ToTs = ts; Runs[^1] = last; return; }
            if (id >= last.From && id <= last.To) return;
        }
        int lo = 0, hi = Runs.Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) / 2;
            if (Runs[mid].To < id) lo = mid + 1;
            else if (Runs[mid].From > id) hi = mid - 1;
            else return; // already present (duplicate record)
        }
        // lo is the first run starting after id
        bool joinPrev = lo > 0 && Runs[lo - 1].To + 1 == id;
        bool joinNext = lo < Runs.Count && Runs[lo].From == id + 1;
        if (joinPrev && joinNext)
        {
            var p = Runs[lo - 1]; p.To = Runs[lo].To; p.ToTs = Runs[lo].ToTs; Runs[lo - 1] = p; Runs.RemoveAt(lo);
        }
        else if (joinPrev) { var p = Runs[lo - 1]; p.To = id; p.ToTs = ts; Runs[lo - 1] = p; }
        else if (joinNext) { var n = Runs[lo]; n.From = id; n.FromTs = ts; Runs[lo] = n; }
        else if (Runs.Count < MaxRuns) Runs.Insert(lo, new Run { From = id, To = id, FromTs = ts, ToTs = ts });
    }
}

/// <summary>
/// Per EVTX file (one channel of one host): the runs of record numbers present, and time jumps between
/// consecutive records. Memory is bounded by the number of runs (a healthy log has one), not of records.
/// Exported logs (wevtutil epl with a query, forwarded events) keep the original EventRecordIDs but
/// renumber the record headers; there the header numbers are checked, since EventRecordID gaps are expected.
/// Not thread-safe: one tracker per file, fed in file order.
/// </summary>
public sealed class LogGapTracker(string file, string host, string channel)
{
    private readonly RunSet _ids = new(), _headers = new();
    private readonly List<(ulong Id, DateTime Before, DateTime After)> _timeGaps = [];
    private readonly List<(ulong Id, DateTime Before, DateTime After)> _backwards = [];
    private ulong _prevId;
    private DateTime _prevTs;
    private bool _hasPrev;
    public string File { get; } = file;
    public string Host { get; set; } = host;
    public string Channel { get; set; } = channel;
    public bool SawDamage { get; set; }
    /// <summary>Header numbers differ from EventRecordIDs: the file is an export, not the live log.</summary>
    public bool Renumbered { get; private set; }
    public long Records { get; private set; }

    public void Add(ulong id, DateTime ts, TamperRules rules, ulong? headerId = null)
    {
        Records++;
        if (_hasPrev && id == _prevId + 1)
        {
            var d = ts - _prevTs;
            if (d >= rules.MinTimeGap && _timeGaps.Count < 1000) _timeGaps.Add((id, _prevTs, ts));
            if (-d >= rules.MinBackwards && _backwards.Count < 1000) _backwards.Add((id, _prevTs, ts));
        }
        _prevId = id; _prevTs = ts; _hasPrev = true;
        _ids.Add(id, ts);
        if (headerId is { } h)
        {
            if (h != id) Renumbered = true;
            _headers.Add(h, ts);
        }
    }

    /// <summary>Findings for missing records between runs, long silences and time going backwards.</summary>
    public IEnumerable<Finding> Findings(TamperRules rules)
    {
        var runs = Renumbered ? _headers.Runs : _ids.Runs;
        var what = Renumbered ? "record header number (the file is an export; its EventRecordIDs are not contiguous by design)" : "EventRecordID";
        for (int i = 1; i < runs.Count; i++)
        {
            var before = runs[i - 1];
            var after = runs[i];
            ulong missing = after.From - before.To - 1;
            if ((long)Math.Min(missing, long.MaxValue) < rules.MinMissing) continue;
            yield return Make(rules.RecordGap, after.From, after.FromTs,
                $"{Channel}: {missing.ToString(CultureInfo.InvariantCulture)} record(s) missing, {what} {before.To + 1}–{after.From - 1}, between {T(before.ToTs)} and {T(after.FromTs)}",
                ("missing_from", (before.To + 1).ToString(CultureInfo.InvariantCulture)), ("missing_to", (after.From - 1).ToString(CultureInfo.InvariantCulture)),
                ("missing_count", missing.ToString(CultureInfo.InvariantCulture)), ("gap_start", T(before.ToTs)), ("gap_end", T(after.FromTs)),
                ("numbering", Renumbered ? "header" : "EventRecordID"));
        }
        if (rules.TimeGapChannels.Count == 0 || rules.TimeGapChannels.Contains(Channel))
            foreach (var (id, b, a) in _timeGaps)
                yield return Make(rules.TimeGap, id, a, $"{Channel}: no record for {Hours(a - b)} between EventRecordID {id - 1} ({T(b)}) and {id} ({T(a)})",
                    ("gap_start", T(b)), ("gap_end", T(a)), ("gap_hours", (a - b).TotalHours.ToString("F1", CultureInfo.InvariantCulture)));
        if (rules.BackwardsChannels.Count > 0 && !rules.BackwardsChannels.Contains(Channel)) yield break;
        foreach (var (id, b, a) in _backwards)
            yield return Make(rules.TimeBackwards, id, a, $"{Channel}: EventRecordID {id} ({T(a)}) is {Hours(b - a)} older than record {id - 1} ({T(b)})",
                ("previous_time", T(b)), ("time", T(a)));
    }

    private Finding Make(RuleInfo rule, ulong id, DateTime ts, string evidence, params (string, string)[] details)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal) { ["channel"] = TextSafety.ReplaceLoneSurrogates(Channel) };
        foreach (var (k, v) in details) d[k] = v;
        if (SawDamage) d["damaged_chunks"] = "true";
        return Finding.FromRule(rule, File) with
        {
            Host = TextSafety.ReplaceLoneSurrogates(Host), Line = (long)Math.Min(id, long.MaxValue), Timestamp = new DateTimeOffset(DateTime.SpecifyKind(ts, DateTimeKind.Utc)), TimeSource = TimeSources.EventRecord,
            Evidence = TextSafety.ReplaceLoneSurrogates(evidence) + (SawDamage ? " (the file has damaged chunks: the records may have been lost to damage)" : ""), Details = d,
        };
    }

    private static string T(DateTime t) => t.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
    private static string Hours(TimeSpan s) => s.TotalHours >= 48 ? $"{s.TotalDays:F1} days" : $"{s.TotalHours:F1} hours";
}
