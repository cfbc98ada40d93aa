using System.Globalization;

namespace Exir.Core;

/// <summary>
/// The one reading of a time given on the command line (--since, --until, --as-of): UTC, ISO 8601. A bare date
/// means the start of that day for a lower bound and its last tick for an upper bound, so "--until 2021-03-03"
/// keeps everything that happened on the 3rd.
/// </summary>
public static class UtcTime
{
    /// <summary>Null for null or blank text; throws <see cref="FormatException"/> naming the option for anything else that is not a time.</summary>
    public static DateTimeOffset? Parse(string? text, string option, bool upperBound = false)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        text = text.Trim();
        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            var start = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            return upperBound ? start.AddDays(1).AddTicks(-1) : start;
        }
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t))
            return t;
        throw new FormatException($"{option}: cannot read '{text}' as a UTC date or time (use 2021-03-02 or 2021-03-02T10:00:00Z)");
    }
}
