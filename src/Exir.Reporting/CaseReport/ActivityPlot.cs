using Exir.Case;

namespace Exir.Reporting.CaseReport;

/// <summary>
/// The activity plot: one lane per host, a bar per hour (merged into pixel columns when the window is long), the
/// bar's height the log of the hour's events and findings, hours with findings marked above the bar. The x axis
/// spans the attack window as the evidence dates it (first to last hour with activity, padded a little): the
/// activity buckets carry event times only, never file copy times, so a collection's copy date cannot stretch it.
/// Plain SVG inside the page: no script, prints as it shows; lanes are labelled, so it reads without colour too.
/// </summary>
internal static class ActivityPlot
{
    // Okabe-Ito: told apart with the common colour-vision deficiencies, and of distinct lightness in grey print.
    private static readonly string[] Palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"];

    private const double Width = 1160, Left = 150, Right = 20, Top = 34, Lane = 36, AxisHeight = 54, ColumnPx = 2;

    public static string ColourOf(int hostIndex) => Palette[hostIndex % Palette.Length];

    public static void Write(HtmlText h, CaseReportTexts t, IReadOnlyList<CaseActivityBucket> activity, IReadOnlyList<string> hostOrder, Func<string, string> hostName)
    {
        // Counts below zero (a damaged store) count as none.
        var dated = activity.Select(a => a with { Events = Math.Max(0, a.Events), Findings = Math.Max(0, a.Findings) }).Where(a => a.Events + a.Findings > 0).ToList();
        if (dated.Count == 0)
        {
            h.Raw("<p class=\"caveat\">").Text(t["timeline.no_activity"]).Raw("</p>");
            return;
        }
        var first = dated.Min(a => a.HourUtc);
        // Tampered logs can date events at year 1 or 9999: the window is clamped so that no date arithmetic overflows.
        var latest = dated.Max(a => a.HourUtc);
        var last = latest < DateTimeOffset.MaxValue.AddDays(-1) ? latest.AddHours(1) : latest;
        var span = last - first;
        var pad = TimeSpan.FromTicks(Math.Max(TimeSpan.FromHours(1).Ticks, span.Ticks / 30));
        var x0 = first > DateTimeOffset.MinValue + pad ? first - pad : first;
        var x1 = last < DateTimeOffset.MaxValue - pad ? last + pad : last;
        if (x1 <= x0) x1 = x0.AddHours(1);
        double plotWidth = Width - Left - Right;
        double X(DateTimeOffset v) => Left + (v - x0).Ticks / (double)(x1 - x0).Ticks * plotWidth;

        var lanes = hostOrder.Where(id => dated.Any(a => a.HostId == id)).ToList();
        double height = Top + lanes.Count * Lane + AxisHeight;
        // An hour wider than a column is drawn as its own bar; shorter hours are merged into 2 px columns (bounded rects per lane).
        double hourPx = plotWidth * TimeSpan.TicksPerHour / (x1 - x0).Ticks;
        bool perHour = hourPx >= ColumnPx;
        long Key(DateTimeOffset hour) => perHour ? (long)Math.Round((hour - first).TotalHours) : (long)Math.Floor(X(hour) / ColumnPx);
        double KeyX(long key) => perHour ? X(first.AddHours(key)) : key * ColumnPx;
        double barWidth = perHour ? Math.Max(ColumnPx, hourPx - (hourPx > 6 ? 2 : 0)) : ColumnPx;
        long max = dated.GroupBy(a => (a.HostId, Col: Key(a.HourUtc))).Max(g => g.Sum(a => a.Events + a.Findings));

        h.Raw("<p>").Text(t.Format("timeline.plot_intro", ("from", t.DateTime(first)), ("to", t.DateTime(last)))).Raw("</p>");
        h.Raw("<figure class=\"plot\"><svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" viewBox=\"0 0 ").Coord(Width).Raw(" ").Coord(height)
         .Raw("\" width=\"100%\" data-first=\"").Text(Core.Findings.FindingJson.Iso(first)).Raw("\" data-last=\"").Text(Core.Findings.FindingJson.Iso(last)).Raw("\"><title>")
         .Text(t["timeline.plot_title"]).Raw("</title>");
        h.Raw("<text class=\"axis-title\" x=\"").Coord(Left).Raw("\" y=\"16\">").Text(t["timeline.plot_title"]).Raw("</text>");

        for (int i = 0; i < lanes.Count; i++)
        {
            var id = lanes[i];
            var colour = ColourOf(hostOrder.ToList().IndexOf(id));
            double laneTop = Top + i * Lane;
            h.Raw("<g class=\"lane\" data-host=\"").Text(hostName(id)).Raw("\">");
            h.Raw("<rect class=\"lane-bg\" x=\"").Coord(Left).Raw("\" y=\"").Coord(laneTop).Raw("\" width=\"").Coord(plotWidth).Raw("\" height=\"").Coord(Lane - 4).Raw("\"/>");
            h.Raw("<text class=\"lane-label\" x=\"").Coord(Left - 8).Raw("\" y=\"").Coord(laneTop + Lane / 2).Raw("\">").Text(Shorten(hostName(id), 20)).Raw("</text>");
            foreach (var col in dated.Where(a => a.HostId == id).GroupBy(a => Key(a.HourUtc)).OrderBy(g => g.Key))
            {
                long events = col.Sum(a => a.Events + a.Findings);
                bool findings = col.Any(a => a.Findings > 0);
                double barHeight = Math.Max(2, (Lane - 12) * Math.Log(1 + events) / Math.Log(1 + Math.Max(1, max)));
                double x = KeyX(col.Key);
                h.Raw("<rect class=\"bar\" fill=\"").Raw(colour).Raw("\" x=\"").Coord(x).Raw("\" y=\"").Coord(laneTop + Lane - 4 - barHeight).Raw("\" width=\"").Coord(barWidth)
                 .Raw("\" height=\"").Coord(barHeight).Raw("\"><title>").Text(t.Format("timeline.bar_title", ("host", hostName(id)), ("time", t.DateTime(col.Min(a => a.HourUtc))),
                     ("events", col.Sum(a => a.Events)), ("findings", col.Sum(a => a.Findings)))).Raw("</title></rect>");
                if (findings)
                    h.Raw("<rect class=\"finding-mark\" x=\"").Coord(x - 1).Raw("\" y=\"").Coord(laneTop + 1).Raw("\" width=\"").Coord(barWidth + 2).Raw("\" height=\"5\"/>");
            }
            h.Raw("</g>");
        }

        double axisY = Top + lanes.Count * Lane;
        h.Raw("<g class=\"axis\"><line x1=\"").Coord(Left).Raw("\" y1=\"").Coord(axisY).Raw("\" x2=\"").Coord(Width - Right).Raw("\" y2=\"").Coord(axisY).Raw("\"/>");
        var step = TickStep(x1 - x0);
        bool withTime = step < TimeSpan.FromDays(1);
        var tick = FirstTick(x0, step);
        for (int n = 0; n < 64 && tick <= x1; n++, tick += step)
        {
            double x = X(tick);
            if (x >= Left && x <= Width - Right)
            {
                h.Raw("<line class=\"tick\" x1=\"").Coord(x).Raw("\" y1=\"").Coord(axisY).Raw("\" x2=\"").Coord(x).Raw("\" y2=\"").Coord(axisY + 5).Raw("\"/>")
                 .Raw("<text class=\"tick-label\" x=\"").Coord(x).Raw("\" y=\"").Coord(axisY + 18).Raw("\">")
                 .Text(withTime ? t.DateTime(tick).Replace(" UTC", "", StringComparison.Ordinal) : t.Date(tick)).Raw("</text>");
            }
            if (DateTimeOffset.MaxValue - tick <= step) break;
        }
        // The window's ends as the evidence dates them, labelled: the reader sees exactly what the axis spans.
        h.Raw("<line class=\"window-edge\" x1=\"").Coord(X(first)).Raw("\" y1=\"").Coord(Top - 4).Raw("\" x2=\"").Coord(X(first)).Raw("\" y2=\"").Coord(axisY).Raw("\"/>")
         .Raw("<line class=\"window-edge\" x1=\"").Coord(X(last)).Raw("\" y1=\"").Coord(Top - 4).Raw("\" x2=\"").Coord(X(last)).Raw("\" y2=\"").Coord(axisY).Raw("\"/>");
        h.Raw("<text class=\"edge-label start\" x=\"").Coord(Left).Raw("\" y=\"").Coord(axisY + 38).Raw("\">").Text(t.Format("timeline.first_activity", ("time", t.DateTime(first)))).Raw("</text>")
         .Raw("<text class=\"edge-label end\" x=\"").Coord(Width - Right).Raw("\" y=\"").Coord(axisY + 38).Raw("\">").Text(t.Format("timeline.last_activity", ("time", t.DateTime(last)))).Raw("</text>")
         .Raw("</g></svg>");

        h.Raw("<figcaption><ul class=\"legend\">");
        foreach (var id in lanes)
            h.Raw("<li><span class=\"swatch\" style=\"background:").Raw(ColourOf(hostOrder.ToList().IndexOf(id))).Raw("\"></span>").Text(hostName(id)).Raw("</li>");
        h.Raw("<li><span class=\"swatch finding-swatch\"></span>").Text(t["timeline.legend_findings"]).Raw("</li></ul><p class=\"caveat\">").Text(t["timeline.plot_note"]).Raw("</p></figcaption></figure>\n");
    }

