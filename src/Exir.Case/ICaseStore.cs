using Exir.Core.Findings;
using Exir.Knowledge.Assessment;
using Exir.Remediation;
using Exir.Timeline;

namespace Exir.Case;

/// <summary>
/// One case in a database: SQLite (a file, the default) or PostgreSQL (a team's server), the same schema and
/// versioned migrations on both. Every write is idempotent on its ids (scan id, host id, finding id), so a scan
/// written twice, or imported from its output folder after it was written directly, lands once; writers on
/// several machines may write at the same time.
/// </summary>
public interface ICaseStore : IDisposable
{
    /// <summary>"SQLite /path/case.db" or "PostgreSQL host:port/db" (never a password), for messages and the report.</summary>
    string Description { get; }
    int SchemaVersion { get; }

    /// <summary>A scan's hosts, provenance, per-host verdicts and coverage, evidence hashes and every finding (<see cref="ScanResult.AllFindings"/>).</summary>
    CaseWriteResult WriteScan(ScanResult scan, string verb = "scan", string recordedBy = "direct");
    /// <summary>A timeline run: its provenance, admin access summary and findings (the rows come through <see cref="WriteTimelineRows"/>).</summary>
    CaseWriteResult WriteTimeline(TimelineResult timeline, string recordedBy = "direct");
    /// <summary>Timeline rows of a run, streamed in batches; rows already in the case are skipped. Returns the rows added.</summary>
    long WriteTimelineRows(string scanId, IEnumerable<TimelineEvent> rows);
    /// <summary>Patch status assessments (inventory, check) as one run of <paramref name="scan"/>.</summary>
    CaseWriteResult WriteAssessments(CaseScan scan, IReadOnlyList<BuildAssessment> assessments);
    /// <summary>Quarantine records (the store's manifest state) for a host; updates the state of entries already known.</summary>
    CaseWriteResult WriteQuarantine(CaseScan scan, string? hostName, IReadOnlyList<QuarantineEntry> entries);

    void SetSetting(string key, string? value);
    /// <summary>Records a step's new state (history kept). <paramref name="state"/> is one of <see cref="StepStates.All"/>.</summary>
    CaseStepRecord SetStep(string stepId, string state, string? note, string by, DateTimeOffset atUtc);
    CaseNote AddNote(string? hostName, string text, string by, DateTimeOffset atUtc);

    CaseSnapshot Read(CaseReadOptions? options = null);
}

/// <summary>What a write added: rows new to the case and rows it already had (a re-import adds none).</summary>
public sealed record CaseWriteResult(string ScanId, int Hosts, long FindingsAdded, long FindingsKnown, bool ScanWasKnown)
{
    public long TimelineRowsAdded { get; init; }
}
