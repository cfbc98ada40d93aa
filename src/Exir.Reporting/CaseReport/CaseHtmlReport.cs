using System.Text;
using Exir.Case;
using Exir.Case.Playbook;
using Exir.Core.Findings;

namespace Exir.Reporting.CaseReport;

/// <summary>
/// The case report: one self-contained HTML page (inline CSS, no scripts, no external resources, a
/// Content-Security-Policy that forbids both) for management and responders, in English or German. Made from a
/// <see cref="CaseSnapshot"/> and its <see cref="Checklist"/> only; written to the stream as it is built.
/// </summary>
public static class CaseHtmlReport
{
    /// <summary>The section ids, in page order (tests and the print CSS rely on them).</summary>
    public static readonly IReadOnlyList<string> SectionIds =
        ["verdict", "actions", "findings", "incidents", "timeline", "admin", "patch", "coverage", "checklist", "quarantine", "notes", "appendix"];

    /// <param name="lang">en or de (anything else is English).</param>
    public static void Write(CaseSnapshot snapshot, Checklist checklist, string lang, Stream output, ReportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(checklist);
        ArgumentNullException.ThrowIfNull(output);
        options ??= new ReportOptions();
        var texts = options.Texts ?? CaseReportTexts.Load(lang, options.RulesDirectory);
        using var writer = new StreamWriter(output, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
        new CaseReportPage(new HtmlText(writer), texts, snapshot, checklist, options).Write();
        writer.Flush();
    }

    /// <summary>The page as a string (tests; small cases).</summary>
    public static string Render(CaseSnapshot snapshot, Checklist checklist, string lang, ReportOptions? options = null)
    {
        using var ms = new MemoryStream();
        Write(snapshot, checklist, lang, ms, options);
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>The narrowest a table column may be laid out (px; the CSS guarantees it, the Chromium test measures it).</summary>
    public const int MinColumnPx = CaseReportCss.MinTextColumnPx;

    /// <summary>A value as the page writes it: control characters made visible, markup encoded.</summary>
    public static string Escape(string? value) => HtmlText.Encode(value);

    /// <summary>The worst verdict first (for ordering and the overall line).</summary>
    internal static int Rank(VerdictKind v) => v switch { VerdictKind.Compromised => 2, VerdictKind.Attempted => 1, _ => 0 };
}
