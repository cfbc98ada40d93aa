using Exir.Core.Coverage;
using Exir.Core.Findings;

namespace Exir.Timeline;

/// <summary>Findings of exir scan (findings.jsonl, read by the one reader of the contract) as timeline rows.</summary>
public static class FindingRows
{
    /// <summary>Rows of a findings file; findings without a time cannot be placed and are counted in the coverage.</summary>
    public static IEnumerable<TimelineEvent> Read(string path, CoverageReport coverage)
    {
        long untimed = 0;
        foreach (var (f, line) in FindingJson.ReadLines(path, coverage))
        {
            var row = From(f, path, line);
            if (row is null) { untimed++; continue; }
            yield return row;
        }
        if (untimed > 0) coverage.AddIssue(IssueKind.Malformed, path, $"{untimed:N0} finding(s) without a timestamp not placed on the timeline");
    }

    /// <summary>The row of one finding, or null when it has no time. A file's modification time is labelled as such, never as an event.</summary>
    public static TimelineEvent? From(Finding f, string path, long line)
    {
        if (f.Timestamp is not { } ts) return null;
        bool fileTime = f.TimeSource == TimeSources.FileModified;
        var row = new TimelineEvent
        {
            Timestamp = ts.UtcDateTime, TimestampDesc = fileTime ? "File modified (may be a copy time)" : "Finding of exir scan", Host = f.Host ?? "",
            Source = "exir scan", Category = "finding", Message = $"[{f.Severity.ToWire()}] {f.Title}: {EventMapping.Cap(f.Evidence)}", SrcIp = f.ClientIp,
            RecordId = f.Line, File = f.Artifact, Tags = fileTime ? ["file-time", "finding"] : ["finding"],
        };
        row.Fields.Add(new("rule_id", f.RuleId));
        row.Fields.Add(new("title", f.Title));
        row.Fields.Add(new("severity", f.Severity.ToWire()));
        row.Fields.Add(new("outcome", f.Outcome.ToWire()));
        if (f.Incident is { } i) row.Fields.Add(new("incident", i));
        if (f.Cves.Count > 0) row.Fields.Add(new("cves", string.Join(",", f.Cves)));
        if (f.Id is { } id) row.Fields.Add(new("finding_id", id));
        if (f.TimeSource is { } src) row.Fields.Add(new("time_source", src));
        row.Fields.Add(new("findings_file", $"{path}:{line}"));
        return row;
    }
}
