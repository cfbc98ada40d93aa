using Exir.Case;
using Exir.Core;
using Exir.Core.Findings;

namespace Exir.Reporting.CaseReport;

// The responders' part: findings with their evidence, incidents across hosts, the timeline and its plot, admin access.
internal sealed partial class CaseReportPage
{
    private const int MaxDetailsPerFinding = 24;

    private void WriteFindings()
    {
        long shown = S.Findings.Count;
        SectionStart("findings", T.Number(S.TotalFindings));
        if (S.TotalFindings == 0 && S.Findings.Count == 0) { Para(T["findings.none"]); SectionEnd(); return; }
        Para(T.Format("findings.intro", ("total", S.TotalFindings), ("shown", shown), ("left", Math.Max(0, S.TotalFindings - shown))));

        var byHostRule = S.Findings.GroupBy(f => (Host: f.HostId ?? "", Rule: f.RuleId)).ToDictionary(g => g.Key, g => g.ToList());
        foreach (var hostId in HostOrder())
        {
            var counts = S.FindingCounts.Where(c => c.HostId == hostId).ToList();
            // Findings of a rule the counts do not name still get a group (the counts are then the findings themselves).
            foreach (var ((h, rule), list) in byHostRule.Where(kv => kv.Key.Host == hostId && !counts.Any(c => c.RuleId == kv.Key.Rule)))
                counts.Add(new CaseFindingCount(h, rule, list[0].Title, list[0].Severity, list[0].Outcome, list.Count, list.Count));
            if (counts.Count == 0) continue;
            H.Raw("<h3 class=\"host\">").Text(HostName(hostId)).Raw(" <span class=\"count\">(").Text(T.Number(counts.Sum(c => c.Count))).Raw(")</span></h3>\n");
            foreach (var c in counts.OrderByDescending(c => c.Outcome).ThenByDescending(c => c.Severity).ThenBy(c => c.RuleId, StringComparer.Ordinal))
            {
                byHostRule.TryGetValue((hostId, c.RuleId), out var findings);
                findings ??= [];
                var first = findings.FirstOrDefault();
                H.Raw("<div class=\"rule sev-").Raw(c.Severity.ToWire()).Raw("\"><h4>").Text(c.Title).Raw(" <code>").Text(c.RuleId).Raw("</code></h4><p class=\"rule-meta\">")
                 .Raw("<span class=\"badge\">").Text(SeverityText(c.Severity)).Raw("</span> <span class=\"badge\">").Text(OutcomeText(c.Outcome)).Raw("</span> ")
                 .Text(T.Format("findings.rule_count", ("count", c.Count)));
                if (first is not null && first.Cves.Count > 0) H.Raw(" · ").Text(string.Join(", ", first.Cves));
                if (first is not null && first.Attack.Count > 0) H.Raw(" · ATT&amp;CK ").Text(string.Join(", ", first.Attack));
                H.Raw("</p>");
                if (first?.Explanation is { Length: > 0 } why) H.Raw("<p class=\"explanation\">").Text(why).Raw("</p>");
                long left = c.Count - findings.Count;
                if (left > 0) Para(T.Format("findings.left_out", ("shown", findings.Count), ("count", c.Count), ("left", left)), "caveat");
                if (findings.Count > 0)
                {
                    TableStart("findings", ("c-time", "col.time_utc"), ("c-where", "col.where"), ("c-ip", "col.client"), ("c-id", "col.incident"), ("c-evidence", "col.evidence"));
                    foreach (var f in findings) WriteFindingRow(f);
                    TableEnd();
                }
                H.Raw("</div>\n");
            }
        }
        SectionEnd();
    }

