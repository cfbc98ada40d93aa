using Exir.Case.Playbook;
using Exir.Core.Findings;
using static Exir.Case.Tests.ChecklistSnapshots;

namespace Exir.Case.Tests;

public class DeadlineTests
{
    private static void NeedZone(string id)
    {
        try { TimeZoneInfo.FindSystemTimeZoneById(id); }
        catch (TimeZoneNotFoundException) { Assert.Skip($"time zone {id} is not installed on this machine (tzdata)"); }
    }

    private static ChecklistItem Authority(string zone, DateTimeOffset aware, DateTimeOffset now, string lang = "en", params CaseStepRecord[] steps)
    {
        var snapshot = Snapshot(new CaseSettings { TimeZone = zone, AwareUtc = aware, PersonalData = true }, HostScan("EXCH01", VerdictKind.Compromised)) with { Steps = steps };
        return ChecklistBuilder.Build(Shipped, snapshot, lang, now).Item("authority-notified");
    }

    [Fact]
    public void SeventyTwoRealHoursAcrossTheSpringDstChangeInBerlin()
    {
        NeedZone("Europe/Berlin");
        // Aware Friday 27 March 2026, 10:00 CET; clocks go forward on Sunday 29 March: the deadline reads 11:00 CEST.
        var aware = new DateTimeOffset(2026, 3, 27, 10, 0, 0, TimeSpan.FromHours(1));
        var en = Authority("Europe/Berlin", aware, aware.AddHours(1));
        Assert.Equal(new DateTimeOffset(2026, 3, 30, 9, 0, 0, TimeSpan.Zero), en.DeadlineUtc);
        Assert.Equal("Mon 30 Mar 2026 11:00 CEST", en.DeadlineLocal);
        Assert.Equal("Mo., 30.03.2026, 11:00 Uhr (MESZ)", Authority("Europe/Berlin", aware, aware.AddHours(1), "de").DeadlineLocal);
        Assert.Null(en.DeadlineNote);
    }

    [Fact]
    public void SeventyTwoRealHoursAcrossTheAutumnDstChangeInBerlin()
    {
        NeedZone("Europe/Berlin");
        // Aware Friday 23 October 2026, 10:00 CEST; clocks go back on Sunday 25 October: the deadline reads 09:00 CET.
        var aware = new DateTimeOffset(2026, 10, 23, 10, 0, 0, TimeSpan.FromHours(2));
        var item = Authority("Europe/Berlin", aware, aware);
        Assert.Equal(new DateTimeOffset(2026, 10, 26, 8, 0, 0, TimeSpan.Zero), item.DeadlineUtc);
        Assert.Equal("Mon 26 Oct 2026 09:00 CET", item.DeadlineLocal);
        Assert.Equal("Mo., 26.10.2026, 09:00 Uhr (MEZ)", Authority("Europe/Berlin", aware, aware, "de").DeadlineLocal);
    }

    [Fact]
    public void NewYorkDeadlineAcrossItsOwnDstChange()
    {
        NeedZone("America/New_York");
        // US clocks go forward on 8 March 2026, three weeks before Europe's.
        var aware = new DateTimeOffset(2026, 3, 6, 12, 0, 0, TimeSpan.FromHours(-5));
        var item = Authority("America/New_York", aware, aware);
        Assert.Equal(new DateTimeOffset(2026, 3, 9, 17, 0, 0, TimeSpan.Zero), item.DeadlineUtc);
        Assert.Equal("Mon 9 Mar 2026 13:00 EDT", item.DeadlineLocal);
    }

