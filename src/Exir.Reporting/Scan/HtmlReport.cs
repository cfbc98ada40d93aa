using Exir.Core;
using System.Net;
using System.Text;
using Exir.Core.Coverage;
using Exir.Core.Findings;
using Exir.Reporting.Outputs;
using Exir.Reporting.TimelineOutputs;
using Exir.Timeline;

namespace Exir.Reporting.Scan;

/// <summary>report.html; with a timeline (scan --timeline) it keeps the highlighted rows as they stream and embeds the timeline section.</summary>
public sealed class ScanHtmlSink(SinkTarget target) : StreamSink(target)
{
    private readonly HighlightedRows _rows = new();

    public override void Row(TimelineEvent row) => _rows.Add(row);

    public override void Complete(RunOutput output)
    {
        if (output.Scan is not { } r) return;
        string? timeline = null;
        if (output.Timeline is { } t)
        {
            _rows.CopyTo(t);
            timeline = TimelineHtml.Fragment(t);
        }
        using var w = new StreamWriter(Stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
        HtmlReport.Write(w, r, timeline);
    }
}

/// <summary>
/// report.html: one self-contained file (no scripts, no external resources) that opens safely on
/// the analyst's machine. Every evidence value is HTML-encoded and a Content-Security-Policy that
/// forbids scripts backs that up, so a hostile User-Agent cannot run in the browser. Written to the
/// stream as it is built: its size never has to fit in memory as one string.
/// </summary>
public static class HtmlReport
{
    private const int MaxEvidenceChars = 4000;
    private const int MaxIssuesShown = 500;
    /// <summary>Evidence file hashes listed per host (every finding carries its file's hash in its details).</summary>
    private const int MaxHashesShown = 1000;

    /// <summary>The report as one string (small results, tests); <see cref="Write"/> streams it.</summary>
    public static string Render(ScanResult r, string? extraSectionHtml = null)
    {
        using var w = new StringWriter();
        Write(w, r, extraSectionHtml);
        return w.ToString();
    }

    public static void Write(TextWriter writer, ScanResult r, string? extraSectionHtml = null)
    {
        var sb = new HtmlOut(writer);
        bool many = r.Hosts.Count > 1;
        var hostNames = string.Join(", ", r.Hosts.Select(h => h.Name));
        var title = $"exir report: {r.Verdict.Label}{(hostNames.Length == 0 ? "" : " - " + hostNames)}";
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
        sb.Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">");
        sb.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        sb.Append("<title>").Append(E(title)).Append("</title><style>").Append(Css).Append("</style></head><body>\n");

        var verdictClass = r.Verdict.Kind switch { VerdictKind.Compromised => "v-bad", VerdictKind.Attempted => "v-warn", _ => "v-ok" };
        sb.Append("<header><h1>exir scan report</h1><p class=\"meta\">");
        if (many) sb.Append("Hosts: <b>").Append(E(hostNames)).Append("</b>");
        else sb.Append("Host: <b>").Append(E(r.Host ?? "unknown")).Append("</b> · Exchange build: <b>").Append(E(r.ExchangeBuild ?? "unknown")).Append("</b>");
        sb.Append(" · Scanned: ").Append(E(FindingJson.Iso(r.Provenance.FinishedUtc))).Append("</p></header>\n");
        sb.Append("<section id=\"verdict\" class=\"verdict ").Append(verdictClass).Append("\"><h2>").Append(E(r.Verdict.Label)).Append("</h2><p class=\"headline\">")
          .Append(E(r.Verdict.Headline)).Append("</p><p>").Append(E(r.Verdict.Reason)).Append("</p><p class=\"caveat\"><b>Coverage:</b> ")
          .Append(E(r.Verdict.CoverageCaveat)).Append("</p></section>\n");

        if (many)
        {
            sb.Append("<section id=\"hosts\"><h2>Hosts (").Append(r.Hosts.Count).Append(")</h2><table><thead><tr><th>Host</th><th>Verdict</th><th>Findings</th><th>Exchange build</th><th>Action</th><th>Evidence</th></tr></thead><tbody>");
            foreach (var h in r.Hosts)
                sb.Append("<tr><td><b>").Append(E(h.Name)).Append("</b></td><td><b>").Append(E(h.Verdict.Label)).Append("</b><br>").Append(E(h.Verdict.Headline))
                  .Append("</td><td>").Append(h.FindingCount).Append("</td><td>").Append(E(h.ExchangeBuild ?? "unknown")).Append("</td><td>")
                  .Append(E(h.PatchStatus?.Action ?? "unknown")).Append("</td><td><code>").Append(E(h.Evidence.Path)).Append("</code></td></tr>");
            sb.Append("</tbody></table></section>\n");
        }

