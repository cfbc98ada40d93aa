using Exir.Core.Findings;
using Exir.Knowledge.Assessment;
using Exir.Knowledge.Remote;
using Exir.Timeline;

namespace Exir.Reporting.Outputs;

/// <summary>The verbs that write results through the sinks.</summary>
public enum Verb { Scan, Timeline, Inventory, Check, Report, Proxy, Hunt }

/// <summary>What a verb made. Each sink takes the parts it understands; the parts a verb does not make are null.</summary>
public sealed class RunOutput
{
    public required Verb Verb { get; init; }
    public ScanResult? Scan { get; init; }
    /// <summary>The timeline's analyses (exir timeline, and exir scan --timeline).</summary>
    public TimelineResult? Timeline { get; init; }
    public IReadOnlyList<BuildAssessment>? Assessments { get; init; }
    public IReadOnlyList<RemoteCheckResult>? Checks { get; init; }
    /// <summary>The knowledge base's version and origin (inventory, check).</summary>
    public string? Knowledge { get; init; }
    /// <summary>The case as the report shows it (exir report).</summary>
    public CaseReportInput? Case { get; init; }
    /// <summary>Where the files went (--out), for the console's pointer to them.</summary>
    public string? OutDirectory { get; init; }

    /// <summary>The findings of the run kept in memory (the report's): the scan's, else the timeline's.</summary>
    /// <summary>What exir hunt loaded and ran (with <see cref="Scan"/> holding its findings).</summary>
    public HuntSummary? Hunt { get; init; }
    /// <summary>Findings of a verb that runs on (the proxy): written in batches as they come, to sinks that append.</summary>
    public IReadOnlyList<Finding>? FindingBatch { get; init; }
    public IReadOnlyList<Finding> Findings => Scan?.Findings ?? Timeline?.Findings ?? FindingBatch ?? [];
    /// <summary>Every finding, for the finding outputs: those left out of the report (past the per-rule cap) stream from disk.</summary>
    public IEnumerable<Finding> AllFindings => Scan?.AllFindings ?? Timeline?.Findings ?? FindingBatch ?? [];
}

/// <summary>
/// One output. Sinks that show the timeline's rows get them as they stream out of the sort (<see cref="Row"/>),
/// every sink then gets the complete result once (<see cref="Complete"/>).
/// </summary>
public interface IOutputSink : IDisposable
{
    void Row(TimelineEvent row) { }
    void Complete(RunOutput output);
}

/// <summary>What a Sigma hunt loaded: the one-line summary, and every rule not loaded (file: title: reason).</summary>
public sealed record HuntSummary(string LoadLine, int RulesLoaded, int CorrelationsLoaded, double LoadedShare, IReadOnlyList<string> NotLoaded, IReadOnlyList<string> Skipped);

/// <summary>Where a sink writes: a file of --out, or standard output (then <see cref="IsConsole"/>).</summary>
public sealed record SinkTarget(Stream Stream, bool IsConsole);

/// <summary>What a sink shows: a verb's report (console view, summary, HTML) or one kind of record.</summary>
public enum Content
{
    /// <summary>The scan's report: verdict per host, incidents, patch status, coverage, provenance.</summary>
    ScanReport,
    /// <summary>The timeline's report: activity, scope statements, administrator access, process trees.</summary>
    TimelineReport,
    Findings,
    /// <summary>The timeline's rows, in time order.</summary>
    Rows,
    /// <summary>Patch status of builds, collections or hosts (inventory).</summary>
    Assessments,
    /// <summary>Remote fingerprints and probes (check).</summary>
    Checks,
    /// <summary>A case over many hosts: the report and its exports (exir report).</summary>
    CaseReport,
    /// <summary>A Sigma hunt: its hits in time order and what loaded (exir hunt).</summary>
    HuntReport,
}

/// <summary>What exir report shows: the case read from its store, its checklist, the language, the page's options.</summary>
public sealed record CaseReportInput(Exir.Case.CaseSnapshot Snapshot, Exir.Case.Playbook.Checklist Checklist, string Language, CaseReport.ReportOptions Options);

/// <summary>
/// A named output in the registry: the <c>--format</c> value that prints it, what it shows, and the file
/// <c>--out DIR</c> writes. The same name means the same form for every verb (csv: the verb's records as a
/// spreadsheet-safe table; jsonl: one JSON object per record; json: one document).
/// </summary>
public sealed record SinkDescriptor
{
    /// <summary>The --format value (table, json, jsonl, csv, html, timesketch, timesketch-csv, trees).</summary>
    public required string Name { get; init; }
    public required Content Content { get; init; }
    public required string Description { get; init; }
    /// <summary>The file --out writes; null for a sink that only prints (the console table).</summary>
    public string? FileName { get; init; }
    /// <summary>Whether --format may print it on standard output.</summary>
    public bool Stdout { get; init; } = true;
    /// <summary>Each Complete adds records and writes no header or footer, so a running verb can call it once per batch on a file opened for appending.</summary>
    public bool Appends { get; init; }
    public required Func<SinkTarget, IOutputSink> Create { get; init; }
}