    private static string Shorten(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";

    private static readonly TimeSpan[] Steps =
        [TimeSpan.FromHours(1), TimeSpan.FromHours(2), TimeSpan.FromHours(3), TimeSpan.FromHours(6), TimeSpan.FromHours(12),
         TimeSpan.FromDays(1), TimeSpan.FromDays(2), TimeSpan.FromDays(7), TimeSpan.FromDays(14), TimeSpan.FromDays(28), TimeSpan.FromDays(91), TimeSpan.FromDays(182), TimeSpan.FromDays(364)];

    /// <summary>The smallest round step that gives at most eight ticks.</summary>
    private static TimeSpan TickStep(TimeSpan span) => Steps.FirstOrDefault(s => span.Ticks / s.Ticks <= 8, TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerDay, span.Ticks / 8)));

    private static DateTimeOffset FirstTick(DateTimeOffset from, TimeSpan step)
    {
        var start = new DateTimeOffset(from.UtcDateTime.Date, TimeSpan.Zero);
        if (DateTimeOffset.MaxValue - from <= step + TimeSpan.FromDays(1)) return from;
        if (step >= TimeSpan.FromDays(1)) return start < from ? start.AddDays(1) : start;
        long ticks = (from - start).Ticks;
        return start.AddTicks((ticks + step.Ticks - 1) / step.Ticks * step.Ticks);
    }
}
