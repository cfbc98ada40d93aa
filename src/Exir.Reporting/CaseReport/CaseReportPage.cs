using Exir.Case;
using Exir.Case.Playbook;
using Exir.Core.Findings;

namespace Exir.Reporting.CaseReport;

/// <summary>One rendering of the case report: the header, the sections in <see cref="CaseHtmlReport.SectionIds"/> order, the appendix.</summary>
internal sealed partial class CaseReportPage
{
    private readonly HtmlText H;
    private readonly CaseReportTexts T;
    private readonly CaseSnapshot S;
    private readonly Checklist C;
    private readonly ReportOptions O;
    private readonly DateTimeOffset _now;
    private readonly Dictionary<string, string> _hostNames = new(StringComparer.Ordinal);
    private readonly IReadOnlyList<CaseHostScan> _latest;

    public CaseReportPage(HtmlText html, CaseReportTexts texts, CaseSnapshot snapshot, Checklist checklist, ReportOptions options)
    {
        H = html; T = texts; S = snapshot; C = checklist; O = options;
        _now = options.NowUtc ?? checklist.NowUtc;
        foreach (var h in snapshot.HostScans) _hostNames.TryAdd(h.HostId, h.HostName);
        foreach (var h in snapshot.Hosts) _hostNames[h.HostId] = h.Name;
        _latest = snapshot.LatestPerHost;
    }

    private string HostName(string? hostId) =>
        hostId is null ? T["common.case_wide"] : _hostNames.TryGetValue(hostId, out var n) ? n : hostId;

    /// <summary>Hosts in report order: worst verdict first, then by name; hosts without a scan last.</summary>
    private IEnumerable<string> HostOrder()
    {
        var scanned = _latest.OrderByDescending(h => CaseHtmlReport.Rank(h.Verdict)).ThenBy(h => h.HostName, StringComparer.OrdinalIgnoreCase).Select(h => h.HostId).ToList();
        var rest = S.Hosts.Select(h => h.HostId).Concat(S.FindingCounts.Select(c => c.HostId)).Concat(S.Findings.Select(f => f.HostId ?? ""))
            .Where(id => id.Length > 0 && !scanned.Contains(id)).Distinct(StringComparer.Ordinal).OrderBy(HostName, StringComparer.OrdinalIgnoreCase);
        return scanned.Concat(rest);
    }

    public void Write()
    {
        var caseName = S.Settings.Name is { Length: > 0 } n ? n : T["header.unnamed_case"];
        H.Raw("<!DOCTYPE html>\n<html lang=\"").Raw(T.Language).Raw("\"><head><meta charset=\"utf-8\">")
         .Raw("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">")
         .Raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta name=\"generator\" content=\"exir\">")
         .Raw("<title>").Text(T.Format("header.page_title", ("case", caseName))).Raw("</title><style>").Raw(CaseReportCss.Css).Raw("</style></head><body>\n");
        WriteHeader(caseName);
        WriteVerdict();
        WriteActions();
        WriteFindings();
        WriteIncidents();
        WriteTimeline();
        WriteAdminAccess();
        WritePatchStatus();
        WriteCoverage();
        WriteChecklist();
        WriteQuarantine();
        WriteNotes();
        WriteAppendix();
        H.Raw("<footer>").Text(T.Format("footer.generated", ("time", T.DateTime(_now)))).Raw("</footer></body></html>\n");
        H.Flush();
    }

    private void WriteHeader(string caseName)
    {
        H.Raw("<header><p class=\"kicker\">").Text(T["header.kicker"]).Raw("</p><h1>").Text(caseName).Raw("</h1><p class=\"meta\">");
        if (S.Settings.Organisation is { Length: > 0 } org) H.Text(org).Raw(" · ");
        H.Text(T.Format("header.summary", ("hosts", S.Hosts.Count > 0 ? S.Hosts.Count : _latest.Count), ("findings", S.TotalFindings), ("scans", S.Scans.Count)))
         .Raw(" · ").Text(T.Format("header.as_of", ("time", T.DateTime(_now))));
        if (S.Settings.AwareUtc is { } aware) H.Raw(" · ").Text(T.Format("header.aware", ("time", T.DateTime(aware))));
        H.Raw("</p><nav><ol>");
        foreach (var id in CaseHtmlReport.SectionIds)
            H.Raw("<li><a href=\"#").Raw(id).Raw("\">").Text(T["section." + id]).Raw("</a></li>");
        H.Raw("</ol></nav></header>\n");
    }

    private void SectionStart(string id, string? countText = null)
    {
        H.Raw("<section id=\"").Raw(id).Raw("\"><h2>").Text(T["section." + id]);
        if (countText is not null) H.Raw(" <span class=\"count\">(").Text(countText).Raw(")</span>");
        H.Raw("</h2>\n");
    }

    private void SectionEnd() => H.Raw("</section>\n");

    private void Para(string text, string? cls = null)
    {
        H.Raw(cls is null ? "<p>" : "<p class=\"" + cls + "\">").Text(text).Raw("</p>");
    }

    /// <summary>A table with fixed column widths (table-layout: fixed): a long value wraps inside its column, it never squeezes the others.</summary>
    private void TableStart(string cls, params (string Col, string HeadKey)[] columns)
    {
        H.Raw("<table class=\"").Raw(cls).Raw("\"><colgroup>");
        foreach (var (col, _) in columns) H.Raw("<col class=\"").Raw(col).Raw("\">");
        H.Raw("</colgroup><thead><tr>");
        foreach (var (col, key) in columns) H.Raw("<th class=\"").Raw(col).Raw("\">").Text(T[key]).Raw("</th>");
        H.Raw("</tr></thead><tbody>\n");
    }

    private void TableEnd() => H.Raw("</tbody></table>\n");

    private void Cell(string? text, string? cls = null)
    {
        H.Raw(cls is null ? "<td>" : "<td class=\"" + cls + "\">").Text(text).Raw("</td>");
    }

    private void CodeCell(string? text, string? cls = null)
    {
        H.Raw(cls is null ? "<td>" : "<td class=\"" + cls + "\">").Raw("<code>").Text(text).Raw("</code></td>");
    }

    private string VerdictLabel(VerdictKind v) => T["verdict.label." + VerdictKey(v)];

    private static string VerdictKey(VerdictKind v) => v switch
    {
        VerdictKind.Compromised => "compromised", VerdictKind.Attempted => "attempted", _ => "none",
    };

    private static string VerdictClass(VerdictKind v) => v switch
    {
        VerdictKind.Compromised => "v-bad", VerdictKind.Attempted => "v-warn", _ => "v-ok",
    };

    private string SeverityText(Severity s) => T["severity." + s.ToWire()];
    private string OutcomeText(Outcome o) => T["outcome." + o.ToWire()];
    private string YesNo(bool b) => T[b ? "common.yes" : "common.no"];
    private string Join(IEnumerable<string> values, int max = 20)
    {
        var list = values.Where(v => !string.IsNullOrEmpty(v)).ToList();
        if (list.Count == 0) return T["common.none"];
        var text = string.Join(", ", list.Take(max));
        return list.Count > max ? text + " " + T.Format("common.and_more", ("n", list.Count - max)) : text;
    }

    private string Window(DateTimeOffset? first, DateTimeOffset? last) =>
        first is null && last is null ? T["common.undated"] : T.Format("common.window", ("from", T.Time(first)), ("to", T.Time(last)));
}