        if (r.NextSteps.Count > 0)
        {
            sb.Append("<section id=\"next-steps\"><h2>What to do now</h2><ol>");
            foreach (var step in r.NextSteps) sb.Append("<li>").Append(E(step)).Append("</li>");
            sb.Append("</ol></section>\n");
        }

        if (r.Hosts.Any(h => h.PatchStatus is not null))
        {
            sb.Append("<section id=\"patch\"><h2>Patch status</h2>");
            foreach (var h in r.Hosts)
            {
                if (many) sb.Append("<h3>").Append(E(h.Name)).Append("</h3>");
                sb.Append("<ul>");
                foreach (var line in PatchStatusText.Lines(h.PatchStatus)) sb.Append("<li>").Append(E(line)).Append("</li>");
                sb.Append("</ul>");
            }
            sb.Append("</section>\n");
        }

        sb.Append("<section id=\"incidents\"><h2>Incidents (").Append(r.Incidents.Count).Append(")</h2>");
        if (r.Incidents.Count == 0) sb.Append("<p>No related findings to group.</p>");
        foreach (var i in r.Incidents)
        {
            sb.Append("<div class=\"incident sev-").Append(i.Severity.ToWire()).Append("\"><h3>").Append(E(i.Id)).Append(" · ")
              .Append(E(i.Outcome.ToWire())).Append(" · ").Append(E(i.Severity.ToWire())).Append("</h3><p>")
              .Append(many ? "Hosts: " + E(string.Join(", ", i.Hosts)) + " · " : "").Append("Clients: ")
              .Append(E(i.ClientIps.Count == 0 ? "none recorded" : string.Join(", ", i.ClientIps))).Append(" · ")
              .Append(E(i.First is { } f ? FindingJson.Iso(f) : "undated")).Append(" to ").Append(E(i.Last is { } l ? FindingJson.Iso(l) : "undated"))
              .Append(" · CVEs: ").Append(E(i.Cves.Count == 0 ? "none" : string.Join(", ", i.Cves))).Append("</p><pre>")
              .Append(E(i.Story)).Append("</pre></div>");
        }
        sb.Append("</section>\n");

        sb.Append("<section id=\"findings\"><h2>Findings (").Append(r.TotalFindings.ToString("N0")).Append(")</h2>");
        if (r.Overflow is { } left)
            sb.Append("<p class=\"caveat\"><b>").Append(left.Count.ToString("N0")).Append(" finding(s) are left out of this report</b>: past the first ")
              .Append(left.KeptPerRule.ToString("N0")).Append(" per rule and host (rules/scan.yaml, report.max_findings_per_rule), they are not listed here nor grouped into incidents; every one is in findings.jsonl and findings.csv. Left out: ")
              .Append(E(string.Join(", ", left.ByRule.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(50).Select(kv => $"{kv.Key} ({kv.Value:N0})"))))
              .Append(left.ByRule.Count > 50 ? ", ..." : "").Append(".</p>");
        if (r.Findings.Count == 0) sb.Append("<p>None.</p>");
        else
        {
            sb.Append("<table class=\"findings\"><thead><tr><th>Time (UTC)</th><th>Severity</th><th>Finding</th><th>Where</th><th>Client</th><th>Incident</th></tr></thead><tbody>");
            foreach (var f in r.Findings)
            {
                // A file's modification time is labelled as such: on a copied collection it is the copy's time, not the attack's.
                var when = f.Timestamp is { } t ? FindingJson.Iso(t) + (f.TimeSource == TimeSources.FileModified ? " (file modified)" : "") : "";
                sb.Append("<tr class=\"sev-").Append(f.Severity.ToWire()).Append("\"><td>").Append(E(when)).Append("</td><td>")
                  .Append(E(f.Severity.ToWire())).Append("<br><small>").Append(E(f.Outcome.ToWire())).Append("</small></td><td><b>").Append(E(f.Title)).Append("</b><br><code>")
                  .Append(E(f.RuleId)).Append("</code>");
                if (f.Cves.Count > 0) sb.Append("<br><small>").Append(E(string.Join(", ", f.Cves))).Append("</small>");
                if (f.Attack.Count > 0) sb.Append("<br><small>ATT&amp;CK ").Append(E(string.Join(", ", f.Attack))).Append("</small>");
                sb.Append("</td><td>").Append(many ? "<b>" + E(f.Host) + "</b> " : "").Append("<code>").Append(E(f.Artifact)).Append("</code>");
                if (f.Line is { } line) sb.Append(" line ").Append(line);
                sb.Append("</td><td>").Append(E(f.ClientIp ?? "")).Append("</td><td>").Append(E(f.Incident ?? "")).Append("</td></tr>");
                sb.Append("<tr class=\"evidence\"><td colspan=\"6\"><pre>").Append(E(TextSafety.Truncate(f.Evidence, MaxEvidenceChars))).Append("</pre>");
                if (f.Details.Count > 0 || f.Explanation.Length > 0)
                {
                    sb.Append("<details><summary>Details and explanation</summary><dl>");
                    foreach (var (k, v) in f.Details.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                        sb.Append("<dt>").Append(E(k)).Append("</dt><dd><code>").Append(E(TextSafety.Truncate(v, MaxEvidenceChars))).Append("</code></dd>");
                    sb.Append("</dl>");
                    if (f.Explanation.Length > 0) sb.Append("<p>").Append(E(f.Explanation)).Append("</p>");
                    // References are shown as text, never as links: a rule file could carry a javascript: URL.
                    foreach (var reference in f.References) sb.Append("<p class=\"ref\">").Append(E(reference)).Append("</p>");
                    sb.Append("</details>");
                }
                sb.Append("</td></tr>");
            }
            sb.Append("</tbody></table>");
        }
        sb.Append("</section>\n");

        if (extraSectionHtml is not null) sb.Append(extraSectionHtml);

        foreach (var h in r.Hosts) AppendCoverage(sb, h.Coverage, r.AttackWindowStart, many ? h.Name : null);
        AppendProvenance(sb, r);
        sb.Append("</body></html>\n");
        writer.Flush();
    }

