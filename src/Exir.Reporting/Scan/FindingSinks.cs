using System.Globalization;
using System.Text;
using System.Text.Json;
using Exir.Core;
using Exir.Core.Findings;
using Exir.Reporting.Outputs;
using Exir.Reporting.TimelineOutputs;
using Exir.Timeline;

namespace Exir.Reporting.Scan;

/// <summary>findings.jsonl: one finding object per line (the contract of <see cref="FindingJson"/>).</summary>
public sealed class FindingsJsonlSink(SinkTarget target) : StreamSink(target)
{
    public override void Complete(RunOutput output) => FindingJson.WriteLines(Stream, output.AllFindings);
}

/// <summary>findings.csv: the same columns as the JSONL, spreadsheet-safe, with a byte-order mark so spreadsheets read UTF-8.</summary>
public sealed class FindingsCsvSink(SinkTarget target) : StreamSink(target)
{
    public static readonly string[] Columns =
        ["rule_id", "title", "severity", "outcome", "cves", "attack", "host", "artifact", "line", "timestamp", "client_ip", "evidence", "details",
         "incident", "explanation", "references", "finding_id", "scan_id", "host_id", "time_source"];

    public override void Complete(RunOutput output)
    {
        using var w = new StreamWriter(Stream, new UTF8Encoding(!IsConsole), 1 << 16, leaveOpen: true);
        using var table = new CsvTable(w, Columns);
        foreach (var f in output.AllFindings)
            table.Row(f.RuleId, f.Title, f.Severity.ToWire(), f.Outcome.ToWire(), string.Join(';', f.Cves), string.Join(';', f.Attack),
                f.Host, f.Artifact, f.Line?.ToString(CultureInfo.InvariantCulture), f.Timestamp is { } t ? FindingJson.Iso(t) : "", f.ClientIp,
                f.Evidence, DetailsJson(f.Details), f.Incident, f.Explanation, string.Join(' ', f.References), f.Id, f.ScanId, f.HostId, f.TimeSource);
    }

    private static string DetailsJson(IReadOnlyDictionary<string, string> details)
    {
        if (details.Count == 0) return "";
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, FindingJson.WriterOptions))
        {
            w.WriteStartObject();
            FindingJson.WriteUniqueKeys(w, details.OrderBy(kv => kv.Key, StringComparer.Ordinal));
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }
}

/// <summary>Findings as Timesketch JSONL events, for importing a scan into the same sketch as the timeline.</summary>
public sealed class FindingsTimesketchSink(SinkTarget target) : StreamSink(target)
{
    public override void Complete(RunOutput output)
    {
        using var j = new Utf8JsonWriter(Stream, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        long line = 0;
        foreach (var f in output.AllFindings)
        {
            line++;
            if (FindingRows.From(f, "exir scan", line) is { } row) TimesketchJsonlSink.Write(j, row, Stream);
        }
        Stream.Flush();
    }
}
