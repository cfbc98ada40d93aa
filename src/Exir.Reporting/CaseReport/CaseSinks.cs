using Exir.Reporting.Outputs;
using Exir.Reporting.TimelineOutputs;

namespace Exir.Reporting.CaseReport;

// exir report's outputs in the sink registry: the page, the STIX bundle and the ECS lines of one case.

internal sealed class CaseHtmlSink(SinkTarget target) : StreamSink(target)
{
    public override void Complete(RunOutput output)
    {
        if (output.Case is { } c) CaseHtmlReport.Write(c.Snapshot, c.Checklist, c.Language, Stream, c.Options);
    }
}

internal sealed class CaseStixSink(SinkTarget target) : StreamSink(target)
{
    public override void Complete(RunOutput output)
    {
        if (output.Case is { } c) CaseStixExport.Write(c.Snapshot, Stream);
    }
}

internal sealed class CaseEcsSink(SinkTarget target) : StreamSink(target)
{
    public override void Complete(RunOutput output)
    {
        if (output.Case is { } c) CaseEcsExport.Write(c.Snapshot, Stream, c.Snapshot.TimelineRows, c.Options.ToolVersion);
    }
}

/// <summary>The case's findings and timeline rows as Timesketch JSONL, in time order (the same form as exir timeline's).</summary>
internal sealed class CaseTimesketchSink(SinkTarget target) : StreamSink(target)
{
    public override void Complete(RunOutput output)
    {
        if (output.Case is not { } c) return;
        var names = c.Snapshot.Hosts.ToDictionary(h => h.HostId, h => h.Name, StringComparer.Ordinal);
        var rows = new List<Exir.Timeline.TimelineEvent>();
        long line = 0;
        foreach (var f in c.Snapshot.Findings)
            if (Exir.Timeline.FindingRows.From(f, "exir case", ++line) is { } row) rows.Add(row);
        foreach (var r in c.Snapshot.TimelineRows)
        {
            var e = new Exir.Timeline.TimelineEvent
            {
                Timestamp = r.TimeUtc.UtcDateTime, TimestampDesc = r.Description, Host = names.GetValueOrDefault(r.HostId, r.HostId),
                Source = r.Source, Category = r.Category, EventId = r.EventId, User = r.User, SrcIp = r.SrcIp, Process = r.Process,
                CommandLine = r.CommandLine, Message = r.Message, File = r.File, RecordId = r.RecordId,
            };
            foreach (var t in r.Tags) e.AddTag(t);
            rows.Add(e);
        }
        rows.Sort(Exir.Timeline.TimelineEvent.Compare);
        using var j = new System.Text.Json.Utf8JsonWriter(Stream, new System.Text.Json.JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        foreach (var row in rows) TimesketchJsonlSink.Write(j, row, Stream);
        Stream.Flush();
    }
}