    [Fact]
    public void UtcAndZonesWithoutAnAbbreviation()
    {
        var aware = new DateTimeOffset(2026, 12, 1, 15, 0, 0, TimeSpan.Zero);
        Assert.Equal("Fri 4 Dec 2026 15:00 UTC", Authority("UTC", aware, aware).DeadlineLocal);
        Assert.Equal("Fr., 04.12.2026, 15:00 Uhr (UTC)", Authority("UTC", aware, aware, "de").DeadlineLocal);
        NeedZone("Asia/Kolkata");
        Assert.Equal("Fri 4 Dec 2026 20:30 UTC+05:30", Authority("Asia/Kolkata", aware, aware).DeadlineLocal);
        NeedZone("America/Sao_Paulo");
        Assert.Equal("Fri 4 Dec 2026 12:00 UTC\u221203:00", Authority("America/Sao_Paulo", aware, aware).DeadlineLocal);
    }

    [Theory]
    [InlineData("Mars/Olympus_Mons")]
    [InlineData("../../../../etc/passwd")]
    [InlineData("Europe/Berlin\0")]
    [InlineData("")]
    public void UnknownTimeZoneFallsBackToUtcWithANote(string zone)
    {
        var aware = new DateTimeOffset(2026, 12, 1, 15, 0, 0, TimeSpan.Zero);
        var item = Authority(zone, aware, aware);
        Assert.Equal(new DateTimeOffset(2026, 12, 4, 15, 0, 0, TimeSpan.Zero), item.DeadlineUtc);
        Assert.Equal("Fri 4 Dec 2026 15:00 UTC", item.DeadlineLocal);
        if (zone.Length > 0) Assert.StartsWith($"The case's time zone '{zone}' is unknown on this machine; the deadline is shown in UTC", item.DeadlineNote);
        else Assert.Null(item.DeadlineNote);
    }

    [Fact]
    public void WithoutTheTimeOfAwarenessThereIsNoDeadlineButAnInstruction()
    {
        var snapshot = Snapshot(new CaseSettings { PersonalData = true }, HostScan("EXCH01", VerdictKind.Compromised));
        var item = ChecklistBuilder.Build(Shipped, snapshot, "en", ScanTime.AddDays(30)).Item("authority-notified");
        Assert.Null(item.DeadlineUtc);
        Assert.Null(item.DeadlineLocal);
        Assert.Null(item.TimeLeft);
        Assert.False(item.Missed);
        Assert.Contains("exir case set aware_utc", item.DeadlineNote);
        Assert.Contains("exir case set aware_utc", ChecklistBuilder.Build(Shipped, snapshot, "de", ScanTime).Item("authority-notified").DeadlineNote);
        Assert.Null(ChecklistBuilder.Build(Shipped, snapshot, "en", ScanTime).Item("forensics").DeadlineNote);
    }

    [Fact]
    public void CountdownBeforeTheDeadlineAndMissedAfterIt()
    {
        var aware = new DateTimeOffset(2026, 12, 1, 15, 0, 0, TimeSpan.Zero);
        var running = Authority("UTC", aware, aware.AddHours(30).AddMinutes(20));
        Assert.Equal(TimeSpan.FromHours(41) + TimeSpan.FromMinutes(40), running.TimeLeft);
        Assert.False(running.Missed);
        Assert.Equal("41 h 40 min left", DeadlineClock.TimeLeftText(Shipped, running.TimeLeft!.Value, "en"));
        Assert.Equal("noch 41 Std. 40 Min.", DeadlineClock.TimeLeftText(Shipped, running.TimeLeft!.Value, "de"));

        Assert.False(Authority("UTC", aware, aware.AddHours(72)).Missed);
        var late = Authority("UTC", aware, aware.AddHours(75));
        Assert.True(late.Missed);
        Assert.Equal(TimeSpan.FromHours(-3), late.TimeLeft);
        Assert.Equal("overdue by 3 h 0 min", DeadlineClock.TimeLeftText(Shipped, late.TimeLeft!.Value, "en"));
        Assert.Equal("seit 2 Tg. 3 Std. überschritten", DeadlineClock.TimeLeftText(Shipped, TimeSpan.FromHours(-51), "de"));
    }

