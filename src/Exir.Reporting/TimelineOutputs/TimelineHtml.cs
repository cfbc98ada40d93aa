using System.Globalization;
using System.Net;
using System.Text;

using Exir.Timeline;

namespace Exir.Reporting.TimelineOutputs;

/// <summary>
/// The timeline as one self-contained HTML page: no scripts, no external resources, every piece of
/// evidence HTML-encoded. <see cref="Fragment"/> is the part the scan report embeds.
/// </summary>
public static class TimelineHtml
{
    public const int MaxRowsShown = 2000;

    private static readonly string[] Palette =
        ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac", "#1f77b4", "#d62728", "#8c564b", "#17becf"];

    public const string Style = """
        .exir-tl{font-family:system-ui,sans-serif;font-size:14px;color:#222}
        .exir-tl table{border-collapse:collapse;margin:.5em 0}
        .exir-tl th,.exir-tl td{border:1px solid #ccc;padding:2px 6px;vertical-align:top;text-align:left}
        .exir-tl td.cl{font-family:monospace;white-space:pre-wrap;word-break:break-all;max-width:60em}
        .exir-tl pre{background:#f6f6f6;padding:.5em;overflow-x:auto;font-size:12px}
        .exir-tl .scope{background:#fff4e5;border-left:4px solid #e15759;padding:.3em .6em;margin:.4em 0}
        .exir-tl .tag{background:#eee;border-radius:3px;padding:0 3px;margin-right:2px;font-size:12px}
        """;

