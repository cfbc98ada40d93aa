using System.Text.Json;
using Exir.Core.Coverage;
using Exir.Core.Findings;

namespace Exir.Reporting;

/// <summary>summary.json: verdict, incidents, coverage and provenance (tool, rule and knowledge versions, input hashes).</summary>
public static class SummaryWriter
{
    private const int MaxIssuesListed = 1000;

    public static void Write(Stream output, ScanResult result, bool includeFindings = false)
    {
        using var w = new Utf8JsonWriter(output, FindingJson.WriterOptions with { Indented = true });
        w.WriteStartObject();
        WriteProvenance(w, result.Provenance);
        w.WriteStartObject("verdict");
        w.WriteString("label", result.Verdict.Label);
        w.WriteString("headline", result.Verdict.Headline);
        w.WriteString("reason", result.Verdict.Reason);
        w.WriteString("coverage_caveat", result.Verdict.CoverageCaveat);
        w.WriteEndObject();
        FindingJson.WriteNullable(w, "host", result.Host);
        FindingJson.WriteNullable(w, "exchange_build", result.ExchangeBuild);
        FindingJson.WriteArray(w, "patch_status", result.PatchStatus);

        w.WriteStartObject("counts");
        w.WriteNumber("findings", result.Findings.Count);
        w.WriteStartObject("by_severity");
        foreach (var s in Enum.GetValues<Severity>().Reverse()) w.WriteNumber(s.ToWire(), result.Findings.Count(f => f.Severity == s));
        w.WriteEndObject();
        w.WriteStartObject("by_rule");
        foreach (var g in result.Findings.GroupBy(f => f.RuleId).OrderBy(g => g.Key, StringComparer.Ordinal)) w.WriteNumber(g.Key, g.Count());
        w.WriteEndObject();
        w.WriteEndObject();

        w.WriteStartArray("incidents");
        foreach (var i in result.Incidents)
        {
            w.WriteStartObject();
            w.WriteString("id", i.Id);
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

        WriteCoverage(w, result.Coverage);
        if (includeFindings)
        {
            w.WriteStartArray("findings");
            foreach (var f in result.Findings) FindingJson.Write(w, f);
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    private static void WriteProvenance(Utf8JsonWriter w, Provenance p)
    {
        w.WriteStartObject("provenance");
        w.WriteString("tool", p.Tool);
        w.WriteString("tool_version", p.ToolVersion);
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

    private static void WriteCoverage(Utf8JsonWriter w, CoverageReport c)
    {
        w.WriteStartObject("coverage");
        w.WriteNumber("files_seen", c.FilesSeen);
        w.WriteNumber("files_read", c.FilesRead);
        w.WriteNumber("bytes_read", c.BytesRead);
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
            w.WriteBoolean("reaches_attack_window", f.First is { } first && first <= AttackWindow.Start);
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