    private void WriteFindingRow(Finding f)
    {
        H.Raw("<tr><td class=\"c-time\">").Text(T.Time(f.Timestamp));
        // A file's modification time is marked: on a copied collection it is the copy's time, not the attack's.
        if (f.Timestamp is not null && !f.HasEventTime) H.Raw("<br><small>").Text(T["findings.file_time"]).Raw("</small>");
        H.Raw("</td><td><code>").Text(f.Artifact).Raw(f.Line is null ? "" : ":").Text(f.Line?.ToString(System.Globalization.CultureInfo.InvariantCulture)).Raw("</code></td>");
        Cell(f.ClientIp);
        Cell(f.Incident);
        H.Raw("<td><pre class=\"evidence\">").Block(TextSafety.Truncate(f.Evidence, O.MaxEvidenceChars)).Raw("</pre>");
        if (f.Details.Count > 0)
        {
            H.Raw("<dl class=\"details\">");
            foreach (var (k, v) in f.Details.OrderBy(kv => kv.Key, StringComparer.Ordinal).Take(MaxDetailsPerFinding))
                H.Raw("<dt>").Text(k).Raw("</dt><dd>").Text(TextSafety.Truncate(v, 500)).Raw("</dd>");
            H.Raw("</dl>");
            if (f.Details.Count > MaxDetailsPerFinding) H.Raw("<small>").Text(T.Format("common.and_more", ("n", f.Details.Count - MaxDetailsPerFinding))).Raw("</small>");
        }
        H.Raw("</td></tr>\n");
    }

    private void WriteIncidents()
    {
        SectionStart("incidents", T.Number(S.Campaigns.Count));
        if (S.Campaigns.Count == 0) { Para(T["incidents.none"]); SectionEnd(); return; }
        Para(T["incidents.intro"]);
        foreach (var i in S.Campaigns.OrderByDescending(i => i.Outcome).ThenByDescending(i => i.Severity).ThenBy(i => i.First ?? DateTimeOffset.MaxValue))
        {
            H.Raw("<div class=\"incident sev-").Raw(i.Severity.ToWire()).Raw("\"><h3>").Text(i.Id).Raw(" <span class=\"badge\">").Text(SeverityText(i.Severity))
             .Raw("</span> <span class=\"badge\">").Text(OutcomeText(i.Outcome)).Raw("</span></h3><dl class=\"facts\">");
            Fact("incidents.hosts", Join(i.Hosts));
            Fact("incidents.clients", Join(i.ClientIps));
            Fact("incidents.window", Window(i.First, i.Last));
            Fact("incidents.cves", Join(i.Cves));
            Fact("incidents.findings", T.Number(i.FindingCount));
            H.Raw("</dl><pre class=\"story\">").Block(i.Story).Raw("</pre></div>\n");
        }
        SectionEnd();
    }

    private void Fact(string key, string? value) => H.Raw("<dt>").Text(T[key]).Raw("</dt><dd>").Text(value).Raw("</dd>");

    private void WriteTimeline()
    {
        SectionStart("timeline");
        ActivityPlot.Write(H, T, S.Activity, HostOrderForPlot(), HostName);
        H.Raw("<h3>").Text(T["timeline.rows_heading"]).Raw("</h3>");
        var rows = S.TimelineRows.OrderBy(r => r.TimeUtc).ThenBy(r => HostName(r.HostId), StringComparer.OrdinalIgnoreCase).ToList();
        Para(T.Format("timeline.rows_intro", ("events", S.TimelineEvents), ("rows", rows.Count)));
        if (rows.Count == 0) { SectionEnd(); return; }
        TableStart("timeline", ("c-time", "col.time_utc"), ("c-host", "col.host"), ("c-tags", "col.tags"), ("c-text", "col.what"), ("c-who", "col.account_ip"), ("c-where", "col.source"));
        foreach (var r in rows.Take(O.MaxTimelineRows))
        {
            H.Raw("<tr><td class=\"c-time\">").Text(T.Time(r.TimeUtc)).Raw("</td>");
            Cell(HostName(r.HostId));
            H.Raw("<td>");
            foreach (var tag in r.Tags) H.Raw("<span class=\"tag\">").Text(tag).Raw("</span> ");
            H.Raw("</td><td><b>").Text(r.Description).Raw("</b>");
            if (r.Message.Length > 0 && r.Message != r.Description) H.Raw("<br>").Text(TextSafety.Truncate(r.Message, O.MaxEvidenceChars));
            if (r.Process is { Length: > 0 } || r.CommandLine is { Length: > 0 })
                H.Raw("<pre class=\"evidence\">").Block(TextSafety.Truncate(string.Join("\n", new[] { r.Process, r.CommandLine }.Where(s => !string.IsNullOrEmpty(s))), O.MaxEvidenceChars)).Raw("</pre>");
            H.Raw("</td><td>").Text(r.User).Raw(r.User is { Length: > 0 } && r.SrcIp is { Length: > 0 } ? "<br>" : "").Text(r.SrcIp).Raw("</td><td><code>").Text(r.File).Raw("</code>");
            if (r.EventId is { } id) H.Raw("<br><small>").Text(T.Format("timeline.event_id", ("id", id.ToString(System.Globalization.CultureInfo.InvariantCulture)))).Raw("</small>");
            if (r.RecordId is { } rec) H.Raw("<br><small>").Text(T.Format("timeline.record", ("record", rec.ToString(System.Globalization.CultureInfo.InvariantCulture)))).Raw("</small>");
            H.Raw("</td></tr>\n");
        }
        TableEnd();
        if (rows.Count > O.MaxTimelineRows) Para(T.Format("common.rows_left_out", ("n", rows.Count - O.MaxTimelineRows)), "caveat");
        SectionEnd();
    }

