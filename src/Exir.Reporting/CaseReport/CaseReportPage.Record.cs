using Exir.Case;
using Exir.Case.Playbook;

namespace Exir.Reporting.CaseReport;

// The record part: patch status, coverage and its limits, checklist, quarantine, notes and the appendix (provenance).
internal sealed partial class CaseReportPage
{
    private void WritePatchStatus()
    {
        SectionStart("patch");
        var fromScans = _latest.Where(h => h.PatchStatus is not null || h.ExchangeBuild is not null).ToList();
        if (fromScans.Count == 0 && S.Assessments.Count == 0) { Para(T["patch.none"]); SectionEnd(); return; }
        TableStart("patch", ("c-host", "col.host"), ("c-build", "col.build"), ("c-text", "col.product"), ("c-num", "col.supported"), ("c-cves", "col.open_cves"), ("c-action", "col.action"), ("c-source", "col.source"));
        foreach (var h in fromScans)
        {
            var p = h.PatchStatus;
            H.Raw("<tr").Raw(p?.OpenCves.Count > 0 ? " class=\"v-bad\"" : "").Raw(">");
            Cell(h.HostName);
            CodeCell(p?.Build ?? h.ExchangeBuild ?? T["common.unknown"]);
            Cell(Product(p?.Product, p?.Cu, p?.Su) + (p?.Error is { Length: > 0 } e ? " — " + e : ""));
            Cell(p is null ? T["common.unknown"] : YesNo(p.Supported), "c-num");
            Cell(p is null ? T["common.unknown"] : Join(p.OpenCves));
            H.Raw("<td><b>").Text(PatchAction(p?.Action, p is null)).Raw("</b>");
            if (p?.FixedBy is { } fix) H.Raw("<br><small>").Text(T.Format("patch.fixed_by", ("update", fix.Name), ("kb", fix.Kb ?? "-"), ("build", fix.Build))).Raw("</small>");
            H.Raw("</td>");
            Cell(T.Format("patch.source_scan", ("source", p?.Source ?? "-"), ("time", T.Time(h.FinishedUtc))));
            H.Raw("</tr>\n");
        }
        foreach (var a in S.Assessments.OrderBy(a => HostName(a.HostId), StringComparer.OrdinalIgnoreCase).ThenByDescending(a => a.AtUtc))
        {
            H.Raw("<tr").Raw(a.OpenCves.Count > 0 ? " class=\"v-bad\"" : "").Raw(">");
            Cell(a.HostId is null ? a.Target : HostName(a.HostId));
            CodeCell(a.Build ?? T["common.unknown"]);
            Cell(Product(a.Product, a.Cu, a.Su) + (a.Error is { Length: > 0 } e ? " — " + e : ""));
            Cell(YesNo(a.Supported), "c-num");
            Cell(Join(a.OpenCves));
            H.Raw("<td><b>").Text(PatchAction(a.Action, a.Build is null)).Raw("</b></td>");
            Cell(T.Format("patch.source_assessment", ("source", a.Source.Length > 0 ? a.Source : a.Target), ("time", T.Time(a.AtUtc))));
            H.Raw("</tr>\n");
        }
        TableEnd();
        SectionEnd();
    }

    private string Product(string? product, string? cu, string? su)
    {
        var parts = new[] { product, cu, su }.Where(s => !string.IsNullOrEmpty(s)).ToList();
        return parts.Count == 0 ? T["common.unknown"] : string.Join(" ", parts);
    }