    public static string Page(TimelineResult result, string title = "exir timeline")
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
          .Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">")
          .Append("<title>").Append(E(title)).Append("</title></head><body>\n")
          .Append(Fragment(result))
          .Append("\n</body></html>\n");
        return sb.ToString();
    }

    /// <summary>
    /// The timeline section (no html/head/body) with its own scoped style block, so the scan report can embed it
    /// as is (it needs style-src 'unsafe-inline' in the page's CSP, nothing else).
    /// </summary>
    public static string Fragment(TimelineResult r)
    {
        var sb = new StringBuilder();
        var s = r.Stats;
        sb.Append("<section class=\"exir-tl\">\n<style>").Append(Style).Append("</style>\n<h2>Timeline</h2>\n<p>")
          .Append(E($"{s.RowsWritten:N0} rows from {s.EvtxFiles:N0} event log file(s) ({s.Records:N0} records read, {s.Unmapped:N0} of kinds the timeline does not show), {s.LogFiles:N0} IIS/Exchange log(s) ({s.LogLines:N0} lines), {s.FindingRows:N0} scan finding(s); {s.Filtered:N0} outside the filters."))
          .Append("</p>\n");
        foreach (var note in r.Notes) sb.Append("<p><em>").Append(E(note)).Append("</em></p>\n");

        sb.Append("<h3>Activity</h3>\n").Append(ActivitySvg(r.Activity)).Append('\n');

        sb.Append("<h3>Scope</h3>\n");
        foreach (var st in r.Admin.Statements) sb.Append("<p class=\"scope\">").Append(E(st.Text)).Append("</p>\n");

        sb.Append("<h3>Administrator access</h3>\n");
        AccountsTable(sb, r.Admin);

        sb.Append("<h3>Process trees</h3>\n");
        var trees = r.Processes.ToText();
        sb.Append(trees.Length == 0 ? "<p>No process of interest.</p>\n" : "<pre>" + E(trees) + "</pre>\n");

        sb.Append("<h3>Findings</h3>\n");
        if (r.Findings.Count == 0) sb.Append("<p>None.</p>\n");
        else
        {
            sb.Append("<table><tr><th>time (UTC)</th><th>host</th><th>severity</th><th>finding</th><th>evidence</th><th>where</th></tr>\n");
            foreach (var f in r.Findings.OrderBy(f => f.Timestamp).Take(MaxRowsShown))
                sb.Append("<tr><td>").Append(E(f.Timestamp?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? ""))
                  .Append("</td><td>").Append(E(f.Host)).Append("</td><td>").Append(E(f.Severity.ToString()))
                  .Append("</td><td>").Append(E(f.Title)).Append("</td><td class=\"cl\">").Append(E(Cut(f.Evidence, 600)))
                  .Append("</td><td>").Append(E($"{f.Artifact} #{f.Line}")).Append("</td></tr>\n");
            sb.Append("</table>\n");
        }

        sb.Append("<h3>Highlighted events</h3>\n");
        if (r.Highlighted.Count == 0) sb.Append("<p>None.</p>\n");
        else
        {
            sb.Append("<table><tr><th>time (UTC)</th><th>host</th><th>category</th><th>event</th><th>user</th><th>what</th><th>tags</th><th>where</th></tr>\n");
            foreach (var e in r.Highlighted)
            {
                sb.Append("<tr><td>").Append(E(e.Timestamp.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)))
                  .Append("</td><td>").Append(E(e.Host)).Append("</td><td>").Append(E(e.Category))
                  .Append("</td><td>").Append(E(e.EventId?.ToString(CultureInfo.InvariantCulture) ?? "")).Append("</td><td>").Append(E(e.User))
                  .Append("</td><td class=\"cl\">").Append(E(Cut(e.Message, 800))).Append("</td><td>");
                foreach (var t in e.Tags) sb.Append("<span class=\"tag\">").Append(E(t)).Append("</span>");
                sb.Append("</td><td>").Append(E($"{e.File} #{e.RecordId}")).Append("</td></tr>\n");
            }
            sb.Append("</table>\n");
            if (r.Highlighted.Count >= MaxRowsShown) sb.Append("<p><em>").Append(E($"First {MaxRowsShown} highlighted rows shown; the JSONL and CSV outputs have all.")).Append("</em></p>\n");
        }
        sb.Append("</section>\n");
        return sb.ToString();
    }

    private static void AccountsTable(StringBuilder sb, AdminSummary admin)
    {
        if (admin.Accounts.Count == 0) { sb.Append("<p>No account activity in these logs.</p>\n"); return; }
        sb.Append("<table><tr><th>account</th><th>flags</th><th>logons by type</th><th>privileged logons</th><th>failed</th><th>hosts</th><th>source IPs / hosts</th><th>first / last seen (UTC)</th><th>changes, cmdlets</th></tr>\n");
        foreach (var a in admin.Accounts.Take(500))
        {
            var flags = new List<string>();
            if (a.InWebShellTree) flags.Add("in web shell tree");
            if (a.Privileged) flags.Add("privileged");
            if (a.Created) flags.Add("created");
            if (a.AddedToPrivilegedGroup) flags.Add("added to privileged group");
            sb.Append("<tr><td>").Append(E(string.Join(" / ", a.Names.Take(5)))).Append("</td><td>").Append(E(string.Join(", ", flags)))
              .Append("</td><td>").Append(E(string.Join(", ", a.LogonsByType.Select(kv => $"type {kv.Key}: {kv.Value}"))))
              .Append("</td><td>").Append(E(string.Join(", ", a.PrivilegedLogonsByType.Select(kv => $"type {kv.Key}: {kv.Value}"))) + (a.SpecialPrivileges > 0 ? E($" (4672: {a.SpecialPrivileges})") : ""))
              .Append("</td><td>").Append(a.FailedLogons.ToString(CultureInfo.InvariantCulture))
              .Append("</td><td>").Append(E(string.Join(", ", a.Hosts.Take(20))))
              .Append("</td><td>").Append(E(string.Join(", ", a.SourceIps.Take(20).Concat(a.SourceHosts.Take(20)))))
              .Append("</td><td>").Append(E($"{a.First:yyyy-MM-dd HH:mm:ss} / {a.Last:yyyy-MM-dd HH:mm:ss}"))
              .Append("</td><td class=\"cl\">").Append(E(string.Join("\n", a.Changes.Take(20).Concat(a.Cmdlets.Take(20).Select(c => "cmdlet " + c))
                  .Concat(a.WebRequests > 0 ? [$"{a.WebRequests} web request(s) from {string.Join(", ", a.WebSourceIps.Take(10))}"] : []))))
              .Append("</td></tr>\n");
        }
        sb.Append("</table>\n");
        if (admin.Accounts.Count > 500) sb.Append("<p><em>").Append(E($"{admin.Accounts.Count - 500} more accounts in the JSON summary.")).Append("</em></p>\n");
    }

    /// <summary>Stacked bars of events per hour (per day or week when the span is long), by category, as inline SVG.</summary>
    public static string ActivitySvg(ActivityHistogram activity)
    {
        var counts = activity.Counts;
        if (counts.Count == 0) return "<p>No events.</p>";
        long first = counts.Keys.Min(k => k.Hour), last = counts.Keys.Max(k => k.Hour);
        long bucket = 1;
        string unit = "hour";
        if ((last - first) / bucket > 1500) { bucket = 24; unit = "day"; }
        if ((last - first) / bucket > 1500) { bucket = 24 * 7; unit = "week"; }
        if ((last - first) / bucket > 1500) { bucket = 24 * 7 * (1 + (last - first) / (24 * 7 * 1500)); unit = $"{bucket / 24} days"; }
        long b0 = first / bucket, b1 = last / bucket;
        int n = (int)(b1 - b0 + 1);
        var cats = counts.GroupBy(k => k.Key.Category).OrderByDescending(g => g.Sum(x => x.Value)).Select(g => g.Key).ToList();
        var stacks = new Dictionary<long, Dictionary<string, long>>();
        foreach (var ((hour, cat), c) in counts)
        {
            var b = hour / bucket;
            if (!stacks.TryGetValue(b, out var d)) stacks[b] = d = new Dictionary<string, long>();
            d[cat] = d.GetValueOrDefault(cat) + c;
        }
        long max = stacks.Values.Max(d => d.Values.Sum());
        const int width = 1000, height = 180, top = 10, left = 50;
        double bw = Math.Max(1.0, (double)(width - left) / n);
        int svgWidth = (int)Math.Ceiling(left + bw * n) + 10;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{svgWidth}\" height=\"{height + 60 + 16 * ((cats.Count + 5) / 6)}\" role=\"img\" aria-label=\"events per {E(unit)} by category\">");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"0\" y=\"{top + 10}\" font-size=\"11\">{max}</text><text x=\"0\" y=\"{top + height}\" font-size=\"11\">0</text>");
        sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left - 2}\" y1=\"{top + height}\" x2=\"{svgWidth}\" y2=\"{top + height}\" stroke=\"#999\"/>");
        foreach (var (b, d) in stacks.OrderBy(kv => kv.Key))
        {
            double x = left + (b - b0) * bw;
            double y = top + height;
            var label = new DateTime(b * bucket * TimeSpan.TicksPerHour, DateTimeKind.Utc).ToString("yyyy-MM-dd HH:00", CultureInfo.InvariantCulture) + "Z";
            sb.Append("<g><title>").Append(E(label + " (" + unit + "): " + string.Join(", ", d.OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Value} {kv.Key}")))).Append("</title>");
            foreach (var cat in cats)
            {
                if (!d.TryGetValue(cat, out var c)) continue;
                double h = (double)c / max * height;
                y -= h;
                sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x:F1}\" y=\"{y:F1}\" width=\"{Math.Max(0.8, bw - 0.5):F1}\" height=\"{Math.Max(0.5, h):F1}\" fill=\"{Palette[cats.IndexOf(cat) % Palette.Length]}\"/>");
            }
            sb.Append("</g>");
        }
        var from = new DateTime(b0 * bucket * TimeSpan.TicksPerHour, DateTimeKind.Utc);
        var to = new DateTime((b1 + 1) * bucket * TimeSpan.TicksPerHour, DateTimeKind.Utc);
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{left}\" y=\"{top + height + 16}\" font-size=\"11\">{E(from.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture))}Z</text>");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{svgWidth - 10}\" y=\"{top + height + 16}\" font-size=\"11\" text-anchor=\"end\">{E(to.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture))}Z (one bar per {E(unit)})</text>");
        for (int i = 0; i < cats.Count; i++)
        {
            int lx = left + (i % 6) * 150, ly = top + height + 36 + (i / 6) * 16;
            sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{lx}\" y=\"{ly - 9}\" width=\"10\" height=\"10\" fill=\"{Palette[i % Palette.Length]}\"/><text x=\"{lx + 14}\" y=\"{ly}\" font-size=\"11\">{E(cats[i])}</text>");
        }
        sb.Append("</svg>");
        return sb.ToString();
    }

    private static string Cut(string s, int max) => s.Length <= max ? s : s[..max] + "…";

    private static string E(string? s) => s is null ? "" : WebUtility.HtmlEncode(s);
}
