using Exir.Text;

namespace Exir.Core;

/// <summary>
/// Evidence is attacker-controlled text. Each output neutralises what is dangerous in its medium:
/// terminal escape sequences on the console and in text files, formulas in spreadsheets, markup in HTML.
/// </summary>
public static class TextSafety
{
    /// <summary>
    /// For the console and plain-text outputs: every control character (C0, DEL, C1), bidirectional control, line
    /// separator and lone surrogate is shown as a visible escape (\x1b, \u202e, see <see cref="VisibleEscapes"/>), so
    /// a log line or file name cannot drive the terminal, fake a line or read differently than it is. Escape
    /// sequences are shown, not stripped: stripping would hide what they carried. The result is one line.
    /// </summary>
    /// <param name="keepNewlines">Keep line ends (LF, CR LF) for a multi-line report made of many values; a bare CR is still escaped.</param>
    public static string ForTerminal(string? text, bool keepNewlines = false)
    {
        if (string.IsNullOrEmpty(text)) return "";
        return VisibleEscapes.Escape(text, keepLineEnds: keepNewlines, keepTabs: false);
    }

    /// <summary>
    /// Spreadsheet formula injection: a cell starting with = + - @ tab or CR is prefixed with a quote. Control
    /// characters are escaped as in <see cref="ForTerminal"/>, except line ends and tabs, which a quoted CSV cell carries.
    /// </summary>
    public static string ForCsvCell(string? text)
    {
        if (string.IsNullOrEmpty(text)) return "";
        char first = text[0];
        if (first is '=' or '+' or '-' or '@' or '\t' or '\r' or '\uFF1D' or '\uFF0B' or '\uFF0D' or '\uFF20')
            text = "'" + text;
        return ForTextCell(text);
    }

    /// <summary>A cell of a machine-read table (no formula guard): only the control characters are escaped.</summary>
    public static string ForTextCell(string? text) =>
        string.IsNullOrEmpty(text) ? "" : VisibleEscapes.Escape(text, keepLineEnds: true, keepTabs: true);

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
