using System.Text.Json;
using Exir.Core.Coverage;
using Exir.Core.Findings;
using Exir.Reporting.Outputs;
using Exir.Reporting.TimelineOutputs;

namespace Exir.Reporting.Scan;

/// <summary>summary.json: the scan's verdict overall and per host, patch status as data, incidents, coverage and provenance.</summary>
public sealed class ScanSummarySink(SinkTarget target) : StreamSink(target)
{
    // On standard output (--format json) the document also carries the findings: one answer to parse.
    public override void Complete(RunOutput output)
    {
        if (output.Scan is { } r) SummaryJson.Write(Stream, r, includeFindings: IsConsole);
    }
}

public static class SummaryJson
{
    private const int MaxIssuesListed = 1000;

    public static void Write(Stream output, ScanResult result, bool includeFindings = false)
    {
        using var w = new Utf8JsonWriter(output, FindingJson.WriterOptions with { Indented = true });
        w.WriteStartObject();
        WriteProvenance(w, result.Provenance);
        w.WritePropertyName("verdict");
        WriteVerdict(w, result.Verdict);
        // One-host fields at the top, as before several hosts existed; "hosts" has every host.
        FindingJson.WriteNullable(w, "host", result.Host);
        FindingJson.WriteNullable(w, "exchange_build", result.ExchangeBuild);
        w.WritePropertyName("patch_status");
        WritePatchStatus(w, result.PatchStatus);
        w.WriteString("attack_window_start", result.AttackWindowStart.UtcDateTime.ToString("yyyy-MM-dd"));

        w.WriteStartArray("hosts");
        foreach (var h in result.Hosts)
        {
            w.WriteStartObject();
            w.WriteString("host_id", h.HostId);
            w.WriteString("name", h.Name);
            w.WriteString("name_source", h.NameSource);
            w.WriteStartObject("evidence");
            w.WriteString("root", h.Evidence.Path);
            w.WriteString("kind", h.Evidence.Kind);
            FindingJson.WriteNullable(w, "sha256", h.Evidence.Sha256);
            w.WriteEndObject();
            FindingJson.WriteNullable(w, "exchange_build", h.ExchangeBuild);
            w.WritePropertyName("patch_status");
            WritePatchStatus(w, h.PatchStatus);
            w.WritePropertyName("verdict");
            WriteVerdict(w, h.Verdict);
            w.WriteNumber("findings", h.FindingCount);
            if (result.Hosts.Count > 1) WriteCoverage(w, h.Coverage, result.AttackWindowStart);
            w.WriteEndObject();
        }
        w.WriteEndArray();

        // Counts cover every finding, those left out of the report's lists (past the per-rule cap) included.
        var left = result.Overflow;
        w.WriteStartObject("counts");
        w.WriteNumber("findings", result.TotalFindings);
        w.WriteStartObject("by_severity");
        foreach (var s in Enum.GetValues<Severity>().Reverse())
            w.WriteNumber(s.ToWire(), result.Findings.Count(f => f.Severity == s) + (left?.BySeverity.GetValueOrDefault(s) ?? 0));
        w.WriteEndObject();
        w.WriteStartObject("by_rule");
        var byRule = result.Findings.GroupBy(f => f.RuleId).ToDictionary(g => g.Key, g => (long)g.Count(), StringComparer.Ordinal);
        if (left is not null) foreach (var (rule, n) in left.ByRule) byRule[rule] = byRule.GetValueOrDefault(rule) + n;
        foreach (var (rule, n) in byRule.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteNumber(rule, n);
        w.WriteEndObject();
        if (left is not null)
        {
            w.WriteStartObject("left_out_of_report");
            w.WriteNumber("kept_per_rule", left.KeptPerRule);
            w.WriteNumber("findings", left.Count);
            w.WriteStartObject("by_rule");
            foreach (var (rule, n) in left.ByRule.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteNumber(rule, n);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndObject();

        w.WriteStartArray("incidents");
        foreach (var i in result.Incidents)
        {
            w.WriteStartObject();
            w.WriteString("id", i.Id);
            FindingJson.WriteArray(w, "hosts", i.Hosts);
            FindingJson.WriteArray(w, "client_ips", i.ClientIps);
            FindingJson.WriteNullable(w, "first", i.First is { } f ? FindingJson.Iso(f) : null);
            FindingJson.WriteNullable(w, "last", i.Last is { } l ? FindingJson.Iso(l) : null);
            w.WriteString("severity", i.Severity.ToWire());
            w.WriteString("outcome", i.Outcome.ToWire());
            FindingJson.WriteArray(w, "cves", i.Cves);
            w.WriteString("story", i.Story);
            w.WriteNumber("findings", i.FindingCount);
            w.WriteEndObject();
        }
        w.WriteEndArray();

        var merged = result.Coverage;
        if (result.Hosts.Count > 1)
        {
            merged = new CoverageReport();
            foreach (var h in result.Hosts) merged.AddFrom(h.Coverage);
        }
        WriteCoverage(w, merged, result.AttackWindowStart);
        if (includeFindings)
        {
            w.WriteStartArray("findings");
            foreach (var f in result.AllFindings)
            {
                FindingJson.Write(w, f);
                // Streamed: the writer's buffer is flushed per finding, however many there are.
                if (w.BytesPending > 1 << 16) w.Flush();
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    private static void WriteVerdict(Utf8JsonWriter w, Verdict v)
    {
        w.WriteStartObject();
        w.WriteString("label", v.Label);
        w.WriteString("headline", v.Headline);
        w.WriteString("reason", v.Reason);
        w.WriteString("coverage_caveat", v.CoverageCaveat);
        w.WriteEndObject();
    }

    /// <summary>The patch status as data, with the names <c>exir inventory --format json</c> uses.</summary>
    public static void WritePatchStatus(Utf8JsonWriter w, PatchStatus? p)
    {
        if (p is null) { w.WriteNullValue(); return; }
        w.WriteStartObject();
        FindingJson.WriteNullable(w, "build", p.Build);
        FindingJson.WriteNullable(w, "product", p.Product);
        FindingJson.WriteNullable(w, "cu", p.Cu);
        FindingJson.WriteNullable(w, "su", p.Su);
        FindingJson.WriteNullable(w, "precision", p.Precision);
        FindingJson.WriteNullable(w, "source", p.Source);
        w.WriteBoolean("supported", p.Supported);
        FindingJson.WriteNullable(w, "support_status", p.SupportStatus);
        FindingJson.WriteArray(w, "open_cves", p.OpenCves);
        if (p.FixedBy is { } u)
        {
            w.WriteStartObject("fixed_by");
            w.WriteString("name", u.Name);
            FindingJson.WriteNullable(w, "kb", u.Kb);
            w.WriteString("build", u.Build);
            w.WriteEndObject();
        }
        else w.WriteNull("fixed_by");
        w.WriteString("action", p.Action);
        w.WriteString("action_text", p.ActionText);
        FindingJson.WriteArray(w, "notes", p.Notes);
        FindingJson.WriteNullable(w, "knowledge_version", p.KnowledgeVersion);
        FindingJson.WriteNullable(w, "error", p.Error);
        w.WriteEndObject();
    }

    public static void WriteProvenance(Utf8JsonWriter w, Provenance p)
    {
        w.WriteStartObject("provenance");
        w.WriteString("tool", p.Tool);
        w.WriteString("tool_version", p.ToolVersion);
        w.WriteString("scan_id", p.ScanId);
        w.WriteString("command", p.Command);
        w.WriteString("input", p.Input);
        w.WriteString("input_kind", p.InputKind);
        FindingJson.WriteNullable(w, "input_sha256", p.InputSha256);
        w.WriteString("rules_origin", p.RulesOrigin);
        w.WriteString("rules_version", p.RulesVersion);
        FindingJson.WriteNullable(w, "knowledge_origin", p.KnowledgeOrigin);
        w.WriteString("started_utc", FindingJson.Iso(p.StartedUtc));
        w.WriteString("finished_utc", FindingJson.Iso(p.FinishedUtc));
        w.WriteString("machine", p.Machine);
        w.WriteString("user", p.User);
        w.WriteEndObject();
    }

    /// <summary>The coverage object; <paramref name="attackWindowStart"/> null leaves out "reaches_attack_window".</summary>
    public static void WriteCoverage(Utf8JsonWriter w, CoverageReport c, DateTimeOffset? attackWindowStart)
    {
        w.WriteStartObject("coverage");
        w.WriteNumber("files_seen", c.FilesSeen);
        w.WriteNumber("files_read", c.FilesRead);
        w.WriteNumber("bytes_read", c.BytesRead);
        w.WriteNumber("unknown_log_files", c.UnknownLogFiles);
        w.WriteStartArray("log_families");
        foreach (var f in c.Families.Values.OrderBy(f => f.Family, StringComparer.Ordinal))
        {
            w.WriteStartObject();
            w.WriteString("family", f.Family);
            w.WriteNumber("files", f.Files);
            w.WriteNumber("lines", f.Lines);
            w.WriteNumber("malformed_lines", f.MalformedLines);
            w.WriteNumber("bytes", f.Bytes);
            FindingJson.WriteNullable(w, "first", f.First is { } a ? FindingJson.Iso(a) : null);
            FindingJson.WriteNullable(w, "last", f.Last is { } b ? FindingJson.Iso(b) : null);
            if (attackWindowStart is { } start) w.WriteBoolean("reaches_attack_window", f.First is { } first && first <= start);
            w.WriteStartArray("gaps");
            foreach (var (from, to) in f.Gaps())
            {
                w.WriteStartObject();
                w.WriteString("from", from.ToString("yyyy-MM-dd"));
                w.WriteString("to", to.ToString("yyyy-MM-dd"));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartObject("checks_not_run");
        foreach (var (k, v) in c.ChecksNotRun.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(k, v);
        w.WriteEndObject();
        w.WriteStartObject("issue_counts");
        foreach (var (k, v) in c.IssueCounts.OrderBy(kv => kv.Key.ToString(), StringComparer.Ordinal)) w.WriteNumber(k.ToString(), v);
        w.WriteEndObject();
        w.WriteStartArray("issues");
        foreach (var i in c.Issues.Take(MaxIssuesListed))
        {
            w.WriteStartObject();
            w.WriteString("kind", i.Kind.ToString());
            w.WriteString("path", i.Path);
            w.WriteString("message", i.Message);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartObject("file_hashes_sha256");
        foreach (var (k, v) in c.FileHashes.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(k, v);
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
