using System.Globalization;
using System.Text;
using System.Text.Json;
using Exir.Core;
using Exir.Knowledge.Assessment;
using Exir.Knowledge.Remote;
using Exir.Reporting.Outputs;
using Exir.Reporting.TimelineOutputs;

namespace Exir.Reporting.Patch;

/// <summary>exir inventory's outputs: the readable report with a one-line summary per server, JSON, JSON lines or CSV.</summary>
public sealed class AssessmentSink(SinkTarget target, string format) : StreamSink(target)
{
    public override void Complete(RunOutput output)
    {
        if (output.Assessments is not { } list) return;
        using var w = new StreamWriter(Stream, new UTF8Encoding(false), leaveOpen: true);
        switch (format)
        {
            case "json": w.Write(AssessmentWriter.Json(list)); break;
            case "jsonl": w.Write(AssessmentWriter.JsonLines(list)); break;
            case "csv": w.Write(AssessmentWriter.Csv(list)); break;
            default:
                if (output.Knowledge is not null) { w.WriteLine($"knowledge: {output.Knowledge}"); w.WriteLine(); }
                // Build texts and paths come from the evidence: each value one line, escaped; then the whole text once more.
                w.Write(TextSafety.ForTerminal(AssessmentWriter.Text(list.Select(CheckReportWriter.ForText)), keepNewlines: true));
                if (list.Count > 1) SummaryTable.Write(w, list);
                break;
        }
    }
}

/// <summary>exir check's outputs: a verdict line for every probe, JSON, JSON lines or CSV.</summary>
public sealed class CheckSink(SinkTarget target, string format) : StreamSink(target)
{
    public override void Complete(RunOutput output)
    {
        if (output.Checks is not { } results) return;
        using var w = new StreamWriter(Stream, new UTF8Encoding(false), leaveOpen: true);
        switch (format)
        {
            case "json": w.Write(CheckReportWriter.Json(results)); break;
            case "jsonl":
                using (var doc = JsonDocument.Parse(CheckReportWriter.Json(results)))
                    foreach (var host in doc.RootElement.EnumerateArray())
                        w.Write(JsonSerializer.Serialize(host, new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n");
                break;
            case "csv": w.Write(CheckReportWriter.Csv(results)); break;
            default:
                if (output.Knowledge is not null) { w.WriteLine($"knowledge: {output.Knowledge}"); w.WriteLine(); }
                // Server headers and pages are the remote side's text: no terminal escapes reach the console.
                w.Write(TextSafety.ForTerminal(CheckReportWriter.Text(results), keepNewlines: true));
                if (results.Count > 1) SummaryTable.Write(w, results.Select(CheckReportWriter.ToAssessment).ToList());
                break;
        }
    }
}

/// <summary>One line per server after the details: plain columns, so it survives pipes and narrow terminals.</summary>
public static class SummaryTable
{
    public static void Write(TextWriter w, IReadOnlyList<BuildAssessment> list)
    {
        var rows = new List<string[]> { new[] { "SERVER", "BUILD", "VERSION", "PREC", "SUPPORTED", "OPEN", "ACTION" } };
        // Each cell escaped before the widths are measured: the columns stay aligned whatever a host name or build text holds.
        foreach (var a in list)
            rows.Add(
            [
                TextSafety.ForTerminal(a.Target == a.BuildText ? "-" : a.Target), TextSafety.ForTerminal(a.Build?.ToString() ?? a.BuildText ?? ""),
                a.Error is null ? $"{a.Product?.Replace("Exchange Server ", "").Replace("Subscription Edition", "SE")} {a.Cu} {a.Su}".Trim() : "?",
                a.Error is null ? a.Precision : "", a.Error is null ? (a.Supported ? "yes" : "no") : "",
                a.OpenCves.Count.ToString(CultureInfo.InvariantCulture),
                a.Error is not null ? "could-not-assess" : BuildAssessment.ActionName(a.Action),
            ]);
        var widths = Enumerable.Range(0, rows[0].Length).Select(i => rows.Max(r => Math.Min(r[i].Length, 48))).ToArray();
        foreach (var r in rows)
            w.WriteLine(string.Join("  ", r.Select((c, i) => (c.Length > 48 ? c[..45] + "..." : c).PadRight(widths[i]))).TrimEnd());
    }
}
