using Exir.Case;
using Exir.Case.Playbook;
using Exir.Core.Findings;

namespace Exir.Reporting.CaseReport;

// The management part: the verdict per host in plain words, and what to do now (open steps, deadlines).
internal sealed partial class CaseReportPage
{
    private void WriteVerdict()
    {
        SectionStart("verdict");
        var compromised = _latest.Count(h => h.Verdict == VerdictKind.Compromised);
        var attempted = _latest.Count(h => h.Verdict == VerdictKind.Attempted);
        var worst = compromised > 0 ? VerdictKind.Compromised : attempted > 0 ? VerdictKind.Attempted : VerdictKind.NoEvidenceFound;
        H.Raw("<div class=\"overall ").Raw(VerdictClass(worst)).Raw("\"><p class=\"overall-label\">").Text(VerdictLabel(worst)).Raw("</p><p>");
        if (_latest.Count == 0) H.Text(T["verdict.overall.no_scans"]);
        else H.Text(T.Format("verdict.overall." + VerdictKey(worst), ("n", worst == VerdictKind.Attempted ? attempted : compromised), ("total", _latest.Count), ("attempted", attempted)));
        H.Raw("</p></div>\n");
        if (_latest.Count == 0) { SectionEnd(); return; }

        TableStart("verdicts", ("c-host", "col.host"), ("c-verdict", "col.verdict"), ("c-text", "col.plain_words"), ("c-action", "col.patch_action"), ("c-time", "col.last_scan"));
        foreach (var h in _latest.OrderByDescending(h => CaseHtmlReport.Rank(h.Verdict)).ThenBy(h => h.HostName, StringComparer.OrdinalIgnoreCase))
        {
            H.Raw("<tr class=\"").Raw(VerdictClass(h.Verdict)).Raw("\"><td><b>").Text(h.HostName).Raw("</b></td><td class=\"verdict-cell\"><b>").Text(VerdictLabel(h.Verdict)).Raw("</b></td><td>");
            H.Text(PlainVerdict(h));
            var limits = CoverageLimits(h.Coverage);
            if (limits is not null) H.Raw("<br><span class=\"caveat\">").Text(limits).Raw("</span>");
            H.Raw("</td>");
            // An inventory or check newer than the scan (or the only source) says more about the patch level.
            var assessment = S.Assessments.Where(a => a.HostId == h.HostId).OrderByDescending(a => a.AtUtc).FirstOrDefault();
            Cell(assessment is not null && (h.PatchStatus is null || assessment.AtUtc > h.FinishedUtc)
                ? PatchAction(assessment.Action, assessment.Build is null)
                : PatchAction(h.PatchStatus?.Action, h.PatchStatus is null));
            Cell(T.Time(h.FinishedUtc), "c-time");
            H.Raw("</tr>\n");
        }
        TableEnd();
        SectionEnd();
    }

    /// <summary>The verdict as a manager reads it: what it means, with the most telling finding named.</summary>
    private string PlainVerdict(CaseHostScan h)
    {
        var counts = S.FindingCounts.Where(c => c.HostId == h.HostId).ToList();
        var telling = counts.OrderByDescending(c => c.Outcome).ThenByDescending(c => c.Severity).ThenByDescending(c => c.Count).FirstOrDefault();
        long success = counts.Where(c => c.Outcome == Outcome.Success).Sum(c => c.Count);
        long attempts = counts.Where(c => c.Outcome == Outcome.Attempt).Sum(c => c.Count);
        long total = counts.Count > 0 ? counts.Sum(c => c.Count) : h.FindingCount;
        return T.Format("verdict.plain." + VerdictKey(h.Verdict),
            ("host", h.HostName), ("success", success), ("attempts", attempts), ("total", total), ("example", telling?.Title ?? T["common.none"]));
    }

    /// <summary>One sentence on what the scan could not see, or null when nothing limits it.</summary>
    private string? CoverageLimits(CaseCoverage c)
    {
        long checks = c.ChecksNotRun.Count;
        long unreadable = c.IssueCounts.Values.Sum();
        long gaps = c.Families.Sum(f => f.Gaps.Count);
        if (checks == 0 && unreadable == 0 && gaps == 0 && c.Families.Count > 0) return null;
        if (c.Families.Count == 0) return T["verdict.limits.no_logs"];
        return T.Format("verdict.limits.some", ("checks", checks), ("problems", unreadable), ("gaps", gaps));
    }

