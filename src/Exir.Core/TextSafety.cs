using System.Text;

namespace Exir.Core;

/// <summary>
/// Evidence is attacker-controlled text. Each output neutralises what is dangerous in its medium:
/// terminal escape sequences on the console, formulas in spreadsheets, markup in HTML.
/// </summary>
public static class TextSafety
{
    /// <summary>Removes ANSI/VT escape sequences and control characters (keeps tab), so a log line cannot drive the terminal.</summary>
    /// <param name="keepNewlines">Keep line ends (for a multi-line report made of many values); every other control character goes.</param>
    public static string ForTerminal(string? text, bool keepNewlines = false)
    {
        if (string.IsNullOrEmpty(text)) return "";
        var sb = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\x1b' || c == '\x9b')
            {
                // Skip the whole sequence: ESC [ params final, ESC ] ... BEL/ST, or ESC + one char.
                if (c == '\x9b' || (i + 1 < text.Length && text[i + 1] == '['))
                {
                    i += c == '\x9b' ? 0 : 1;
                    while (i + 1 < text.Length && !(text[i + 1] >= '@' && text[i + 1] <= '~')) i++;
                    i++;
                }
                else if (i + 1 < text.Length && text[i + 1] == ']')
                {
                    i++;
                    while (i + 1 < text.Length && text[i + 1] != '\a' && text[i + 1] != '\x1b') i++;
                    i++;
                    if (i < text.Length && text[i] == '\x1b') i++;
                }
                else i++;
                sb.Append('\uFFFD');
                continue;
            }
            if (c == '\t') { sb.Append(' '); continue; }
            if (keepNewlines && c == '\n') { sb.Append(c); continue; }
            if (keepNewlines && c == '\r' && i + 1 < text.Length && text[i + 1] == '\n') continue;
            if (char.IsControl(c)) { sb.Append('\uFFFD'); continue; }
            // Bidirectional overrides can make a path read differently than it is.
            if (c is >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069') { sb.Append('\uFFFD'); continue; }
            sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>Spreadsheet formula injection: a cell starting with = + - @ tab or CR is prefixed with a quote.</summary>
    public static string ForCsvCell(string? text)
    {
        if (string.IsNullOrEmpty(text)) return "";
        char first = text[0];
        if (first is '=' or '+' or '-' or '@' or '\t' or '\r' or '\uFF1D' or '\uFF0B' or '\uFF0D' or '\uFF20')
            text = "'" + text;
        return text;
    }

    /// <summary>Replaces lone UTF-16 surrogates (damaged or hostile evidence) with U+FFFD: JSON and UTF-8 cannot carry them.</summary>
    public static string ReplaceLoneSurrogates(string s)
    {
        int i = s.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF');
        if (i < 0) return s;
        var chars = s.ToCharArray();
        for (; i < chars.Length; i++)
        {
            if (char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1])) { i++; continue; }
            if (char.IsSurrogate(chars[i])) chars[i] = '\uFFFD';
        }
        return new string(chars);
    }

    /// <summary>Caps long evidence for displays (the full text stays in JSONL).</summary>
    public static string Truncate(string text, int max) =>
        text.Length <= max ? text : string.Concat(text.AsSpan(0, max), $"... [{text.Length - max:N0} more chars]");
}