    [Fact]
    public void DoneInTimeIsNotMissedAndDoneLateIs()
    {
        var aware = new DateTimeOffset(2026, 12, 1, 15, 0, 0, TimeSpan.Zero);
        var now = aware.AddDays(10);
        Assert.False(Authority("UTC", aware, now, "en", Step("authority-notified", "done", aware.AddHours(70))).Missed);
        var late = Authority("UTC", aware, now, "en", Step("authority-notified", "done", aware.AddHours(80), "dpo", "reasons for the delay given"));
        Assert.True(late.Missed);
        Assert.Equal(StepStates.Done, late.State);
        Assert.Equal("reasons for the delay given", late.StateNote);
    }

    [Fact]
    public void DutiesThatDoNotApplyAreNeverMissed()
    {
        var aware = new DateTimeOffset(2026, 12, 1, 15, 0, 0, TimeSpan.Zero);
        Assert.False(Authority("UTC", aware, aware.AddDays(5), "en", Step("authority-notified", "n/a", aware.AddHours(1))).Missed);

        var noPersonalData = Snapshot(new CaseSettings { AwareUtc = aware, PersonalData = false, CriticalInfrastructure = false }, HostScan("EXCH01", VerdictKind.Compromised));
        var c = ChecklistBuilder.Build(Shipped, noPersonalData, "en", aware.AddDays(5));
        Assert.Equal(Need.NotApplicable, c.Item("authority-notified").Need);
        Assert.False(c.Item("authority-notified").Missed);
        Assert.False(c.Item("bsi-report").Missed);

        // Nothing calls for the duty yet (no finding, nothing decided): its clock runs, but it is not flagged.
        var undecided = ChecklistBuilder.Build(Shipped, Snapshot(new CaseSettings { AwareUtc = aware }, HostScan("EXCH01", VerdictKind.NoEvidenceFound)), "en", aware.AddDays(5));
        Assert.Equal(Need.Optional, undecided.Item("authority-notified").Need);
        Assert.Equal(TimeSpan.FromHours(-48), undecided.Item("authority-notified").TimeLeft);
        Assert.False(undecided.Item("authority-notified").Missed);
    }

    [Fact]
    public void BsiEarlyWarningRunsOnItsOwnTwentyFourHourClock()
    {
        var aware = new DateTimeOffset(2026, 12, 1, 15, 0, 0, TimeSpan.Zero);
        var snapshot = Snapshot(new CaseSettings { AwareUtc = aware, CriticalInfrastructure = true }, HostScan("EXCH01", VerdictKind.Compromised));
        var c = ChecklistBuilder.Build(Shipped, snapshot, "en", aware.AddHours(30));
        Assert.Equal(Need.Required, c.Item("bsi-report").Need);
        Assert.Equal(aware.AddHours(24), c.Item("bsi-report").DeadlineUtc);
        Assert.True(c.Item("bsi-report").Missed);
        Assert.False(c.Item("authority-notified").Missed);
    }

    [Fact]
    public void AwarenessGivenWithAnOffsetIsTheSameInstant()
    {
        NeedZone("Europe/Berlin");
        var utc = Authority("Europe/Berlin", new DateTimeOffset(2026, 12, 1, 14, 0, 0, TimeSpan.Zero), ScanTime);
        var local = Authority("Europe/Berlin", new DateTimeOffset(2026, 12, 1, 15, 0, 0, TimeSpan.FromHours(1)), ScanTime);
        Assert.Equal(utc.DeadlineUtc, local.DeadlineUtc);
        Assert.Equal(TimeSpan.Zero, local.DeadlineUtc!.Value.Offset);
        Assert.Equal("Fri 4 Dec 2026 15:00 CET", local.DeadlineLocal);
    }

    [Fact]
    public void AwarenessAtTheEndOfTheCalendarDoesNotOverflow()
    {
        var item = Authority("UTC", DateTimeOffset.MaxValue.AddHours(-1), ScanTime);
        Assert.Null(item.DeadlineUtc);
        Assert.NotNull(item.DeadlineNote);
    }
}
