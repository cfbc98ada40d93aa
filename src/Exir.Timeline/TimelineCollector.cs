using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Core.Findings;
using Exir.Evtx;
using Exir.Logs;
using Exir.Pipeline;

namespace Exir.Timeline;

public sealed record TimelineOptions
{
    public DateTimeOffset? Since { get; init; }
    public DateTimeOffset? Until { get; init; }
    /// <summary>Keep only these hosts (full or short name, case-insensitive); empty keeps all.</summary>
    public IReadOnlyList<string> Hosts { get; init; } = [];
    /// <summary>Rows of these categories only; the analyses still see every category (a process tree needs process rows).</summary>
    public IReadOnlyList<string> Categories { get; init; } = [];
    /// <summary>Rows held in memory before the sort spills to disk.</summary>
    public int SortBufferRows { get; init; } = 200_000;
    public string? TempDirectory { get; init; }

    public bool InWindow(DateTimeOffset t) => (Since is null || t >= Since) && (Until is null || t <= Until);

    public bool HostWanted(string? host)
    {
        if (Hosts.Count == 0) return true;
        host ??= "";
        var shortName = host.Split('.')[0];
        foreach (var h in Hosts)
            if (h.Equals(host, StringComparison.OrdinalIgnoreCase) || h.Equals(shortName, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }
}

/// <summary>
/// The timeline as a consumer of the record pipeline: event records and IIS/Exchange log lines become
/// rows in the normalised schema, tagged with what the hunts said of them; the rows feed the process
/// trees, the administrator access summary and the activity plot, and go to a bounded external sort.
/// After the run, <see cref="Finish"/> builds the analyses and <see cref="Rows"/> streams the sorted rows.
/// </summary>
public sealed class TimelineCollector : IEventConsumer, ILogConsumer, IDisposable
{
    private readonly TimelineOptions _options;
    private readonly TimelineRules _rules;
    private readonly HashSet<string>? _categories;
    private readonly ProcessTreeBuilder _trees = new();
    private readonly AdminSummaryBuilder _admin = new();
    private readonly ExternalSorter _sorter;
    private ProcessForest? _forest;

    public TimelineCollector(TimelineOptions options, TimelineRules rules)
    {
        _options = options;
        _rules = rules;
        _categories = options.Categories.Count == 0 ? null : options.Categories.ToHashSet(StringComparer.OrdinalIgnoreCase);
        _sorter = new ExternalSorter(options.SortBufferRows, options.TempDirectory);
    }

    public string Name => "timeline";
    /// <summary>The tag of rows timed by a file's modification time (a scan finding of a file), not by an event.</summary>
    public const string FileTimeTag = "file-time";
    public TimelineOptions Options => _options;
    public TimelineRules Rules => _rules;
    public ActivityHistogram Activity { get; } = new();
    public TimelineStats Stats { get; } = new();

    /// <summary>Adds a row (from the pipeline, a findings file or a tamper finding): the analyses see it, the outputs only if its category is wanted.</summary>
    public void Keep(TimelineEvent row)
    {
        _trees.Add(row);
        _admin.Add(row);
        if (_categories is not null && !_categories.Contains(row.Category)) return;
        // A file's modification time may be the copy time of the evidence: it goes on the timeline, labelled, but
        // not on the activity axis, which would otherwise stretch to the day the evidence was collected.
        if (!row.Tags.Contains(FileTimeTag)) Activity.Add(row.Timestamp, row.Category);
        Stats.Kept();
        _sorter.Add(row);
    }

    /// <summary>Row time and host inside the asked window and hosts.</summary>
    public bool Wanted(TimelineEvent row) =>
        _options.InWindow(new DateTimeOffset(DateTime.SpecifyKind(row.Timestamp, DateTimeKind.Utc))) && _options.HostWanted(row.Host);

    public IEventHandler Open(ArtifactProbe probe, RunContext context)
    {
        Stats.File();
        return new EventRows(this, context.RootLabel, Pointer(context.Source, probe.File));
    }

    public LogLineNeeds? Needs(LogFormatDescriptor format, RunContext context) =>
        _rules.Logs.Handles(format.Format) ? new LogLineNeeds { EveryLine = true } : null;

    public ILogLineHandler Open(ArtifactProbe probe, LogReader reader, RunContext context)
    {
        Stats.LogFile();
        return new LogRows(this, context.RootLabel, Pointer(context.Source, probe.File), context.Coverage);
    }

    private sealed class EventRows(TimelineCollector owner, string label, string pointer) : IEventHandler
    {
        public void Event(WinEvent e, EventTags tags)
        {
            var stats = owner.Stats;
            stats.Record();
            if (e.FromBadCrcChunk) stats.BadCrc();
            var host = string.IsNullOrWhiteSpace(e.Computer) ? label : e.Computer!;
            var t = new DateTimeOffset(DateTime.SpecifyKind(e.TimestampUtc, DateTimeKind.Utc));
            if (!owner._options.HostWanted(host) || !owner._options.InWindow(t)) { stats.Filter(); return; }
            var row = owner._rules.Events.Map(e, label, pointer);
            if (row is null) { stats.Unmap(); return; }
            foreach (var tag in tags.All) row.AddTag(tag);
            owner.Keep(row);
        }
    }

    private sealed class LogRows(TimelineCollector owner, string label, string pointer, CoverageReport coverage) : ILogLineHandler
    {
        private long _lines, _untimed;

        public void Line(LogReader reader)
        {
            _lines++;
            var row = owner._rules.Logs.Map(reader, label, pointer);
            if (row is null) { _untimed++; return; }
            if (!owner.Wanted(row)) { owner.Stats.Filter(); return; }
            owner.Keep(row);
        }

        public void Close(LogReader reader)
        {
            owner.Stats.AddLogLines(_lines);
            if (_untimed > 0) coverage.AddIssue(IssueKind.Malformed, pointer, $"{_untimed:N0} line(s) without a readable time not put on the timeline");
        }
    }

    /// <summary>
    /// After the pipeline: the findings of the run (hunts, tamper checks, merged scan findings) placed as rows
    /// where they are rows, then the process forest and the administrator access summary.
    /// </summary>
    public TimelineResult Finish(IReadOnlyList<Finding> findings, CoverageReport coverage)
    {
        // Tamper findings also become rows, so the holes show where they are in time.
        foreach (var f in findings.Where(f => f.RuleId.StartsWith("TL-", StringComparison.Ordinal)))
        {
            if (f.Timestamp is null) continue;
            var row = new TimelineEvent
            {
                Timestamp = f.Timestamp.Value.UtcDateTime, TimestampDesc = "Log gap detected", Host = f.Host ?? "", Source = f.Details.GetValueOrDefault("channel") ?? "",
                Category = "log-tamper", Message = f.Title + ": " + f.Evidence, RecordId = f.Line, File = f.Artifact, Tags = ["log-gap"],
                Fields = [new("rule_id", f.RuleId), new("severity", f.Severity.ToWire())],
            };
            if (Wanted(row)) Keep(row);
        }
        _forest = _trees.Build(_rules.Trees);
        var result = new TimelineResult
        {
            Admin = _admin.Build(_forest, _rules.Scope),
            Processes = _forest,
            Findings = findings.OrderBy(f => f.Timestamp).ThenBy(f => f.Artifact, StringComparer.Ordinal).ToList(),
            Activity = Activity,
            Coverage = coverage,
            Stats = Stats,
        };
        if (_forest.MergedStarts > 0) result.Notes.Add($"{_forest.MergedStarts:N0} process start(s) logged by two sources (Security 4688 and Sysmon 1) were merged: one row and one tree node each, naming both records.");
        if (_forest.DroppedStarts > 0) result.Notes.Add($"{_forest.DroppedStarts:N0} process starts beyond the bound of the process-tree builder were not linked.");
        result.Notes.AddRange(_admin.BoundsHit());
        if (coverage.UnknownLogFiles > 0) result.Notes.Add($"{coverage.UnknownLogFiles:N0} .log file(s) of no known IIS/Exchange format were not put on the timeline.");
        Stats.SpillRuns = _sorter.Runs;
        return result;
    }

    /// <summary>The rows in time order (bounded merge of the sorted runs), each with its process-tree tags.</summary>
    public IEnumerable<TimelineEvent> Rows(CancellationToken cancellation = default)
    {
        var forest = _forest ?? throw new InvalidOperationException("Finish the timeline before reading its rows");
        long written = 0;
        foreach (var row in _sorter.Merge())
        {
            cancellation.ThrowIfCancellationRequested();
            // One process start logged by two sources is one row: the kept row names the other record.
            if (forest.MergedInto(row) is not null) continue;
            foreach (var twin in forest.AlsoLoggedAs(row)) row.Fields.Add(new("also_logged_as", twin.ToString()));
            foreach (var t in forest.TagsFor(row)) row.AddTag(t);
            written++;
            Stats.RowsWritten = written;
            yield return row;
        }
        Stats.SpillRuns = Math.Max(Stats.SpillRuns, _sorter.Runs);
    }

    /// <summary>Evidence pointer: the root plus the path inside it ('/'-separated; zip members as "x.zip!/inner").</summary>
    public static string Pointer(IEvidenceSource source, EvidenceFile f) => source.Kind switch
    {
        "file" => source.Root.Replace('\\', '/'),
        "zip" => (Path.GetDirectoryName(source.Root) is { Length: > 0 } d ? d.Replace('\\', '/') + "/" : "") + f.RelativePath,
        _ => source.Root.Replace('\\', '/').TrimEnd('/') + "/" + f.RelativePath,
    };

    public void Dispose() => _sorter.Dispose();
}
