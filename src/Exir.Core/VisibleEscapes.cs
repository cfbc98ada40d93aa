using System.Buffers;
using System.Globalization;
using System.Text;

namespace Exir.Text;

/// <summary>
/// The one rule for characters of hostile text that no output may carry raw: C0 controls (ESC, BEL, NUL, CR...),
/// DEL, C1 controls (U+009B is a one-character CSI), bidirectional controls (U+202A..U+202E, U+2066..U+2069,
/// U+200E, U+200F, U+061C: they make a path read differently than it is), the line and paragraph separators,
/// and lone UTF-16 surrogates. Each is shown as a visible escape, like Python's repr: \x1b, \r, \u202e, \udc80.
/// Nothing is dropped, so an analyst sees what the intruder wrote and no terminal obeys it.
/// </summary>
/// <remarks>
/// Compiled into Exir.Core (behind <c>TextSafety</c>) and, as a linked source file, into the standalone
/// Exir.Evtx reader (its XML writer), so every output applies the same rule. A backslash is not itself
/// escaped: Windows paths stay readable, at the price that a literal "\x1b" in a name looks like an escape.
/// </remarks>
internal static class VisibleEscapes
{
    /// <summary>Every character that may need an escape (surrogates are escaped only when unpaired).</summary>
    public static readonly SearchValues<char> Candidates = SearchValues.Create(CandidateChars());

    private static string CandidateChars()
    {
        var sb = new StringBuilder();
        for (char c = '\0'; c < ' '; c++) sb.Append(c);
        for (char c = '\x7F'; c <= '\x9F'; c++) sb.Append(c);
        sb.Append("\u061C\u200E\u200F\u2028\u2029\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069");
        for (char c = '\uD800'; c <= '\uDFFF'; c++) sb.Append(c);
        return sb.ToString();
    }

    /// <summary>A character of <see cref="Candidates"/> (cheap inline test for short strings).</summary>
    public static bool IsCandidate(char c) => c < ' ' || (c >= '\x7F' && IsCandidateAbove7E(c));

    private static bool IsCandidateAbove7E(char c) =>
        c <= '\x9F' || c is '\u061C' or '\u200E' or '\u200F' or '\u2028' or '\u2029' or >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069'
        || char.IsSurrogate(c);

    /// <summary>Appends <paramref name="s"/> with every unsafe character escaped; line ends (LF, CR LF) and tabs are kept when asked.</summary>
    public static void Append(StringBuilder sb, ReadOnlySpan<char> s, bool keepLineEnds, bool keepTabs)
    {
        while (true)
        {
            int i = s.IndexOfAny(Candidates);
            if (i < 0) { sb.Append(s); return; }
            sb.Append(s[..i]);
            char c = s[i];
            int used = 1;
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { sb.Append(s.Slice(i, 2)); used = 2; }
            else if (keepLineEnds && c == '\n') sb.Append('\n');
            else if (keepLineEnds && c == '\r' && i + 1 < s.Length && s[i + 1] == '\n') { sb.Append("\r\n"); used = 2; }
            else if (keepTabs && c == '\t') sb.Append('\t');
            else AppendEscape(sb, c);
            s = s[(i + used)..];
        }
    }

    /// <summary>The text with every unsafe character escaped (the same string when there is none).</summary>
    public static string Escape(string s, bool keepLineEnds, bool keepTabs)
    {
        if (!NeedsEscape(s, keepLineEnds, keepTabs)) return s;
        var sb = new StringBuilder(s.Length + 16);
        Append(sb, s, keepLineEnds, keepTabs);
        return sb.ToString();
    }

    private static bool NeedsEscape(ReadOnlySpan<char> s, bool keepLineEnds, bool keepTabs)
    {
        while (true)
        {
            int i = s.IndexOfAny(Candidates);
            if (i < 0) return false;
            char c = s[i];
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { s = s[(i + 2)..]; continue; }
            if (keepLineEnds && c == '\n') { s = s[(i + 1)..]; continue; }
            if (keepLineEnds && c == '\r' && i + 1 < s.Length && s[i + 1] == '\n') { s = s[(i + 2)..]; continue; }
            if (keepTabs && c == '\t') { s = s[(i + 1)..]; continue; }
            return true;
        }
    }

    /// <summary>One character as its visible escape: \t \n \r, \xHH up to U+00FF, else \uHHHH.</summary>
    public static void AppendEscape(StringBuilder sb, char c)
    {
        switch (c)
        {
            case '\t': sb.Append("\\t"); return;
            case '\n': sb.Append("\\n"); return;
            case '\r': sb.Append("\\r"); return;
        }
        if (c <= '\xFF') sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
        else sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
    }
}
