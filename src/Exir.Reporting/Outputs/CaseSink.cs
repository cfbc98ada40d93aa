using Exir.Case;
using Exir.Core.Findings;
using Exir.Knowledge.Remote;
using Exir.Timeline;

namespace Exir.Reporting.Outputs;

/// <summary>Who made a run, for the case's scan record of runs without a provenance of their own (inventory, check).</summary>
public sealed record CaseRunInfo(string Verb, string Command, string ToolVersion, string? Knowledge = null);

/// <summary>
/// The case as one more output (--case TARGET): timeline rows as they stream (in batches), then the run's result.
/// A failure to write the case never stops the other outputs: it is kept in <see cref="Error"/> and the verb exits 2
/// after everything else was written. Rows and result land once however often they are written (ids are stable).
/// </summary>
public sealed class CaseSink(ICaseStore store, CaseRunInfo run, string? rowsScanId = null) : IOutputSink
{
    private const int RowBatch = 4000;
    private readonly List<TimelineEvent> _rows = [];
    private long _rowsAdded;
    private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;

    /// <summary>Why the case could not be written (null: it was).</summary>
    public string? Error { get; private set; }
    /// <summary>What was written, for one line on stderr.</summary>
    public string? Summary { get; private set; }

    public void Row(TimelineEvent row)
    {
        if (Error is not null) return;
        _rows.Add(row);
        if (_rows.Count >= RowBatch) FlushRows(rowsScanId ?? "pending");
    }

    public void Complete(RunOutput output)
    {
        if (Error is not null) return;
        Guard(() =>
        {
            var parts = new List<string>();
            if (output.Scan is { } scan)
            {
                var w = store.WriteScan(scan, run.Verb);
                parts.Add(Describe(w));
                if (output.Timeline is { } t)
                    store.WriteTimeline(new TimelineResult
                    {
                        Admin = t.Admin, Processes = t.Processes, Findings = t.Findings, Activity = t.Activity, Coverage = t.Coverage, Stats = t.Stats,
                        // scan --timeline: the timeline's accounts belong to the scan's run.
                        Provenance = t.Provenance ?? scan.Provenance,
                    });
            }
            else if (output.Timeline is { } t)
                parts.Add(Describe(store.WriteTimeline(t)));
            if (output.Assessments is { Count: > 0 } assessments)
            {
                store.WriteAssessments(ScanRecord(), assessments);
                parts.Add($"{assessments.Count} assessment(s)");
            }
            if (output.Checks is { Count: > 0 } checks)
            {
                store.WriteAssessments(ScanRecord(), checks.Select(CheckReportWriter.ToAssessment).ToList());
                parts.Add($"{checks.Count} check(s)");
            }
            var scanId = output.Scan?.Provenance.ScanId ?? output.Timeline?.Provenance?.ScanId ?? rowsScanId ?? "pending";
            FlushRows(scanId);
            if (_rowsAdded > 0) parts.Add($"{_rowsAdded} timeline row(s) added");
            Summary = $"case {store.Description}: {string.Join(", ", parts)}";
        });
    }

    private static string Describe(CaseWriteResult w) =>
        $"{w.Hosts} host(s), {w.FindingsAdded} finding(s) added, {w.FindingsKnown} already in the case" + (w.ScanWasKnown ? " (run already recorded)" : "");

    private CaseScan ScanRecord() => new()
    {
        ScanId = StableIds.NewScanId(), Verb = run.Verb, ToolVersion = run.ToolVersion, Command = run.Command, KnowledgeOrigin = run.Knowledge,
        StartedUtc = _started, FinishedUtc = DateTimeOffset.UtcNow, Machine = Environment.MachineName, User = Environment.UserName,
        RecordedUtc = DateTimeOffset.UtcNow, RecordedBy = "direct",
    };

    private void FlushRows(string scanId)
    {
        if (_rows.Count == 0) return;
        var batch = _rows.ToList();
        _rows.Clear();
        Guard(() => _rowsAdded += store.WriteTimelineRows(scanId, batch));
    }

    private void Guard(Action write)
    {
        if (Error is not null) return;
        try { write(); }
        catch (Exception e) when (e is IOException or System.Data.Common.DbException or InvalidOperationException or ArgumentException or TimeoutException)
        {
            Error = $"the case {store.Description} could not be written: {e.Message}";
        }
    }

    // The store belongs to the verb (opened before the run, so a bad --case fails before hours of scanning).
    public void Dispose() { }
}
