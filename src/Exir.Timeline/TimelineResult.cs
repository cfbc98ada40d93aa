using Exir.Core.Coverage;
using Exir.Core.Findings;

namespace Exir.Timeline;

/// <summary>Everything the timeline learnt besides the rows: for the HTML view, the scan report and the CLI summary.</summary>
public sealed class TimelineResult
{
    public required AdminSummary Admin { get; init; }
    public required ProcessForest Processes { get; init; }
    public required IReadOnlyList<Finding> Findings { get; init; }
    public required ActivityHistogram Activity { get; init; }
    public required CoverageReport Coverage { get; init; }
    public required TimelineStats Stats { get; init; }
    /// <summary>Tagged rows kept for the HTML view (bounded, in time order).</summary>
    public List<TimelineEvent> Highlighted { get; } = [];
    /// <summary>Notes for the reader (sources not read, caps reached).</summary>
    public List<string> Notes { get; } = [];
    /// <summary>What made the timeline (tool and rule versions, inputs); set by the run.</summary>
    public Provenance? Provenance { get; set; }
}

public sealed class TimelineStats
{
    private long _files, _records, _kept, _unmapped, _filtered, _badCrc, _logFiles, _logLines;
    public long LogFiles => Interlocked.Read(ref _logFiles);
    public long LogLines => Interlocked.Read(ref _logLines);
    public long EvtxFiles => Interlocked.Read(ref _files);
    public long Records => Interlocked.Read(ref _records);
    public long Rows => Interlocked.Read(ref _kept);
    public long Unmapped => Interlocked.Read(ref _unmapped);
    public long Filtered => Interlocked.Read(ref _filtered);
    public long BadCrcRecords => Interlocked.Read(ref _badCrc);
    public long FindingRows { get; set; }
    public long SpillRuns { get; internal set; }
    public long RowsWritten { get; internal set; }
    public TimeSpan Elapsed { get; set; }
    public long BytesRead { get; set; }

    internal void File() => Interlocked.Increment(ref _files);
    internal void LogFile() => Interlocked.Increment(ref _logFiles);
    internal void AddLogLines(long n) => Interlocked.Add(ref _logLines, n);
    internal void Record() => Interlocked.Increment(ref _records);
    internal void Kept() => Interlocked.Increment(ref _kept);
    internal void Unmap() => Interlocked.Increment(ref _unmapped);
    public void Filter() => Interlocked.Increment(ref _filtered);
    internal void BadCrc() => Interlocked.Increment(ref _badCrc);
    internal void AddRecords(long n) => Interlocked.Add(ref _records, n);
}