    private string PatchAction(string? action, bool unknown) =>
        unknown ? T["patch.action.unknown"] : action switch
        {
            "patch" => T["patch.action.patch"],
            "shutdown-migrate" => T["patch.action.shutdown-migrate"],
            "none" => T["patch.action.none"],
            _ => T["patch.action.unknown"],
        };

    private void WriteActions()
    {
        SectionStart("actions");
        var open = C.Items.Select((item, index) => (item, index))
            .Where(x => x.item.State == StepStates.Open && x.item.Need is Need.Required or Need.Recommended)
            .OrderBy(x => x.item.Need == Need.Required ? 0 : 1)
            .ThenBy(x => x.item.DeadlineUtc ?? DateTimeOffset.MaxValue)
            .ThenBy(x => x.index)
            .Select(x => x.item).ToList();
        if (open.Count == 0) Para(T["actions.nothing_open"]);
        else
        {
            Para(T.Format("actions.intro", ("required", open.Count(i => i.Need == Need.Required)), ("recommended", open.Count(i => i.Need == Need.Recommended))));
            H.Raw("<ol class=\"actions\">");
            foreach (var item in open)
            {
                H.Raw("<li class=\"need-").Raw(NeedKey(item.Need)).Raw(item.Missed ? " missed" : "").Raw("\"><span class=\"badge\">").Text(NeedText(item.Need)).Raw("</span> <b>")
                 .Text(item.Title).Raw("</b>");
                if (item.Text.Length > 0) H.Raw("<br>").Text(item.Text);
                if (item.DeadlineUtc is not null || item.DeadlineNote is not null) H.Raw("<br><span class=\"deadline\">").Text(DeadlineText(item)).Raw("</span>");
                if (item.Reasons.Count > 0)
                {
                    H.Raw("<br><small>").Text(T["actions.why"]).Raw(" ");
                    H.Text(string.Join("; ", item.Reasons));
                    H.Raw("</small>");
                }
                H.Raw("</li>");
            }
            H.Raw("</ol>\n");
        }

        var deadlines = C.Items.Where(i => i.DeadlineUtc is not null || i.DeadlineNote is not null).ToList();
        H.Raw("<h3>").Text(T["actions.deadlines"]).Raw("</h3>");
        if (deadlines.Count == 0) Para(T["actions.no_deadlines"]);
        else
        {
            TableStart("deadlines", ("c-text", "col.step"), ("c-deadline", "col.deadline"), ("c-countdown", "col.time_left"), ("c-state", "col.state"));
            foreach (var item in deadlines)
            {
                H.Raw("<tr").Raw(item.Missed ? " class=\"missed\"" : "").Raw("><td><b>").Text(item.Title).Raw("</b></td><td>");
                if (item.DeadlineUtc is { } d)
                {
                    H.Text(item.DeadlineLocal ?? T.DateTime(d));
                    if (item.DeadlineLocal is not null) H.Raw("<br><small>").Text(T.DateTime(d)).Raw("</small>");
                }
                else H.Text(item.DeadlineNote);
                H.Raw("</td><td class=\"countdown\">").Text(Countdown(item)).Raw("</td>");
                Cell(StateText(item.State));
                H.Raw("</tr>\n");
            }
            TableEnd();
        }
        SectionEnd();
    }

    /// <summary>"41 h 20 min left", "MISSED: 5 h 10 min ago", or done in time / late.</summary>
    private string Countdown(ChecklistItem item)
    {
        if (item.DeadlineUtc is null) return T["deadline.unknown"];
        var left = item.TimeLeft ?? item.DeadlineUtc.Value - _now;
        if (item.State != StepStates.Open)
            return T[item.Missed ? "deadline.done_late" : "deadline.done_in_time"];
        return item.Missed || left < TimeSpan.Zero
            ? T.Format("deadline.missed", ("span", T.Duration(left)))
            : T.Format("deadline.left", ("span", T.Duration(left)));
    }

    private string DeadlineText(ChecklistItem item)
    {
        if (item.DeadlineUtc is null) return T.Format("deadline.not_computed", ("why", item.DeadlineNote));
        return T.Format("deadline.line", ("deadline", item.DeadlineLocal ?? T.DateTime(item.DeadlineUtc.Value)), ("countdown", Countdown(item)));
    }

    private static string NeedKey(Need n) => n switch
    {
        Need.Required => "required", Need.Recommended => "recommended", Need.NotApplicable => "na", _ => "optional",
    };

    private string NeedText(Need n) => T["need." + NeedKey(n)];

    private string StateText(string state) => state switch
    {
        StepStates.Done => T["state.done"],
        StepStates.NotApplicable => T["state.na"],
        StepStates.Open => T["state.open"],
        _ => state,
    };
}
