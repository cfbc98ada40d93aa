using System.Globalization;

namespace Exir.Case.Playbook;

/// <summary>
/// Writes deadlines for the reader in the case's IANA time zone. Deadlines are absolute times (awareness + 72 real
/// hours, whatever the clocks do at a DST change); only their display is local. Globalization is invariant in
/// exir, so names and patterns come from the playbook's formats, not from a culture. An unknown zone falls back
/// to UTC with a note, never an exception.
/// </summary>
public sealed class DeadlineClock
{
    private readonly IncidentPlaybook _playbook;
    private readonly TimeZoneInfo _zone;

    private DeadlineClock(IncidentPlaybook playbook, TimeZoneInfo zone, string zoneId, bool known)
    {
        _playbook = playbook;
        _zone = zone;
        ZoneId = zoneId;
        ZoneKnown = known;
    }

    /// <summary>The zone as the case names it.</summary>
    public string ZoneId { get; }
    /// <summary>False when the zone could not be found here and UTC is used instead.</summary>
    public bool ZoneKnown { get; }

    public static DeadlineClock For(IncidentPlaybook playbook, string? timeZoneId)
    {
        var id = string.IsNullOrWhiteSpace(timeZoneId) ? "UTC" : timeZoneId.Trim();
        if (id.Equals("UTC", StringComparison.OrdinalIgnoreCase)) return new DeadlineClock(playbook, TimeZoneInfo.Utc, "UTC", true);
        return CaseTimeZones.TryFind(id, out var zone)
            ? new DeadlineClock(playbook, zone, id, true)
            : new DeadlineClock(playbook, TimeZoneInfo.Utc, id, false);
    }

    /// <summary>Why the time is shown in UTC although the case names another zone; null when the zone is known.</summary>
    public string? Note(string language) => ZoneKnown ? null
        : _playbook.Texts["unknown_time_zone"].In(language).Replace("{zone}", ZoneId, StringComparison.Ordinal);

    /// <summary>The local wall-clock time of an instant in the case's zone.</summary>
    public DateTimeOffset Local(DateTimeOffset utc) => TimeZoneInfo.ConvertTime(utc, _zone);

    /// <summary>"Fri 4 Dec 2026 15:00 CET" / "Fr., 04.12.2026, 15:00 Uhr (MEZ)", by the playbook's format for the language.</summary>
    public string Format(DateTimeOffset utc, string language)
    {
        var f = _playbook.Formats[language];
        var local = Local(utc);
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["weekday"] = f.Weekdays[(int)local.DayOfWeek],
            ["month"] = f.Months[local.Month - 1],
            ["d"] = local.Day.ToString(CultureInfo.InvariantCulture),
            ["dd"] = local.Day.ToString("00", CultureInfo.InvariantCulture),
            ["MM"] = local.Month.ToString("00", CultureInfo.InvariantCulture),
            ["yyyy"] = local.Year.ToString("0000", CultureInfo.InvariantCulture),
            ["HH"] = local.Hour.ToString("00", CultureInfo.InvariantCulture),
            ["mm"] = local.Minute.ToString("00", CultureInfo.InvariantCulture),
            ["zone"] = ZoneAbbreviation(utc, language),
        };
        return Fill(f.Deadline, values);
    }

    /// <summary>CET/MEZ, CEST/MESZ, EST... from the playbook's table; else the offset ("UTC+05:30").</summary>
    public string ZoneAbbreviation(DateTimeOffset utc, string language)
    {
        if (ZoneKnown && _playbook.TimeZones.TryGetValue(ZoneId, out var names))
            return (_zone.IsDaylightSavingTime(utc) ? names.Daylight : names.Standard).In(language);
        var offset = _zone.GetUtcOffset(utc);
        if (offset == TimeSpan.Zero) return "UTC";
        return "UTC" + (offset < TimeSpan.Zero ? "\u2212" : "+") + offset.Duration().ToString(@"hh\:mm", CultureInfo.InvariantCulture);
    }

    /// <summary>"41 h 20 min left", "overdue by 2 d 3 h" / "noch 41 Std. 20 Min.", "seit 2 Tg. 3 Std. überschritten".</summary>
    public static string TimeLeftText(IncidentPlaybook playbook, TimeSpan left, string language)
    {
        var f = playbook.Formats[language];
        var span = left.Duration();
        // Days only when the hours would no longer be read at a glance; a 72-hour clock reads best in hours.
        string text = span >= TimeSpan.FromHours(48)
            ? $"{(int)span.TotalDays} {f.Days} {span.Hours} {f.Hours}"
            : $"{(int)span.TotalHours} {f.Hours} {span.Minutes} {f.Minutes}";
        return (left < TimeSpan.Zero ? f.Overdue : f.TimeLeft).Replace("{span}", text, StringComparison.Ordinal);
    }

    internal static string Fill(string pattern, IReadOnlyDictionary<string, string> values) =>
        PlaybookReader.Placeholder().Replace(pattern, m => values.TryGetValue(m.Groups[1].Value, out var v) ? v : m.Value);
}
