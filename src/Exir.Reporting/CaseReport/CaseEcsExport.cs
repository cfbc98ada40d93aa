using System.Globalization;
using System.Net;
using System.Text.Json;
using Exir.Case;
using Exir.Core;
using Exir.Core.Findings;

namespace Exir.Reporting.CaseReport;

/// <summary>
/// Findings (event.kind alert) and timeline rows (event.kind event) as Elastic Common Schema NDJSON, one object per
/// line, for Elasticsearch, OpenSearch or any SIEM that reads ECS. Only ECS field names are used; what ECS has no
/// field for (the evidence line, exir's severity and outcome words, the time's source) goes under labels.*, which
/// ECS leaves to the producer. A value ECS types as an IP is written only when it parses as one (an unparsable
/// address would make the whole document fail to index); the raw text is kept in labels.
/// </summary>
public static class CaseEcsExport
{
    public const string EcsVersion = "8.11.0";

    // ECS event.category allowed values (ECS 8.11) that a timeline category maps to; anything else is "host".
    private static readonly Dictionary<string, string> CategoryMap = new(StringComparer.OrdinalIgnoreCase)
    {
        ["process"] = "process", ["process-access"] = "process", ["powershell"] = "process", ["service"] = "configuration",
        ["file"] = "file", ["registry"] = "registry", ["network"] = "network", ["web"] = "web", ["logon"] = "authentication",
        ["authentication"] = "authentication", ["account-change"] = "iam", ["iam"] = "iam", ["log-tamper"] = "configuration",
        ["finding"] = "intrusion_detection", ["session"] = "session", ["email"] = "email", ["malware"] = "malware",
    };

    /// <param name="timelineRows">The rows to export; the snapshot's tagged rows when null (the store can stream every row).</param>
    public static void Write(CaseSnapshot snapshot, Stream output, IEnumerable<CaseTimelineRow>? timelineRows = null, string? toolVersion = null)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        toolVersion ??= typeof(CaseEcsExport).Assembly.GetName().Version?.ToString(3) ?? "";
        var hostNames = snapshot.Hosts.GroupBy(h => h.HostId).ToDictionary(g => g.Key, g => g.First().Name, StringComparer.Ordinal);
        foreach (var h in snapshot.HostScans) hostNames.TryAdd(h.HostId, h.HostName);
        var scanTimes = snapshot.Scans.GroupBy(s => s.ScanId).ToDictionary(g => g.Key, g => g.First().FinishedUtc, StringComparer.Ordinal);
        var created = snapshot.ReadUtc;
        var options = new JsonWriterOptions { Indented = false, SkipValidation = false };
        var newline = "\n"u8.ToArray();