    private static void AppendCoverage(HtmlOut sb, CoverageReport c, DateTimeOffset attackWindowStart, string? host)
    {
        sb.Append("<section class=\"coverage\"").Append(host is null ? " id=\"coverage\"" : "").Append("><h2>Coverage").Append(host is null ? "" : " of " + E(host)).Append("</h2><p>").Append(c.FilesSeen.ToString("N0")).Append(" files seen, ")
          .Append(c.FilesRead.ToString("N0")).Append(" read, ").Append((c.BytesRead / 1048576.0).ToString("N1")).Append(" MiB.</p>");
        sb.Append("<table><thead><tr><th>Log family</th><th>Files</th><th>Lines</th><th>Malformed</th><th>First record (UTC)</th><th>Last record (UTC)</th><th>Reaches the attack window</th><th>Gaps (days without records)</th></tr></thead><tbody>");
        foreach (var f in c.Families.Values.OrderBy(f => f.Family, StringComparer.Ordinal))
        {
            var gaps = f.Gaps();
            bool reaches = f.First is { } first && first <= attackWindowStart;
            sb.Append("<tr><td>").Append(E(f.Family)).Append("</td><td>").Append(f.Files).Append("</td><td>").Append(f.Lines.ToString("N0"))
              .Append("</td><td>").Append(f.MalformedLines.ToString("N0")).Append("</td><td>").Append(E(f.First is { } a ? FindingJson.Iso(a) : "-"))
              .Append("</td><td>").Append(E(f.Last is { } b ? FindingJson.Iso(b) : "-")).Append("</td><td class=\"").Append(reaches ? "ok" : "bad").Append("\">")
              .Append(reaches ? "yes" : "no").Append("</td><td>")
              .Append(E(gaps.Count == 0 ? "none" : string.Join(", ", gaps.Select(g => $"{g.From:yyyy-MM-dd}..{g.To:yyyy-MM-dd}")))).Append("</td></tr>");
        }
        if (c.Families.IsEmpty) sb.Append("<tr><td colspan=\"8\">No logs found.</td></tr>");
        sb.Append("</tbody></table>");
        if (!c.ChecksNotRun.IsEmpty)
        {
            sb.Append("<h3>Checks that did not run</h3><ul>");
            foreach (var (k, v) in c.ChecksNotRun.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                sb.Append("<li><b>").Append(E(k)).Append("</b>: ").Append(E(v)).Append("</li>");
            sb.Append("</ul>");
        }
        if (c.IssueCounts.Count > 0)
        {
            sb.Append("<h3>Input problems</h3><p>").Append(E(string.Join(", ", c.IssueCounts.OrderBy(kv => kv.Key.ToString()).Select(kv => $"{kv.Key}: {kv.Value:N0}"))))
              .Append("</p><table><thead><tr><th>Kind</th><th>Path</th><th>Message</th></tr></thead><tbody>");
            foreach (var i in c.Issues.Take(MaxIssuesShown))
                sb.Append("<tr><td>").Append(E(i.Kind.ToString())).Append("</td><td><code>").Append(E(i.Path)).Append("</code></td><td>").Append(E(i.Message)).Append("</td></tr>");
            sb.Append("</tbody></table>");
        }
        sb.Append("</section>\n");
    }

    private static void AppendProvenance(HtmlOut sb, ScanResult r)
    {
        var p = r.Provenance;
        sb.Append("<section id=\"provenance\"><h2>Provenance</h2><dl class=\"prov\">");
        void Row(string k, string? v) => sb.Append("<dt>").Append(E(k)).Append("</dt><dd>").Append(E(v ?? "-")).Append("</dd>");
        Row("Tool", $"{p.Tool} {p.ToolVersion}");
        Row("Scan id", p.ScanId);
        Row("Command", p.Command);
        Row("Input", $"{p.Input} ({p.InputKind})");
        if (p.InputSha256 is not null) Row("Input SHA-256", p.InputSha256);
        Row("Rules", $"{p.RulesVersion} from {p.RulesOrigin}");
        if (p.KnowledgeOrigin is not null) Row("Knowledge", p.KnowledgeOrigin);
        Row("Started (UTC)", FindingJson.Iso(p.StartedUtc));
        Row("Finished (UTC)", FindingJson.Iso(p.FinishedUtc));
        Row("Machine / user", $"{p.Machine} / {p.User}");
        sb.Append("</dl>");
        foreach (var h in r.Hosts.Where(h => !h.Coverage.FileHashes.IsEmpty))
        {
            sb.Append("<h3>SHA-256 of evidence files").Append(r.Hosts.Count > 1 ? " of " + E(h.Name) : "").Append("</h3><table><tbody>");
            foreach (var (k, v) in h.Coverage.FileHashes.OrderBy(kv => kv.Key, StringComparer.Ordinal).Take(MaxHashesShown))
                sb.Append("<tr><td><code>").Append(E(k)).Append("</code></td><td><code>").Append(E(v)).Append("</code></td></tr>");
            sb.Append("</tbody></table>");
            if (h.Coverage.FileHashes.Count > MaxHashesShown)
                sb.Append("<p>").Append((h.Coverage.FileHashes.Count - MaxHashesShown).ToString("N0")).Append(" more in summary.json (file_hashes_sha256) and in each finding's details.</p>");
        }
        sb.Append("</section>\n");
    }

    private static string E(string? s) => WebUtility.HtmlEncode(s ?? "");

    /// <summary>StringBuilder-like appends straight to the output writer.</summary>
    private sealed class HtmlOut(TextWriter w)
    {
        public HtmlOut Append(string? s) { w.Write(s); return this; }
        public HtmlOut Append(char c) { w.Write(c); return this; }
        public HtmlOut Append(int n) { w.Write(n.ToString(System.Globalization.CultureInfo.InvariantCulture)); return this; }
        public HtmlOut Append(long n) { w.Write(n.ToString(System.Globalization.CultureInfo.InvariantCulture)); return this; }
    }

    private const string Css = """
        body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:0 auto;max-width:1200px;padding:16px;color:#1b1f24}
        h1{margin:0}.meta{color:#555}
        .verdict{border-radius:8px;padding:12px 18px;margin:16px 0}.verdict h2{margin:0 0 4px;font-size:28px}
        .v-bad{background:#fde2e1;border:2px solid #c62828}.v-warn{background:#fff4d6;border:2px solid #d68a00}.v-ok{background:#e3f4e5;border:2px solid #2e7d32}
        .headline{font-weight:600;font-size:16px}.caveat{color:#333}
        table{border-collapse:collapse;width:100%;margin:8px 0}th,td{border:1px solid #d0d7de;padding:4px 6px;vertical-align:top;text-align:left}
        th{background:#f3f5f7}pre{white-space:pre-wrap;word-break:break-all;margin:0;font-size:12px}
        tr.evidence td{background:#fafbfc}code{font-size:12px;word-break:break-all}
        .sev-critical td:nth-child(2){color:#b71c1c;font-weight:700}.sev-high td:nth-child(2){color:#d84315;font-weight:700}
        .incident{border-left:4px solid #999;padding:4px 12px;margin:8px 0;background:#f7f7f9}.incident.sev-critical{border-color:#b71c1c}.incident.sev-high{border-color:#d84315}
        td.ok{color:#2e7d32}td.bad{color:#c62828;font-weight:600}.ref{font-size:12px;color:#555;margin:2px 0}
        dl.prov{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dl.prov dd{margin:0}
        """;
}