    /// <summary>Hosts in a stable order for colours and lanes: by name, so a host keeps its colour across reports of one case.</summary>
    private IReadOnlyList<string> HostOrderForPlot() =>
        S.Activity.Select(a => a.HostId).Distinct(StringComparer.Ordinal).OrderBy(HostName, StringComparer.OrdinalIgnoreCase).ThenBy(h => h, StringComparer.Ordinal).ToList();

    private void WriteAdminAccess()
    {
        SectionStart("admin", T.Number(S.AdminAccess.Count));
        if (S.AdminAccess.Count == 0) { Para(T["admin.none"]); SectionEnd(); return; }
        var dangerous = S.AdminAccess.Where(a => a.InWebShellTree && a.DomainAdmin).ToList();
        if (dangerous.Count > 0)
            Para(T.Format("admin.domain_admin_in_shell", ("accounts", string.Join(", ", dangerous.Select(a => a.Account)))), "alert");
        Para(T["admin.intro"]);
        TableStart("admin", ("c-account", "col.account"), ("c-hosts", "col.hosts"), ("c-logons", "col.logons"), ("c-flags", "col.flags"), ("c-ip", "col.source_ips"), ("c-text", "col.activity"), ("c-time", "col.first_last"));
        foreach (var a in S.AdminAccess.OrderByDescending(a => a.InWebShellTree).ThenByDescending(a => a.DomainAdmin).ThenByDescending(a => a.Privileged)
                     .ThenBy(a => a.Account, StringComparer.OrdinalIgnoreCase))
        {
            H.Raw("<tr").Raw(a.InWebShellTree ? " class=\"alert-row\"" : "").Raw("><td><b>").Text(a.Account).Raw("</b>");
            if (a.Display.Length > 0 && a.Display != a.Account) H.Raw("<br><small>").Text(a.Display).Raw("</small>");
            H.Raw("</td>");
            Cell(Join(a.Hosts));
            H.Raw("<td>").Text(T.Format("admin.logon_counts", ("logons", a.Logons), ("privileged", a.PrivilegedLogons), ("failed", a.FailedLogons))).Raw("</td><td>");
            var flags = new List<string>();
            if (a.InWebShellTree) flags.Add(T["admin.flag.web_shell_tree"]);
            if (a.DomainAdmin) flags.Add(T["admin.flag.domain_admin"]);
            else if (a.Privileged) flags.Add(T["admin.flag.privileged"]);
            if (a.AddedToPrivilegedGroup) flags.Add(T["admin.flag.added_to_group"]);
            if (a.Created) flags.Add(T["admin.flag.created"]);
            foreach (var f in flags) H.Raw("<span class=\"tag\">").Text(f).Raw("</span> ");
            H.Raw("</td>");
            Cell(Join(a.SourceIps, 10));
            H.Raw("<td>");
            if (a.Cmdlets.Count > 0) H.Text(T["admin.cmdlets"]).Raw(" ").Raw("<code>").Text(Join(a.Cmdlets, 10)).Raw("</code>");
            if (a.Changes.Count > 0) H.Raw(a.Cmdlets.Count > 0 ? "<br>" : "").Text(T["admin.changes"]).Raw(" ").Text(Join(a.Changes, 10));
            if (a.FirstEvidence is { Length: > 0 } ev) H.Raw("<br><small>").Text(T["admin.first_evidence"]).Raw(" <code>").Text(ev).Raw("</code></small>");
            H.Raw("</td><td class=\"c-time\">").Text(T.Time(a.FirstUtc)).Raw("<br>").Text(T.Time(a.LastUtc)).Raw("</td></tr>\n");
        }
        TableEnd();
        SectionEnd();
    }
}
