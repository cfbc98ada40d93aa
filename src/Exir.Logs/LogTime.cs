using System.Globalization;

namespace Exir.Logs;

/// <summary>Timestamp parsing for log fields. Everything is returned in UTC; unparseable values give null.</summary>
public static class LogTime
{
    /// <summary>ISO 8601 as Exchange writes it ("2021-03-03T05:12:33.123Z"); an offset is honoured, none means UTC.</summary>
    public static DateTimeOffset? ParseIso(ReadOnlySpan<char> s)
    {
        s = s.Trim();
        if (s.Length >= 19 && TryFast(s, 'T', out var fast)) return fast;
        if (s.Length >= 10 && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t))
            return t.ToUniversalTime();
        return null;
    }

    /// <summary>W3C "date" and "time" fields, which IIS writes in UTC.</summary>
    public static DateTimeOffset? ParseW3c(ReadOnlySpan<char> date, ReadOnlySpan<char> time)
    {
        date = date.Trim();
        time = time.Trim();
        if (date.Length != 10 || time.Length < 8) return null;
        Span<char> buf = stackalloc char[40];
        if (date.Length + 1 + time.Length > buf.Length) return null;
        date.CopyTo(buf);
        buf[10] = 'T';
        time.CopyTo(buf[11..]);
        return TryFast(buf[..(11 + time.Length)], 'T', out var t) ? t : null;
    }

    private static bool TryFast(ReadOnlySpan<char> s, char sep, out DateTimeOffset value)
    {
        value = default;
        if (s[4] != '-' || s[7] != '-' || (s[10] != sep && s[10] != ' ') || s[13] != ':' || s[16] != ':') return false;
        if (!Num(s, 0, 4, out int y) || !Num(s, 5, 2, out int mo) || !Num(s, 8, 2, out int d) ||
            !Num(s, 11, 2, out int h) || !Num(s, 14, 2, out int mi) || !Num(s, 17, 2, out int sec)) return false;
        if (y < 1601 || mo is < 1 or > 12 || d < 1 || d > DateTime.DaysInMonth(y, mo) || h > 23 || mi > 59 || sec > 59) return false;
        long ticks = 0;
        int i = 19;
        if (i < s.Length && s[i] == '.')
        {
            i++;
            long scale = TimeSpan.TicksPerSecond / 10;
            while (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                ticks += (s[i] - '0') * scale;
                scale /= 10;
                i++;
            }
        }
        var offset = TimeSpan.Zero;
        if (i < s.Length)
        {
            if (s[i] == 'Z' || s[i] == 'z') i++;
            else if ((s[i] == '+' || s[i] == '-') && s.Length >= i + 6 && Num(s, i + 1, 2, out int oh) && Num(s, i + 4, 2, out int om))
            {
                offset = new TimeSpan(oh, om, 0);
                if (s[i] == '-') offset = -offset;
                i += 6;
            }
            if (i != s.Length) return false;
        }
        var local = new DateTime(y, mo, d, h, mi, sec, DateTimeKind.Unspecified).AddTicks(ticks);
        value = new DateTimeOffset(local, offset).ToUniversalTime();
        return true;
    }

    private static bool Num(ReadOnlySpan<char> s, int start, int length, out int value)
    {
        value = 0;
        for (int i = start; i < start + length; i++)
        {
            char c = s[i];
            if (!char.IsAsciiDigit(c)) return false;
            value = value * 10 + (c - '0');
        }
        return true;
    }
}