    private void WriteCoverage()
    {
        SectionStart("coverage");
        Para(T["coverage.intro"]);
        if (_latest.Count == 0) Para(T["coverage.no_scans"]);
        foreach (var h in _latest)
        {
            var c = h.Coverage;
            H.Raw("<h3 class=\"host\">").Text(h.HostName).Raw("</h3>");
            Para(T.Format("coverage.summary", ("seen", c.FilesSeen), ("read", c.FilesRead), ("mib", T.Number(c.BytesRead / 1048576)), ("evidence", h.EvidencePath)));
            if (h.CoverageCaveat.Length > 0) Para(h.CoverageCaveat, "caveat");
            if (c.Families.Count == 0) Para(T["coverage.no_logs"], "alert");
            else
            {
                TableStart("coverage", ("c-family", "col.log_family"), ("c-num", "col.files"), ("c-num", "col.lines"), ("c-num", "col.malformed"), ("c-time", "col.first_record"), ("c-time", "col.last_record"), ("c-text", "col.gaps"));
                foreach (var f in c.Families.OrderBy(f => f.Family, StringComparer.Ordinal))
                {
                    H.Raw("<tr>");
                    Cell(f.Family);
                    Cell(T.Number(f.Files), "c-num");
                    Cell(T.Number(f.Lines), "c-num");
                    Cell(T.Number(f.MalformedLines), f.MalformedLines > 0 ? "c-num bad" : "c-num");
                    Cell(T.Time(f.FirstUtc), "c-time");
                    Cell(T.Time(f.LastUtc), "c-time");
                    Cell(f.Gaps.Count == 0 ? T["common.none"] : Join(f.Gaps.Select(g => T.Format("common.window", ("from", T.Date(ToUtc(g.From))), ("to", T.Date(ToUtc(g.To))))), 30),
                        f.Gaps.Count > 0 ? "bad" : null);
                    H.Raw("</tr>\n");
                }
                TableEnd();
            }
            if (c.ChecksNotRun.Count > 0)
            {
                H.Raw("<h4>").Text(T["coverage.checks_not_run"]).Raw("</h4><ul>");
                foreach (var (check, why) in c.ChecksNotRun.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                    H.Raw("<li><b>").Text(check).Raw("</b>: ").Text(why).Raw("</li>");
                H.Raw("</ul>");
            }
            if (c.UnknownLogFiles > 0) Para(T.Format("coverage.unknown_logs", ("n", c.UnknownLogFiles)), "caveat");
            if (c.IssueCounts.Count > 0)
            {
                H.Raw("<h4>").Text(T["coverage.problems"]).Raw("</h4>");
                Para(string.Join(", ", c.IssueCounts.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}: {T.Number(kv.Value)}")));
                if (c.Issues.Count > 0)
                {
                    TableStart("issues", ("c-kind", "col.kind"), ("c-path", "col.path"), ("c-text", "col.message"));
                    foreach (var i in c.Issues.Take(O.MaxIssuesPerHost))
                    {
                        H.Raw("<tr>");
                        Cell(i.Kind);
                        CodeCell(i.Path);
                        Cell(i.Message);
                        H.Raw("</tr>\n");
                    }
                    TableEnd();
                    long listed = Math.Min(c.Issues.Count, O.MaxIssuesPerHost), all = c.IssueCounts.Values.Sum();
                    if (all > listed) Para(T.Format("common.rows_left_out", ("n", all - listed)), "caveat");
                }
            }
        }
        SectionEnd();
    }

    private static DateTimeOffset ToUtc(DateOnly d) => new(d.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);

    private void WriteChecklist()
    {
        SectionStart("checklist");
        Para(T.Format("checklist.intro", ("playbook", C.PlaybookVersion)));
        foreach (var kind in C.Items.Select(i => i.Kind).Distinct(StringComparer.Ordinal))
        {
            H.Raw("<h3>").Text(T[kind == "duty" ? "checklist.duties" : kind == "step" ? "checklist.steps" : "checklist.other"]).Raw("</h3>");
            TableStart("checklist", ("c-text", "col.step"), ("c-need", "col.need"), ("c-state", "col.state"), ("c-who", "col.by_when"), ("c-note", "col.note"), ("c-deadline", "col.deadline"));
            foreach (var item in C.Items.Where(i => i.Kind == kind))
            {
                H.Raw("<tr class=\"need-").Raw(NeedKey(item.Need)).Raw(item.Missed ? " missed" : "").Raw("\"><td><b>").Text(item.Title).Raw("</b>");
                if (item.Text.Length > 0) H.Raw("<br><small>").Text(item.Text).Raw("</small>");
                if (item.Reasons.Count > 0) H.Raw("<br><small><i>").Text(T["actions.why"]).Raw("</i> ").Text(string.Join("; ", item.Reasons)).Raw("</small>");
                if (item.References.Count > 0)
                    // References are text, never links: a user's playbook could carry a javascript: URL.
                    H.Raw("<br><small class=\"ref\">").Text(string.Join(" · ", item.References)).Raw("</small>");
                H.Raw("</td>");
                Cell(NeedText(item.Need));
                H.Raw("<td><b>").Text(StateText(item.State)).Raw("</b></td>");
                Cell(item.StateBy is null ? "" : item.StateBy + (item.StateAtUtc is { } at ? " · " + T.Time(at) : ""));
                Cell(item.StateNote);
                H.Raw("<td>");
                if (item.DeadlineUtc is not null || item.DeadlineNote is not null)
                {
                    H.Text(item.DeadlineUtc is { } d ? item.DeadlineLocal ?? T.DateTime(d) : item.DeadlineNote);
                    if (item.DeadlineUtc is not null) H.Raw("<br><b class=\"countdown\">").Text(Countdown(item)).Raw("</b>");
                }
                H.Raw("</td></tr>\n");
            }
            TableEnd();
        }
        if (C.Items.Count == 0) Para(T["checklist.empty"]);
        if (S.StepHistory.Count > 0)
        {
            H.Raw("<h3>").Text(T["checklist.history"]).Raw("</h3>");
            TableStart("history", ("c-time", "col.time_utc"), ("c-step", "col.step_id"), ("c-state", "col.state"), ("c-who", "col.by"), ("c-text", "col.note"));
            var titles = C.Items.ToDictionary(i => i.Id, i => i.Title, StringComparer.Ordinal);
            foreach (var r in S.StepHistory.OrderByDescending(r => r.AtUtc).Take(O.MaxStepHistory))
            {
                H.Raw("<tr>");
                Cell(T.Time(r.AtUtc), "c-time");
                Cell(titles.TryGetValue(r.StepId, out var title) ? title : r.StepId);
                Cell(StateText(r.State));
                Cell(r.By);
                Cell(r.Note);
                H.Raw("</tr>\n");
            }
            TableEnd();
            if (S.StepHistory.Count > O.MaxStepHistory) Para(T.Format("common.rows_left_out", ("n", S.StepHistory.Count - O.MaxStepHistory)), "caveat");
        }
        SectionEnd();
    }

    private void WriteQuarantine()
    {
        SectionStart("quarantine", T.Number(S.Quarantine.Count));
        if (S.Quarantine.Count == 0) { Para(T["quarantine.none"]); SectionEnd(); return; }
        Para(T["quarantine.intro"]);
        TableStart("quarantine", ("c-host", "col.host"), ("c-path", "col.original_path"), ("c-hash", "col.sha256"), ("c-state", "col.state"), ("c-who", "col.by_when"), ("c-text", "col.rule_note"));
        foreach (var q in S.Quarantine.OrderBy(q => HostName(q.HostId), StringComparer.OrdinalIgnoreCase).ThenBy(q => q.QuarantinedUtc))
        {
            H.Raw("<tr>");
            Cell(HostName(q.HostId));
            CodeCell(q.OriginalPath);
            CodeCell(q.Sha256, "hash");
            Cell(q.State);
            Cell(q.By + " · " + T.Time(q.QuarantinedUtc));
            Cell(string.Join(" · ", new[] { q.RuleId, q.Note }.Where(s => !string.IsNullOrEmpty(s))));
            H.Raw("</tr>\n");
        }
        TableEnd();
        SectionEnd();
    }

    private void WriteNotes()
    {
        SectionStart("notes", T.Number(S.Notes.Count));
        if (S.Notes.Count == 0) { Para(T["notes.none"]); SectionEnd(); return; }
        TableStart("notes", ("c-time", "col.time_utc"), ("c-host", "col.host"), ("c-who", "col.by"), ("c-text", "col.note"));
        foreach (var n in S.Notes.OrderBy(n => n.AtUtc).ThenBy(n => n.Id))
        {
            H.Raw("<tr>");
            Cell(T.Time(n.AtUtc), "c-time");
            Cell(HostName(n.HostId));
            Cell(n.By);
            H.Raw("<td><pre class=\"note\">").Block(n.Text).Raw("</pre></td></tr>\n");
        }
        TableEnd();
        SectionEnd();
    }

    private void WriteAppendix()
    {
        SectionStart("appendix");
        H.Raw("<dl class=\"facts\">");
        Fact("appendix.report_time", T.DateTime(_now));
        Fact("appendix.tool", "exir " + (O.ToolVersion ?? typeof(CaseHtmlReport).Assembly.GetName().Version?.ToString(3) ?? "?"));
        Fact("appendix.store", S.StoreDescription);
        Fact("appendix.schema", S.SchemaVersion.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Fact("appendix.read_time", T.DateTime(S.ReadUtc));
        Fact("appendix.playbook", C.PlaybookVersion);
        Fact("appendix.texts", $"{T.Version} ({T.Origin})");
        foreach (var p in T.Problems) Fact("appendix.texts_problem", p);
        H.Raw("</dl>");

        H.Raw("<h3>").Text(T["appendix.scans"]).Raw("</h3>");
        if (S.Scans.Count == 0) Para(T["appendix.no_scans"]);
        else
        {
            TableStart("scans", ("c-id", "col.scan"), ("c-verb", "col.verb"), ("c-text", "col.versions"), ("c-path", "col.input"), ("c-time", "col.started_finished"), ("c-who", "col.machine_user"));
            foreach (var s in S.Scans.OrderBy(s => s.StartedUtc))
            {
                H.Raw("<tr>");
                CodeCell(s.ScanId);
                Cell(s.Verb + (s.RecordedBy == "direct" ? "" : " (" + s.RecordedBy + ")"));
                H.Raw("<td>").Text($"{s.Tool} {s.ToolVersion}").Raw("<br><small>").Text(T.Format("appendix.rules", ("version", s.RulesVersion ?? "-"), ("origin", s.RulesOrigin ?? "-")))
                 .Raw("</small><br><small>").Text(T.Format("appendix.knowledge", ("origin", s.KnowledgeOrigin ?? "-"))).Raw("</small></td>");
                H.Raw("<td><code>").Text(s.Input).Raw("</code>").Raw(s.InputKind.Length > 0 ? " " : "").Text(s.InputKind.Length > 0 ? "(" + s.InputKind + ")" : "");
                if (s.InputSha256 is not null) H.Raw("<br><small>SHA-256 <code>").Text(s.InputSha256).Raw("</code></small>");
                if (s.Command.Length > 0) H.Raw("<br><small><code>").Text(s.Command).Raw("</code></small>");
                H.Raw("</td><td class=\"c-time\">").Text(T.Time(s.StartedUtc)).Raw("<br>").Text(T.Time(s.FinishedUtc)).Raw("</td>");
                Cell(s.Machine + " / " + s.User);
                H.Raw("</tr>\n");
            }
            TableEnd();
        }

        H.Raw("<h3>").Text(T["appendix.evidence_roots"]).Raw("</h3>");
        if (S.HostScans.Count > 0)
        {
            TableStart("roots", ("c-host", "col.host"), ("c-id", "col.scan"), ("c-path", "col.evidence_root"), ("c-hash", "col.sha256"));
            foreach (var h in S.HostScans.OrderBy(h => h.HostName, StringComparer.OrdinalIgnoreCase).ThenBy(h => h.FinishedUtc))
            {
                H.Raw("<tr>");
                Cell(h.HostName);
                CodeCell(h.ScanId);
                H.Raw("<td><code>").Text(h.EvidencePath).Raw("</code>").Text(h.EvidenceKind.Length > 0 ? " (" + h.EvidenceKind + ")" : "").Raw("</td>");
                CodeCell(h.EvidenceSha256 ?? T["appendix.folder_hashed_per_file"], "hash");
                H.Raw("</tr>\n");
            }
            TableEnd();
        }

        H.Raw("<h3>").Text(T["appendix.file_hashes"]).Raw("</h3>");
        long total = Math.Max(S.EvidenceFileCount, S.EvidenceFiles.Count);
        if (total == 0) Para(T["appendix.no_file_hashes"]);
        else
        {
            TableStart("hashes", ("c-host", "col.host"), ("c-path", "col.path"), ("c-hash", "col.sha256"));
            foreach (var f in S.EvidenceFiles.OrderBy(f => HostName(f.HostId), StringComparer.OrdinalIgnoreCase).ThenBy(f => f.Path, StringComparer.Ordinal).Take(O.MaxEvidenceHashes))
            {
                H.Raw("<tr>");
                Cell(HostName(f.HostId));
                CodeCell(f.Path);
                CodeCell(f.Sha256, "hash");
                H.Raw("</tr>\n");
            }
            TableEnd();
            long listed = Math.Min(S.EvidenceFiles.Count, O.MaxEvidenceHashes);
            if (total > listed) Para(T.Format("appendix.hashes_left_out", ("listed", listed), ("total", total)), "caveat");
        }
        SectionEnd();
    }
}
