using System.Text.Encodings.Web;
using System.Text.Json;
using Exir.Core.Findings;

namespace Exir.Reporting;

/// <summary>The finding contract on the wire. Field names and order are stable: other tools read them.</summary>
public static class FindingJson
{
    public static readonly JsonWriterOptions WriterOptions = new()
    {
        // Relaxed escaping keeps evidence readable; JSON strings cannot break out of their quotes either way.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    public static void Write(Utf8JsonWriter w, Finding f)
    {
        w.WriteStartObject();
        w.WriteString("rule_id", f.RuleId);
        w.WriteString("title", f.Title);
        w.WriteString("severity", f.Severity.ToWire());
        w.WriteString("outcome", f.Outcome.ToWire());
        WriteArray(w, "cves", f.Cves);
        WriteArray(w, "attack", f.Attack);
        WriteNullable(w, "host", f.Host);
        w.WriteString("artifact", f.Artifact);
        if (f.Line is { } line) w.WriteNumber("line", line); else w.WriteNull("line");
        WriteNullable(w, "timestamp", f.Timestamp is { } t ? Iso(t) : null);
        WriteNullable(w, "client_ip", f.ClientIp);
        w.WriteString("evidence", f.Evidence);
        w.WriteStartObject("details");
        foreach (var (k, v) in f.Details.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(k, v);
        w.WriteEndObject();
        WriteNullable(w, "incident", f.Incident);
        w.WriteString("explanation", f.Explanation);
        WriteArray(w, "references", f.References);
        w.WriteEndObject();
    }

    /// <summary>ISO 8601 UTC with the precision the evidence had (e.g. 2021-03-03T05:42:01.123Z).</summary>
    public static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'");

    public static void WriteArray(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    public static void WriteNullable(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null) w.WriteNull(name); else w.WriteString(name, value);
    }
}
