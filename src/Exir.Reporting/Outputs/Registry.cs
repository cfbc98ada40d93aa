using Exir.Reporting.CaseReport;
using Exir.Reporting.Patch;
using Exir.Reporting.Scan;
using Exir.Reporting.TimelineOutputs;

namespace Exir.Reporting.Outputs;

/// <summary>
/// Every output of every verb, by name. A verb prints one sink on standard output (<c>--format</c>, looked up
/// among its records and its report) and writes every file sink of what it made into <c>--out DIR</c>.
/// A new format is one more entry here and one sink class, not a switch in a command.
/// </summary>
public static class SinkRegistry
{
    public static IReadOnlyList<SinkDescriptor> All { get; } =
    [
        new() { Name = "table", Content = Content.ScanReport, Description = "findings by rule, incidents, patch status, coverage and the verdict, for people", Stdout = true, Create = t => new ScanConsoleSink(t) },
        new() { Name = "json", Content = Content.ScanReport, FileName = "summary.json", Description = "verdict per host, incidents, patch status, coverage and provenance (on stdout with the findings)", Create = t => new ScanSummarySink(t) },
        new() { Name = "html", Content = Content.ScanReport, FileName = "report.html", Description = "self-contained report for a browser (no scripts, no external resources)", Create = t => new ScanHtmlSink(t) },
        new() { Name = "jsonl", Content = Content.Findings, FileName = "findings.jsonl", Description = "one finding per line (the finding contract)", Appends = true, Create = t => new FindingsJsonlSink(t) },
        new() { Name = "csv", Content = Content.Findings, FileName = "findings.csv", Description = "one finding per row, spreadsheet-safe", Create = t => new FindingsCsvSink(t) },
        new() { Name = "timesketch", Content = Content.Findings, Description = "findings as Timesketch JSONL events", Appends = true, Create = t => new FindingsTimesketchSink(t) },

        new() { Name = "table", Content = Content.TimelineReport, Description = "what the timeline holds, scope statements and where the files went", Create = t => new TimelineConsoleSink(t) },
        new() { Name = "json", Content = Content.TimelineReport, FileName = "summary.json", Description = "scope statements, the administrator access summary, statistics and provenance", Create = t => new TimelineSummarySink(t) },
        new() { Name = "html", Content = Content.TimelineReport, FileName = "timeline.html", Description = "activity plot, scope, administrator access, process trees and highlighted rows", Create = t => new TimelineHtmlSink(t) },
        new() { Name = "trees", Content = Content.TimelineReport, FileName = "process-trees.txt", Description = "the process trees of interest as text", Create = t => new ProcessTreesSink(t) },
        new() { Name = "jsonl", Content = Content.Rows, Description = "the rows as Timesketch JSONL (as timesketch)", Create = t => new TimesketchJsonlSink(t) },
        new() { Name = "timesketch", Content = Content.Rows, FileName = "timeline.jsonl", Description = "the rows as Timesketch JSONL (message, datetime, timestamp_desc)", Create = t => new TimesketchJsonlSink(t) },
        new() { Name = "timesketch-csv", Content = Content.Rows, FileName = "timeline.timesketch.csv", Description = "the rows as Timesketch CSV, values as they are", Create = t => new TimelineCsvSink(t, timesketch: true) },
        new() { Name = "csv", Content = Content.Rows, FileName = "timeline.csv", Description = "the rows as a spreadsheet-safe table", Create = t => new TimelineCsvSink(t, timesketch: false) },

        new() { Name = "table", Content = Content.Assessments, Description = "patch status per server, then a one-line summary per server", Create = t => new AssessmentSink(t, "table") },
        new() { Name = "json", Content = Content.Assessments, FileName = "inventory.json", Description = "one object per server (stable names: build, product, cu, su, open_cves, action, ...)", Create = t => new AssessmentSink(t, "json") },
        new() { Name = "jsonl", Content = Content.Assessments, Description = "one server per line", Create = t => new AssessmentSink(t, "jsonl") },
        new() { Name = "csv", Content = Content.Assessments, FileName = "inventory.csv", Description = "one server per row, spreadsheet-safe", Create = t => new AssessmentSink(t, "csv") },

        new() { Name = "html", Content = Content.CaseReport, FileName = "report.html", Description = "the case report for management and authorities (self-contained, print-ready; --lang en|de)", Create = t => new CaseHtmlSink(t) },
        new() { Name = "stix", Content = Content.CaseReport, FileName = "indicators.stix.json", Description = "STIX 2.1 bundle of the case's indicators (addresses, hashes, paths, requests) for CERTs", Create = t => new CaseStixSink(t) },
        new() { Name = "ecs", Content = Content.CaseReport, FileName = "case.ecs.ndjson", Description = "findings and timeline rows as ECS NDJSON (Elasticsearch, OpenSearch, Splunk)", Create = t => new CaseEcsSink(t) },
        new() { Name = "timesketch", Content = Content.CaseReport, FileName = "case.timesketch.jsonl", Description = "the case's findings and timeline rows as Timesketch JSONL, in time order", Create = t => new CaseTimesketchSink(t) },

        new() { Name = "table", Content = Content.HuntReport, Description = "the hits in time order (time, host, level, rule, where) and what loaded", Create = t => new HuntTableSink(t) },
        new() { Name = "json", Content = Content.HuntReport, FileName = "hunt.json", Description = "rules loaded, every rule not loaded and why, hits per rule, coverage and provenance", Create = t => new HuntJsonSink(t) },

        new() { Name = "table", Content = Content.Checks, Description = "fingerprint and probe verdicts per host", Create = t => new CheckSink(t, "table") },
        new() { Name = "json", Content = Content.Checks, FileName = "check.json", Description = "one object per host with the fingerprint, the assessment and every probe", Create = t => new CheckSink(t, "json") },
        new() { Name = "jsonl", Content = Content.Checks, Description = "one host per line", Create = t => new CheckSink(t, "jsonl") },
        new() { Name = "csv", Content = Content.Checks, FileName = "check.csv", Description = "one host per row, spreadsheet-safe", Create = t => new CheckSink(t, "csv") },
    ];

