using System.Text;
using Exir.Core.Findings;

namespace Exir.Reporting;

/// <summary>The --out folder: findings.jsonl, findings.csv, summary.json and report.html, written together.</summary>
public static class ReportBundle
{
    public static IReadOnlyList<string> Write(string directory, ScanResult result, string? extraHtml = null)
    {
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        string P(string name) { var p = Path.Combine(directory, name); written.Add(p); return p; }
        using (var s = File.Create(P("findings.jsonl"))) JsonlWriter.Write(s, result.Findings);
        using (var w = new StreamWriter(P("findings.csv"), false, new UTF8Encoding(true))) CsvWriter.Write(w, result.Findings);
        using (var s = File.Create(P("summary.json"))) SummaryWriter.Write(s, result);
        HtmlReportWriter.Write(P("report.html"), result, extraHtml);
        return written;
    }
}
