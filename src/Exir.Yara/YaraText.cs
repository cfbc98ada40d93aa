using System.Globalization;
using System.Text;

namespace Exir.Yara;

/// <summary>Formats matches exactly like the yara command line tool (4.2), so outputs can be compared.</summary>
public static class YaraText
{
    /// <summary>"RULE PATH" and, with <paramref name="printStrings"/>, one "0x&lt;offset&gt;:$id: &lt;data&gt;" line per string match.</summary>
    public static void AppendMatch(StringBuilder sb, YaraMatch match, string path, bool printStrings)
    {
        sb.Append(match.Rule.Name).Append(' ').Append(path).Append('\n');
        if (!printStrings) return;
        foreach (var s in match.Strings)
        {
            sb.Append("0x").Append(s.Offset.ToString("x", CultureInfo.InvariantCulture)).Append(':').Append(s.Identifier).Append(": ");
            AppendData(sb, s);
            sb.Append('\n');
        }
    }

    /// <summary>Hex strings as spaced hex bytes (at most 64, then " ..."); other strings as text with \xHH escapes.</summary>
    public static void AppendData(StringBuilder sb, YaraStringMatch s)
    {
        var d = s.Data.Span;
        if (s.IsHex)
        {
            for (int i = 0; i < Math.Min(64, d.Length); i++)
            {
                if (i > 0) sb.Append(' ');
                sb.Append(d[i].ToString("X2", CultureInfo.InvariantCulture));
            }
            if (d.Length > 64) sb.Append(" ...");
            return;
        }
        foreach (var b in d)
        {
            if (b >= 0x20 && b < 0x7F) sb.Append((char)b);
            else sb.Append("\\x").Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
    }
}