    /// <summary>What a verb makes: its report, its records, and (scan --timeline) the timeline's rows.</summary>
    public static IReadOnlyList<Content> ContentsOf(Verb verb, bool withTimeline = false) => verb switch
    {
        Verb.Scan => withTimeline ? [Content.ScanReport, Content.Findings, Content.Rows] : [Content.ScanReport, Content.Findings],
        Verb.Timeline => [Content.TimelineReport, Content.Rows, Content.Findings],
        Verb.Inventory => [Content.Assessments],
        Verb.Report => [Content.CaseReport],
        Verb.Proxy => [Content.Findings],
        Verb.Hunt => [Content.HuntReport, Content.Findings],
        _ => [Content.Checks],
    };

    /// <summary>Where --format looks, in order: the verb's records, then its report.</summary>
    private static IReadOnlyList<Content> StdoutContents(Verb verb) => verb switch
    {
        Verb.Scan => [Content.Findings, Content.ScanReport],
        Verb.Timeline => [Content.Rows, Content.TimelineReport],
        Verb.Inventory => [Content.Assessments],
        Verb.Report => [Content.CaseReport],
        Verb.Proxy => [Content.Findings],
        Verb.Hunt => [Content.Findings, Content.HuntReport],
        _ => [Content.Checks],
    };

    /// <summary>The sink --format NAME prints for the verb; null when the verb has no such format.</summary>
    public static SinkDescriptor? ForStdout(Verb verb, string name)
    {
        foreach (var content in StdoutContents(verb))
            if (All.FirstOrDefault(d => d.Content == content && d.Stdout && (!RunsOn(verb) || d.Appends) && d.Name.Equals(name, StringComparison.OrdinalIgnoreCase)) is { } d)
                return d;
        return null;
    }

    /// <summary>The --format values of a verb, for its help and its error messages.</summary>
    public static IReadOnlyList<string> FormatNames(Verb verb) =>
        StdoutContents(verb).SelectMany(c => All.Where(d => d.Content == c && d.Stdout && (!RunsOn(verb) || d.Appends)).Select(d => d.Name)).Distinct().ToList();

    /// <summary>A verb that runs until stopped (the proxy) writes its records in batches: only to sinks that append.</summary>
    public static bool RunsOn(Verb verb) => verb == Verb.Proxy;

    /// <summary>The files --out DIR gets for what the run made.</summary>
    public static IReadOnlyList<SinkDescriptor> ForFolder(Verb verb, bool withTimeline = false)
    {
        var contents = ContentsOf(verb, withTimeline);
        return All.Where(d => d.FileName is not null && contents.Contains(d.Content) && (!RunsOn(verb) || d.Appends)).ToList();
    }
}
