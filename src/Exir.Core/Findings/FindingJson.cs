using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Exir.Core.Coverage;
using Exir.Core.Evidence;

namespace Exir.Core.Findings;

/// <summary>
/// The finding contract on the wire (findings.jsonl, the "findings" of summary.json): one writer and one
/// reader, used by every output and by every verb that reads findings back (timeline, quarantine).
/// Field names and order are stable: other tools read them; new fields are only ever appended.
/// </summary>
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
        WriteUniqueKeys(w, f.Details.OrderBy(kv => kv.Key, StringComparer.Ordinal));
        w.WriteEndObject();
        WriteNullable(w, "incident", f.Incident);
        w.WriteString("explanation", f.Explanation);
        WriteArray(w, "references", f.References);
        WriteNullable(w, "finding_id", f.Id);
        WriteNullable(w, "scan_id", f.ScanId);
        WriteNullable(w, "host_id", f.HostId);
        WriteNullable(w, "time_source", f.TimeSource);
        w.WriteEndObject();
    }

    /// <summary>findings.jsonl: one finding object per line.</summary>
    public static void WriteLines(Stream output, IEnumerable<Finding> findings)
    {
        using var w = new Utf8JsonWriter(output, WriterOptions);
        foreach (var f in findings)
        {
            Write(w, f);
            w.Flush();
            w.Reset();
            output.WriteByte((byte)'\n');
        }
        output.Flush();
    }

    /// <summary>
    /// Reads a findings.jsonl back, streaming. A line that is not a finding object is reported to
    /// <paramref name="problem"/> (path:line and why) and skipped; the file is opened read-only.
    /// </summary>
    public static IEnumerable<(Finding Finding, long Line)> ReadLines(string path, Action<string, string> problem)
    {
        StreamReader reader;
        try { reader = new StreamReader(EvidenceSource.OpenPhysical(path)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem(path, e.Message);
            yield break;
        }
        using (reader)
        {
            long n = 0;
            string? text;
            while ((text = reader.ReadLine()) is not null)
            {
                n++;
                if (string.IsNullOrWhiteSpace(text)) continue;
                Finding? f = null;
                string? why = null;
                try
                {
                    using var doc = JsonDocument.Parse(text);
                    f = Read(doc.RootElement, out why);
                }
                catch (JsonException e) { why = "not JSON: " + e.Message; }
                if (f is null) { problem($"{path}:{n}", why ?? "not a finding"); continue; }
                yield return (f, n);
            }
        }
    }

    /// <summary>Reads findings.jsonl into coverage-reported findings (problems as Malformed issues).</summary>
    public static IEnumerable<(Finding Finding, long Line)> ReadLines(string path, CoverageReport coverage) =>
        ReadLines(path, (where, why) => coverage.AddIssue(IssueKind.Malformed, where, why));

    /// <summary>A finding from its JSON object; null (with why) when required fields are missing or of the wrong type.</summary>
    public static Finding? Read(JsonElement o, out string? why)
    {
        why = null;
        if (o.ValueKind != JsonValueKind.Object) { why = "not a JSON object"; return null; }
        string? S(string name) => o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        IReadOnlyList<string> A(string name) => o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array
            ? v.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToList() : [];
        var ruleId = S("rule_id");
        var artifact = S("artifact");
        if (ruleId is null || artifact is null) { why = "no rule_id or artifact"; return null; }
        DateTimeOffset? ts = DateTimeOffset.TryParse(S("timestamp"), CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) ? t : null;
        long? line = o.TryGetProperty("line", out var l) && l.ValueKind == JsonValueKind.Number && l.TryGetInt64(out var ln) ? ln : null;
        var details = new Dictionary<string, string>(StringComparer.Ordinal);
        if (o.TryGetProperty("details", out var d) && d.ValueKind == JsonValueKind.Object)
            foreach (var p in d.EnumerateObject())
                if (p.Value.ValueKind == JsonValueKind.String) details[p.Name] = p.Value.GetString()!;
        SeverityNames.TryParseSeverity(S("severity"), out var severity);
        SeverityNames.TryParseOutcome(S("outcome"), out var outcome);
        return new Finding
        {
            RuleId = ruleId, Title = S("title") ?? ruleId, Severity = severity, Outcome = outcome, Cves = A("cves"), Attack = A("attack"),
            Host = S("host"), Artifact = artifact, Line = line, Timestamp = ts, ClientIp = S("client_ip"), Evidence = S("evidence") ?? "",
            Details = details, Incident = S("incident"), Explanation = S("explanation") ?? "", References = A("references"),
            Id = S("finding_id"), ScanId = S("scan_id"), HostId = S("host_id"), TimeSource = S("time_source"),
        };
    }

    /// <summary>
    /// Writes name-value pairs whose names are unique ignoring case: a later name equal to an earlier one but for
    /// case gets "[2]" appended. PowerShell's ConvertFrom-Json rejects objects with such keys, and details come
    /// from evidence (field names, regex groups) that can differ only in case.
    /// </summary>
    public static void WriteUniqueKeys(Utf8JsonWriter w, IEnumerable<KeyValuePair<string, string>> pairs)
    {
        HashSet<string>? seen = null;
        foreach (var (k, v) in pairs)
        {
            seen ??= new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            var key = k;
            for (int n = 2; !seen.Add(key); n++) key = $"{k}[{n}]";
            w.WriteString(key, v);
        }
    }

    /// <summary>ISO 8601 UTC with the precision the evidence had (e.g. 2021-03-03T05:42:01.123Z).</summary>
    public static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

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