        foreach (var f in snapshot.Findings)
        {
            using (var w = new Utf8JsonWriter(output, options))
            {
                WriteFinding(w, f, hostNames, scanTimes, created, toolVersion);
            }
            output.Write(newline);
        }
        foreach (var r in timelineRows ?? snapshot.TimelineRows)
        {
            using (var w = new Utf8JsonWriter(output, options))
            {
                WriteRow(w, r, hostNames, created, toolVersion);
            }
            output.Write(newline);
        }
        output.Flush();
    }

    private static void WriteFinding(Utf8JsonWriter w, Finding f, Dictionary<string, string> hostNames, Dictionary<string, DateTimeOffset> scanTimes,
        DateTimeOffset created, string toolVersion)
    {
        // An undated finding is placed at the time its scan finished (labelled), never left without @timestamp.
        var (when, timeSource) = f.Timestamp is { } t ? (t, f.TimeSource ?? "unknown")
            : f.ScanId is { } sid && scanTimes.TryGetValue(sid, out var fin) ? (fin, "scan-finished") : (created, "export");
        bool isFile = f.Line is null;
        w.WriteStartObject();
        w.WriteString("@timestamp", Iso(when));
        w.WriteString("message", S($"{f.Title}: {f.Artifact}{(f.Line is { } l ? ":" + l.ToString(CultureInfo.InvariantCulture) : "")}"));
        w.WriteStartObject("ecs"); w.WriteString("version", EcsVersion); w.WriteEndObject();

        w.WriteStartObject("event");
        w.WriteString("kind", "alert");
        w.WriteStartArray("category");
        w.WriteStringValue("intrusion_detection");
        if (isFile) w.WriteStringValue("file");
        else if (f.TimeSource == TimeSources.LogLine) w.WriteStringValue("web");
        w.WriteEndArray();
        w.WriteStartArray("type"); w.WriteStringValue("indicator"); w.WriteEndArray();
        w.WriteString("action", S(f.RuleId));
        w.WriteString("outcome", f.Outcome == Outcome.Success ? "success" : "unknown");
        w.WriteNumber("severity", f.Severity switch { Severity.Critical => 99, Severity.High => 73, Severity.Medium => 47, Severity.Low => 21, _ => 0 });
        w.WriteString("module", "exir");
        w.WriteString("dataset", "exir.finding");
        w.WriteString("provider", "exir");
        if (f.Id is { } id) w.WriteString("id", S(id));
        w.WriteString("created", Iso(created));
        w.WriteString("original", S(f.Evidence));
        w.WriteEndObject();

        w.WriteStartObject("rule");
        w.WriteString("id", S(f.RuleId));
        w.WriteString("name", S(f.Title));
        if (f.Explanation.Length > 0) w.WriteString("description", S(f.Explanation));
        w.WriteString("category", f.Outcome.ToWire());
        w.WriteString("ruleset", "exir");
        if (f.References.FirstOrDefault() is { } reference) w.WriteString("reference", S(reference));
        w.WriteEndObject();

        WriteHost(w, f.HostId, f.HostId is { } hid && hostNames.TryGetValue(hid, out var hn) ? hn : f.Host);
        bool ipValid = WriteIp(w, "source", f.ClientIp);

        if (isFile)
        {
            w.WriteStartObject("file");
            w.WriteString("path", S(f.Artifact));
            var name = f.Artifact[(Math.Max(f.Artifact.LastIndexOf('/'), f.Artifact.LastIndexOf('\\')) + 1)..];
            if (name.Length > 0) w.WriteString("name", S(name));
            if (f.Details.TryGetValue("sha256", out var sha) && sha.Length == 64 && sha.All(Uri.IsHexDigit))
            {
                w.WriteStartObject("hash"); w.WriteString("sha256", sha.ToLowerInvariant()); w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        else
        {
            w.WriteStartObject("log");
            w.WriteStartObject("file"); w.WriteString("path", S(f.Artifact)); w.WriteEndObject();
            w.WriteEndObject();
            if (f.TimeSource == TimeSources.EventRecord && f.Line is { } record)
            {
                w.WriteStartObject("winlog"); w.WriteNumber("record_id", record); w.WriteEndObject();
            }
        }
        var stem = Detail(f, "UrlStem") ?? Detail(f, "cs-uri-stem");
        if (stem is { Length: > 0 } && stem != "-")
        {
            var query = Detail(f, "UrlQuery") ?? Detail(f, "cs-uri-query");
            w.WriteStartObject("url");
            w.WriteString("path", S(stem));
            if (query is { Length: > 0 } && query != "-") w.WriteString("query", S(query.TrimStart('?')));
            w.WriteString("original", S(query is { Length: > 0 } && query != "-" ? stem + "?" + query.TrimStart('?') : stem));
            w.WriteEndObject();
        }
        if ((Detail(f, "UserAgent") ?? Detail(f, "cs(User-Agent)")) is { Length: > 0 } ua && ua != "-")
        {
            w.WriteStartObject("user_agent"); w.WriteString("original", S(ua)); w.WriteEndObject();
        }

        if (f.Attack.Count > 0)
        {
            // ECS keeps sub-techniques (T1505.003) apart from techniques (T1505).
            var techniques = f.Attack.Select(a => a.Split('.')[0]).Distinct(StringComparer.Ordinal).ToList();
            var subs = f.Attack.Where(a => a.Contains('.')).ToList();
            w.WriteStartObject("threat");
            w.WriteString("framework", "MITRE ATT&CK");
            w.WriteStartObject("technique");
            WriteArray(w, "id", techniques);
            if (subs.Count > 0)
            {
                w.WriteStartObject("subtechnique"); WriteArray(w, "id", subs); w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        if (f.Cves.Count > 0)
        {
            w.WriteStartObject("vulnerability");
            WriteArray(w, "id", f.Cves);
            w.WriteString("enumeration", "CVE");
            w.WriteEndObject();
        }
        WriteTool(w, toolVersion);

        w.WriteStartObject("labels");
        if (f.Id is { } fid) w.WriteString("finding_id", S(fid));
        if (f.ScanId is { } scan) w.WriteString("scan_id", S(scan));
        if (f.Incident is { } inc) w.WriteString("incident", S(inc));
        if (f.Line is { } line && f.TimeSource != TimeSources.EventRecord) w.WriteString("evidence_line", line.ToString(CultureInfo.InvariantCulture));
        w.WriteString("severity", f.Severity.ToWire());
        w.WriteString("outcome", f.Outcome.ToWire());
        w.WriteString("time_source", timeSource);
        if (!ipValid && !string.IsNullOrEmpty(f.ClientIp)) w.WriteString("client_ip_raw", S(f.ClientIp));
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteRow(Utf8JsonWriter w, CaseTimelineRow r, Dictionary<string, string> hostNames, DateTimeOffset created, string toolVersion)
    {
        w.WriteStartObject();
        w.WriteString("@timestamp", Iso(r.TimeUtc));
        w.WriteString("message", S(r.Message.Length > 0 ? r.Message : r.Description));
        w.WriteStartObject("ecs"); w.WriteString("version", EcsVersion); w.WriteEndObject();
        w.WriteStartObject("event");
        w.WriteString("kind", "event");
        w.WriteStartArray("category");
        w.WriteStringValue(CategoryMap.TryGetValue(r.Category, out var cat) ? cat : "host");
        w.WriteEndArray();
        w.WriteString("action", S(r.Description));
        if (r.EventId is { } eid) w.WriteString("code", eid.ToString(CultureInfo.InvariantCulture));
        w.WriteString("provider", S(r.Source));
        w.WriteString("module", "exir");
        w.WriteString("dataset", "exir.timeline");
        w.WriteString("created", Iso(created));
        w.WriteEndObject();
        WriteHost(w, r.HostId, hostNames.TryGetValue(r.HostId, out var hn) ? hn : null);
        bool ipValid = WriteIp(w, "source", r.SrcIp);
        if (r.User is { Length: > 0 } user)
        {
            w.WriteStartObject("user"); w.WriteString("name", S(user)); w.WriteEndObject();
        }
        if (r.Process is { Length: > 0 } || r.CommandLine is { Length: > 0 })
        {
            w.WriteStartObject("process");
            if (r.Process is { Length: > 0 } p)
            {
                w.WriteString("executable", S(p));
                w.WriteString("name", S(p[(Math.Max(p.LastIndexOf('\\'), p.LastIndexOf('/')) + 1)..]));
            }
            if (r.CommandLine is { Length: > 0 } cl) w.WriteString("command_line", S(cl));
            w.WriteEndObject();
        }
        if (r.File.Length > 0)
        {
            w.WriteStartObject("log");
            w.WriteStartObject("file"); w.WriteString("path", S(r.File)); w.WriteEndObject();
            w.WriteEndObject();
        }
        if (r.RecordId is { } rec)
        {
            w.WriteStartObject("winlog"); w.WriteNumber("record_id", rec); w.WriteEndObject();
        }
        if (r.Tags.Count > 0) WriteArray(w, "tags", r.Tags);
        WriteTool(w, toolVersion);
        w.WriteStartObject("labels");
        w.WriteString("timeline_category", S(r.Category));
        if (!ipValid && !string.IsNullOrEmpty(r.SrcIp)) w.WriteString("source_ip_raw", S(r.SrcIp));
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteHost(Utf8JsonWriter w, string? id, string? name)
    {
        if (id is null && name is null) return;
        w.WriteStartObject("host");
        if (name is not null) w.WriteString("name", S(name));
        if (id is not null) w.WriteString("id", S(id));
        w.WriteEndObject();
    }

    private static bool WriteIp(Utf8JsonWriter w, string field, string? text)
    {
        if (string.IsNullOrWhiteSpace(text) || !IPAddress.TryParse(text.Trim(), out var ip)) return false;
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
        w.WriteStartObject(field); w.WriteString("ip", ip.ToString()); w.WriteEndObject();
        return true;
    }

    private static void WriteTool(Utf8JsonWriter w, string version)
    {
        w.WriteStartObject("observer");
        w.WriteString("vendor", "exir");
        w.WriteString("product", "exir");
        w.WriteString("type", "forensic-scanner");
        w.WriteString("version", version);
        w.WriteEndObject();
        w.WriteStartObject("agent");
        w.WriteString("name", "exir");
        w.WriteString("type", "exir");
        w.WriteString("version", version);
        w.WriteEndObject();
    }

    private static void WriteArray(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteStringValue(S(v));
        w.WriteEndArray();
    }

    private static string? Detail(Finding f, string key) => f.Details.TryGetValue(key, out var v) ? v : null;

    /// <summary>ECS dates: RFC 3339 UTC with milliseconds.</summary>
    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>JSON cannot carry lone surrogates; control characters are escaped by the JSON writer.</summary>
    private static string S(string? s) => TextSafety.ReplaceLoneSurrogates(s ?? "");
}
