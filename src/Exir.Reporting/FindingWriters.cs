using Exir.Core;
using System.Text;
using System.Text.Json;
using Exir.Core.Findings;

namespace Exir.Reporting;

/// <summary>findings.jsonl: one finding object per line (the contract in <see cref="FindingJson"/>).</summary>
public static class JsonlWriter
{
    public static void Write(Stream output, IEnumerable<Finding> findings)
    {
        foreach (var f in findings)
        {
            using (var w = new Utf8JsonWriter(output, FindingJson.WriterOptions)) FindingJson.Write(w, f);
            output.WriteByte((byte)'\n');
        }
        output.Flush();
    }
}

/// <summary>findings.csv: the same columns as the JSONL, RFC 4180 quoting, formula injection neutralised.</summary>
public static class CsvWriter
{
    public static readonly string[] Columns =
        ["rule_id", "title", "severity", "outcome", "cves", "attack", "host", "artifact", "line", "timestamp", "client_ip", "evidence", "details", "incident", "explanation", "references"];

    public static void Write(TextWriter output, IEnumerable<Finding> findings)
    {
        output.Write(string.Join(',', Columns));
        output.Write("\r\n");
        foreach (var f in findings)
        {
            string[] cells =
            [
                f.RuleId, f.Title, f.Severity.ToWire(), f.Outcome.ToWire(), string.Join(';', f.Cves), string.Join(';', f.Attack),
                f.Host ?? "", f.Artifact, f.Line?.ToString() ?? "", f.Timestamp is { } t ? FindingJson.Iso(t) : "", f.ClientIp ?? "",
                f.Evidence, DetailsJson(f.Details), f.Incident ?? "", f.Explanation, string.Join(' ', f.References),
            ];
            for (int i = 0; i < cells.Length; i++)
            {
                if (i > 0) output.Write(',');
                output.Write(Quote(TextSafety.ForCsvCell(cells[i])));
            }
            output.Write("\r\n");
        }
        output.Flush();
    }

    public static string Quote(string cell) =>
        cell.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + cell.Replace("\"", "\"\"") + "\"" : cell;

    private static string DetailsJson(IReadOnlyDictionary<string, string> details)
    {
        if (details.Count == 0) return "";
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, FindingJson.WriterOptions))
        {
            w.WriteStartObject();
            foreach (var (k, v) in details.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(k, v);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }
}
