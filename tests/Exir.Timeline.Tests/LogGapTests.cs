using Exir.Timeline;
using static Exir.Timeline.Tests.Events;

namespace Exir.Timeline.Tests;

public class LogGapTests
{
    private static TamperRules Tamper => TamperRules.Load(Rules);

    [Fact]
    public void Missing_record_ids_inside_a_log_are_one_finding_with_the_range()
    {
        var g = new LogGapTracker("h/Security.evtx", "EX01", "Security");
        foreach (var id in Enumerable.Range(100, 10).Concat(Enumerable.Range(115, 10)))
            g.Add((ulong)id, T0.AddSeconds(id), Tamper, (ulong)id);
        var f = Assert.Single(g.Findings(Tamper));
        Assert.Equal("TL-RECORD-GAP", f.RuleId);
        Assert.Equal("5", f.Details["missing_count"]);
        Assert.Equal("110", f.Details["missing_from"]);
        Assert.Equal("114", f.Details["missing_to"]);
        Assert.Equal(115, f.Line);
        Assert.Equal("h/Security.evtx", f.Artifact);
    }

    [Fact]
    public void Out_of_order_records_that_fill_the_hole_leave_no_gap()
    {
        var g = new LogGapTracker("f", "h", "Security");
        foreach (var id in new ulong[] { 1, 2, 5, 6, 3, 4, 7 }) g.Add(id, T0, Tamper, id);
        Assert.Empty(g.Findings(Tamper));
    }

    [Fact]
    public void Exported_logs_are_checked_on_header_numbers_not_on_EventRecordID()
    {
        var g = new LogGapTracker("f", "h", "Security");
        ulong header = 1;
        foreach (var id in new ulong[] { 10, 20, 30, 40 }) g.Add(id, T0, Tamper, header++);
        Assert.True(g.Renumbered);
        Assert.Empty(g.Findings(Tamper));
    }

    [Fact]
    public void Long_silence_and_time_going_backwards_are_reported_on_busy_channels_only()
    {
        var sec = new LogGapTracker("f", "h", "Security");
        var gp = new LogGapTracker("g", "h", "Microsoft-Windows-GroupPolicy/Operational");
        foreach (var g in new[] { sec, gp })
        {
            g.Add(1, T0, Tamper, 1);
            g.Add(2, T0.AddDays(3), Tamper, 2);
            g.Add(3, T0.AddDays(1), Tamper, 3);
        }
        var ids = sec.Findings(Tamper).Select(f => f.RuleId).ToList();
        Assert.Contains("TL-TIME-GAP", ids);
        Assert.Contains("TL-TIME-BACKWARDS", ids);
        Assert.Empty(gp.Findings(Tamper));
    }
}
