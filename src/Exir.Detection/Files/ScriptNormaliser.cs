using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Exir.Detection.Files;

/// <summary>
/// Server-script text with the cheap obfuscations undone, and for every byte the raw offset it came from (evidence
/// points at the file, not at this buffer).
/// </summary>
public sealed class NormalisedScript(byte[] text, int[] rawOffsets)
{
    public byte[] Text { get; } = text;
    /// <summary>For each byte of <see cref="Text"/>, the offset in the raw bytes of the source character that produced it.</summary>
    public int[] RawOffsets { get; } = rawOffsets;
    public int Length => Text.Length;
}

/// <summary>
/// Undoes the obfuscations that split a behaviour's words so byte rules miss them, for ASP.NET (C#, JScript, VB.NET)
/// and classic ASP (VBScript, JScript): comments removed, adjacent string literals joined (<c>"a" + "b"</c>,
/// <c>"a" &amp; "b"</c>, <c>String.Concat("a", "b")</c>), <c>Chr()/ChrW()/ChrB()</c>, <c>String.fromCharCode()</c>,
/// <c>(char)n</c> and <c>\x/\u</c> escapes decoded (with simple integer arithmetic inside), whitespace runs collapsed
/// (to one newline when the run held one, since VB ends statements there). One pass over tokens, linear in the
/// input, size-capped; hostile bytes never throw: whatever does not parse is copied as it is.
/// </summary>
public static class ScriptNormaliser
{
    /// <summary>Bigger inputs are not normalised (the raw scan still runs); web shells are small.</summary>
    public const int MaxInputBytes = 4 * 1024 * 1024;
    private const int MaxLiteral = 64 * 1024;

    /// <summary>Server script at all: ASP/ASP.NET markup or C#/VB source; binaries (MZ) are left to the raw scan.</summary>
    public static bool LooksLikeServerScript(ReadOnlySpan<byte> data)
    {
        if (data.Length < 4 || data.Length > MaxInputBytes) return false;
        if (data[0] == (byte)'M' && data[1] == (byte)'Z') return false;
        return data.IndexOf("<%"u8) >= 0 || IndexOfIgnoreCase(data, "runat"u8) >= 0 || IndexOfIgnoreCase(data, "using system"u8) >= 0;
    }

    /// <summary>The normalised text, or null when the input is too big or nothing changed (the raw scan covers it).</summary>
    public static NormalisedScript? Normalise(ReadOnlySpan<byte> data)
    {
        if (data.Length == 0 || data.Length > MaxInputBytes) return null;
        var w = new Writer(data.Length);
        bool vb = IsVisualBasic(data);
        new Lexer(data, vb, w).Run();
        var result = RequestReadsInlined(w.ToResult(), vb);
        return data.SequenceEqual(result.Text) ? null : result;
    }

    // x = Request("a") / Trim(Request.Form("a")) / string x = Request["a"]; one request read into a variable.
    private static readonly Regex RequestRead = new(
        @"(?:^|[^\w.])(?:(?:Dim|Set|string|var)\s+)?(?<name>[A-Za-z_]\w{0,40})\s*=\s*(?<value>(?:Trim\s*\(\s*)?(?:HttpContext\s*\.\s*Current\s*\.\s*)?Request\s*(?:\.\s*(?:Form|QueryString|Item|Params|Cookies)\s*)?[\(\[]\s*""[^""\r\n]{0,60}""\s*[\)\]](?:\s*\))?)",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.NonBacktracking | RegexOptions.Multiline);

    private static readonly Regex Assignment = new(
        @"(?:^|[^\w.])(?<name>[A-Za-z_]\w{0,40})\s*=(?:[^=]|$)",
        RegexOptions.CultureInvariant | RegexOptions.NonBacktracking | RegexOptions.Multiline);

    private const int MaxInlinedVariables = 64;

    /// <summary>
    /// A variable assigned once, from one request read, is replaced by that read where it is used later: rules see
    /// request data reach a sink (a file path, a connection, Execute) through a variable, the way a page passes it.
    /// Uses keep the raw offset of the variable's name; the text grows at most by the input size.
    /// </summary>
    private static NormalisedScript RequestReadsInlined(NormalisedScript n, bool vb)
    {
        var text = Encoding.Latin1.GetString(n.Text);
        var cmp = vb ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;
        var assigned = new Dictionary<string, int>(cmp);
        foreach (Match m in Assignment.Matches(text))
            assigned[m.Groups["name"].Value] = assigned.GetValueOrDefault(m.Groups["name"].Value) + 1;
        var reads = new Dictionary<string, (string Value, int End)>(cmp);
        foreach (Match m in RequestRead.Matches(text))
        {
            var name = m.Groups["name"].Value;
            if (assigned.GetValueOrDefault(name) == 1 && reads.Count < MaxInlinedVariables && !reads.ContainsKey(name))
                reads[name] = (m.Groups["value"].Value, m.Index + m.Length);
        }
        if (reads.Count == 0) return n;
        var bytes = new List<byte>(n.Length + 256);
        var offsets = new List<int>(n.Length + 256);
        int budget = n.Length, i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (c == '"')
            {
                // a literal is copied as it is: a parameter named like the variable ("path") stays a name
                int close = text.IndexOfAny(['"', '\n'], i + 1);
                int end = close < 0 ? text.Length : close + 1;
                for (; i < end; i++) { bytes.Add(n.Text[i]); offsets.Add(n.RawOffsets[i]); }
                continue;
            }
            if (!(char.IsAsciiLetter(c) || c == '_') || (i > 0 && (char.IsAsciiLetterOrDigit(text[i - 1]) || text[i - 1] is '_' or '.')))
            {
                bytes.Add(n.Text[i]); offsets.Add(n.RawOffsets[i]); i++;
                continue;
            }
            int start = i;
            while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] == '_')) i++;
            var word = text[start..i];
            // a use after the assignment, not the left side of another assignment, not a member name
            if (reads.TryGetValue(word, out var read) && start >= read.End && budget >= read.Value.Length
                && !(i < text.Length && text[i] == '('))
            {
                budget -= read.Value.Length;
                foreach (char v in read.Value) { bytes.Add((byte)v); offsets.Add(n.RawOffsets[start]); }
                continue;
            }
            for (int k = start; k < i; k++) { bytes.Add(n.Text[k]); offsets.Add(n.RawOffsets[k]); }
        }
        return new NormalisedScript([.. bytes], [.. offsets]);
    }

    /// <summary>VBScript/VB.NET by the page directive; else by VB-only statements; else C-like (C#, JScript).</summary>
    internal static bool IsVisualBasic(ReadOnlySpan<byte> data)
    {
        var head = data[..Math.Min(data.Length, 4096)];
        int lang = IndexOfIgnoreCase(head, "language"u8);
        if (lang >= 0)
        {
            var rest = head[(lang + 8)..];
            int i = 0;
            while (i < rest.Length && (rest[i] is (byte)' ' or (byte)'=' or (byte)'"' or (byte)'\'' or (byte)'\t')) i++;
            rest = rest[i..];
            if (StartsWithIgnoreCase(rest, "vb"u8)) return true;
            if (StartsWithIgnoreCase(rest, "c#"u8) || StartsWithIgnoreCase(rest, "cs"u8) || StartsWithIgnoreCase(rest, "j"u8)) return false;
        }
        // Classic ASP defaults to VBScript: statements only VB has decide.
        return IndexOfIgnoreCase(data, "end if"u8) >= 0 || IndexOfIgnoreCase(data, "end function"u8) >= 0 || IndexOfIgnoreCase(data, "end sub"u8) >= 0
               || IndexOfIgnoreCase(data, "\nDim "u8) >= 0 || IndexOfIgnoreCase(data, "response.write \""u8) >= 0;
    }

    private static bool StartsWithIgnoreCase(ReadOnlySpan<byte> s, ReadOnlySpan<byte> p) =>
        s.Length >= p.Length && Ascii.EqualsIgnoreCase(s[..p.Length], p);

    internal static int IndexOfIgnoreCase(ReadOnlySpan<byte> s, ReadOnlySpan<byte> p)
    {
        // Anchor on the first byte in either case, then compare: linear for the short needles used here.
        byte lo = (byte)char.ToLowerInvariant((char)p[0]), up = (byte)char.ToUpperInvariant((char)p[0]);
        int from = 0;
        while (from <= s.Length - p.Length)
        {
            int i = s[from..].IndexOfAny(lo, up);
            if (i < 0) return -1;
            i += from;
            if (i > s.Length - p.Length) return -1;
            if (Ascii.EqualsIgnoreCase(s.Slice(i, p.Length), p)) return i;
            from = i + 1;
        }
        return -1;
    }

    /// <summary>Output bytes with their raw offsets.</summary>
    private sealed class Writer(int capacity)
    {
        private readonly List<byte> _text = new(capacity);
        private readonly List<int> _offsets = new(capacity);

        public void Byte(byte b, int rawOffset) { _text.Add(b); _offsets.Add(rawOffset); }

        public void Bytes(ReadOnlySpan<byte> raw, int rawStart)
        {
            for (int i = 0; i < raw.Length; i++) Byte(raw[i], rawStart + i);
        }

        public void Literal(Literal lit)
        {
            Byte((byte)'"', lit.Start);
            for (int i = 0; i < lit.Chars.Count; i++) Char(lit.Chars[i].Value, lit.Chars[i].Offset);
            Byte((byte)'"', lit.End - 1);
        }

        public void Char(int c, int rawOffset)
        {
            if (c < 0x80) { Byte((byte)c, rawOffset); return; }
            Span<byte> utf8 = stackalloc byte[4];
            int n = new Rune(Rune.IsValid(c) ? c : 0xFFFD).EncodeToUtf8(utf8);
            for (int i = 0; i < n; i++) Byte(utf8[i], rawOffset);
        }

        public NormalisedScript ToResult() => new([.. _text], [.. _offsets]);
    }

    /// <summary>A decoded string literal (or a decoded Chr() call): its characters with their raw offsets and the raw span.</summary>
    private sealed class Literal(int start)
    {
        public int Start { get; set; } = start;
        public int End { get; set; } = start;
        public List<(int Value, int Offset)> Chars { get; } = [];
    }

    private ref struct Lexer(ReadOnlySpan<byte> s, bool vb, Writer w)
    {
        private readonly ReadOnlySpan<byte> _s = s;
        private int _pos;
        // VB comments (') only count inside server code: in markup an apostrophe is text.
        private bool _inCode = !vb;
        private Literal? _pending;   // last literal, not written yet: a join operator and another literal may follow
        private int _opPos = -1;     // after "literal": the join operator (+ or &) seen, if any
        private int _wsPos = -1;     // after "literal": whitespace seen (written back when nothing joins)
        private bool _wsNewline;
        private bool _noCommentEnd;
        // An unterminated literal ran to here: openers of the same quote before it fail the same way (no re-scan per opener).
        private int _failedDoubleEnd = -1, _failedSingleEnd = -1;

        public void Run()
        {
            while (_pos < _s.Length)
            {
                if (TryWhitespace()) continue;
                if (TryLineContinuation()) continue;
                if (TryComment()) continue;
                var lit = TryLiteral();
                if (lit is not null) { Offer(lit); continue; }
                if (_pending is not null && _opPos < 0 && TryJoinOperator()) continue;
                Flush();
                CopyOne();
            }
            Flush();
        }

        /// <summary>A literal after "literal op" joins it; otherwise the pending one is written and this one waits.</summary>
        private void Offer(Literal lit)
        {
            if (_pending is not null && _opPos >= 0)
            {
                _pending.Chars.AddRange(lit.Chars);
                _pending.End = lit.End;
                _opPos = _wsPos = -1;
                _wsNewline = false;
                return;
            }
            Flush();
            _pending = lit;
        }

        private void Flush()
        {
            if (_pending is null) return;
            w.Literal(_pending);
            if (_opPos >= 0)
            {
                // "literal +" not followed by a literal: the operator stays, spaced.
                w.Byte((byte)' ', _opPos);
                w.Byte(_s[_opPos], _opPos);
                w.Byte(_wsNewline ? (byte)'\n' : (byte)' ', _opPos);
            }
            else if (_wsPos >= 0) w.Byte(_wsNewline ? (byte)'\n' : (byte)' ', _wsPos);
            _pending = null;
            _opPos = _wsPos = -1;
            _wsNewline = false;
        }

        private bool TryJoinOperator()
        {
            byte c = _s[_pos];
            if (c != (byte)'+' && c != (byte)'&') return false;
            // "&&", "+=", "++" are other operators.
            if (_pos + 1 < _s.Length && _s[_pos + 1] is (byte)'&' or (byte)'=' or (byte)'+') return false;
            _opPos = _pos;
            _pos++;
            return true;
        }

        /// <summary>VB line continuation after a join operator: "a" &amp; _ (newline) "b".</summary>
        private bool TryLineContinuation()
        {
            if (!vb || _opPos < 0 || _s[_pos] != (byte)'_') return false;
            int p = _pos + 1;
            while (p < _s.Length && _s[p] is (byte)' ' or (byte)'\t') p++;
            if (p < _s.Length && _s[p] is not ((byte)'\r' or (byte)'\n')) return false;
            _pos = p;
            return true;
        }

        private bool TryWhitespace()
        {
            byte c = _s[_pos];
            if (c is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or (byte)'\f' or (byte)'\v')) return false;
            int start = _pos;
            bool newline = false;
            while (_pos < _s.Length && _s[_pos] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or (byte)'\f' or (byte)'\v')
            {
                newline |= _s[_pos] is (byte)'\n' or (byte)'\r';
                _pos++;
            }
            // After a literal the spacing waits (a join may follow); a newline before any operator ends a VB statement.
            if (_pending is not null && !(vb && newline && _opPos < 0))
            {
                if (_wsPos < 0) _wsPos = start;
                _wsNewline |= newline;
                return true;
            }
            Flush();
            w.Byte(newline ? (byte)'\n' : (byte)' ', start);
            return true;
        }

        private bool TryComment()
        {
            byte c = _s[_pos];
            if (Peek("<%"u8)) { Flush(); w.Bytes("<%"u8, _pos); _pos += 2; _inCode = true; return true; }
            if (Peek("%>"u8)) { Flush(); w.Bytes("%>"u8, _pos); _pos += 2; _inCode = !vb; return true; }
            if (vb)
            {
                if (!_inCode && c == (byte)'<' && IsServerScriptTag()) return false;
                if (_inCode && Peek("</script"u8, ignoreCase: true)) { _inCode = false; return false; }
                if (_inCode && (c == (byte)'\'' || (PeekWord("rem"u8) && (_pos == 0 || _s[_pos - 1] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)':'))))
                {
                    SkipToLineEndOrBlockEnd();
                    return true;
                }
                return false;
            }
            if (c == (byte)'/' && _pos + 1 < _s.Length)
            {
                if (_s[_pos + 1] == (byte)'/' && (_pos == 0 || _s[_pos - 1] != (byte)':'))
                {
                    SkipToLineEndOrBlockEnd();
                    return true;
                }
                if (_s[_pos + 1] == (byte)'*' && !_noCommentEnd)
                {
                    int end = _s[(_pos + 2)..].IndexOf("*/"u8);
                    // Remembered, so a page full of "/*" is not searched to its end once per opener.
                    if (end < 0) { _noCommentEnd = true; return false; }
                    _pos += 2 + end + 2;
                    return true;
                }
            }
            return false;
        }

        private bool IsServerScriptTag()
        {
            if (!Peek("<script"u8, ignoreCase: true)) return false;
            int close = _s.Slice(_pos, Math.Min(512, _s.Length - _pos)).IndexOf((byte)'>');
            if (close < 0) return false;
            if (IndexOfIgnoreCase(_s.Slice(_pos, close), "runat"u8) >= 0)
            {
                Flush();
                w.Bytes(_s.Slice(_pos, close + 1), _pos);
                _pos += close + 1;
                _inCode = true;
            }
            return false;
        }

        private void SkipToLineEndOrBlockEnd()
        {
            while (_pos < _s.Length && _s[_pos] is not ((byte)'\n' or (byte)'\r') && !Peek("%>"u8)) _pos++;
        }

        private readonly bool Peek(ReadOnlySpan<byte> p, bool ignoreCase = false) =>
            _pos + p.Length <= _s.Length && (ignoreCase ? Ascii.EqualsIgnoreCase(_s.Slice(_pos, p.Length), p) : _s.Slice(_pos, p.Length).SequenceEqual(p));

        private readonly bool PeekWord(ReadOnlySpan<byte> p) =>
            Peek(p, ignoreCase: true) && (_pos + p.Length >= _s.Length || !char.IsAsciiLetterOrDigit((char)_s[_pos + p.Length]));

        private void CopyOne()
        {
            // \uXXXX outside strings (JScript/C# identifiers: \u0065val) is decoded too.
            if (!vb && _s[_pos] == (byte)'\\' && _pos + 5 < _s.Length && _s[_pos + 1] == (byte)'u' && TryHex(_s.Slice(_pos + 2, 4), out int u))
            {
                w.Char(u, _pos);
                _pos += 6;
                return;
            }
            // An identifier is copied whole, so "xChr(" or "mystring.Concat" never start a decode mid-word.
            if (IsIdentByte(_s[_pos]))
            {
                int start = _pos;
                while (_pos < _s.Length && IsIdentByte(_s[_pos])) _pos++;
                w.Bytes(_s[start.._pos], start);
                return;
            }
            w.Byte(_s[_pos], _pos);
            _pos++;
        }

        private static bool IsIdentByte(byte b) => char.IsAsciiLetterOrDigit((char)b) || b == (byte)'_' || b >= 0x80;

        /// <summary>A string literal, a char literal, or a call that yields characters from numbers; null when none starts here.</summary>
        private Literal? TryLiteral()
        {
            byte c = _s[_pos];
            if (c == (byte)'"') return QuotedString(verbatim: vb);
            if (!vb && c == (byte)'@' && _pos + 1 < _s.Length && _s[_pos + 1] == (byte)'"')
            {
                int at = _pos++;
                var v = QuotedString(verbatim: true);
                if (v is null) _pos = at; else v.Start = at;
                return v;
            }
            if (!vb && c == (byte)'\'') return QuotedString(verbatim: false, quote: (byte)'\'');
            if (_pos > 0 && IsIdentByte(_s[_pos - 1])) return null;
            if (!IsIdentByte(c) && c != (byte)'(') return null;
            return CharCall();
        }

        /// <summary>"..." with C escapes, or VB/verbatim with doubled quotes; must close on the same line (else it is not one).</summary>
        private Literal? QuotedString(bool verbatim, byte quote = (byte)'"')
        {
            int start = _pos;
            if (start < (quote == (byte)'"' ? _failedDoubleEnd : _failedSingleEnd)) return null;
            var lit = new Literal(start);
            int i = _pos + 1;
            int limit = Math.Min(_s.Length, i + MaxLiteral);
            while (i < limit)
            {
                byte b = _s[i];
                if (b == quote)
                {
                    if (verbatim && i + 1 < _s.Length && _s[i + 1] == quote) { lit.Chars.Add((quote, i)); i += 2; continue; }
                    _pos = i + 1;
                    lit.End = _pos;
                    return lit;
                }
                if ((b == (byte)'\n' || b == (byte)'\r') && !(verbatim && !vb)) { Failed(quote, i); return null; }
                if (b == (byte)'\\' && !verbatim && i + 1 < limit)
                {
                    i = Escape(i, lit);
                    continue;
                }
                lit.Chars.Add((b, i));
                i++;
            }
            Failed(quote, i);
            return null;
        }

        private void Failed(byte quote, int at)
        {
            if (quote == (byte)'"') _failedDoubleEnd = at; else _failedSingleEnd = at;
        }

        /// <summary>One backslash escape at i; returns the index after it. Unknown escapes keep the character after the backslash.</summary>
        private readonly int Escape(int i, Literal lit)
        {
            byte e = _s[i + 1];
            switch (e)
            {
                case (byte)'x' when i + 3 < _s.Length && TryHexRun(i + 2, 4, out int x, out int xl) && xl >= 2:
                    lit.Chars.Add((x, i)); return i + 2 + xl;
                case (byte)'u' when i + 5 < _s.Length && TryHex(_s.Slice(i + 2, 4), out int u):
                    lit.Chars.Add((u, i)); return i + 6;
                case (byte)'n': lit.Chars.Add(('\n', i)); return i + 2;
                case (byte)'r': lit.Chars.Add(('\r', i)); return i + 2;
                case (byte)'t': lit.Chars.Add(('\t', i)); return i + 2;
                case (byte)'0' when i + 2 < _s.Length && !char.IsAsciiDigit((char)_s[i + 2]): lit.Chars.Add((0, i)); return i + 2;
                default: lit.Chars.Add((e, i)); return i + 2;
            }
        }

        /// <summary>C# \x takes 1 to 4 hex digits, JScript exactly 2: take up to <paramref name="max"/>, as C# reads them.</summary>
        private readonly bool TryHexRun(int from, int max, out int value, out int length)
        {
            value = 0; length = 0;
            while (length < max && from + length < _s.Length && char.IsAsciiHexDigit((char)_s[from + length]))
            {
                value = value * 16 + HexValue(_s[from + length]);
                length++;
            }
            // JScript's \xNN followed by a hex-looking letter would be read as 3-4 digits; two digits is the common case.
            if (length > 2 && value > 0xFF) { value >>= 4 * (length - 2); length = 2; }
            return length > 0;
        }

        private static int HexValue(byte b) => b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10;

        private static bool TryHex(ReadOnlySpan<byte> digits, out int value) =>
            int.TryParse(Encoding.ASCII.GetString(digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value)
            && digits.IndexOfAnyExcept("0123456789abcdefABCDEF"u8) < 0;

        /// <summary>
        /// Chr(n) ChrW(n) ChrB(n) String.fromCharCode(n, ...) Convert.ToChar(n) (char)n String.Concat("a", "b") StrReverse("a"), where
        /// every n is an integer expression of literals; anything else is left as it is.
        /// </summary>
        private Literal? CharCall()
        {
            int start = _pos;
            int nameLen = 0;
            bool concat = false, many = false, cast = false, reverse = false;
            foreach (var (name, kind) in CharCallNames)
            {
                if (_pos + name.Length <= _s.Length && Ascii.EqualsIgnoreCase(_s.Slice(_pos, name.Length), name))
                {
                    nameLen = name.Length;
                    concat = kind is CallKind.Concat or CallKind.Reverse;
                    reverse = kind == CallKind.Reverse;
                    many = kind == CallKind.ManyChars;
                    break;
                }
            }
            if (nameLen == 0 && !vb && Peek("(char)"u8)) { nameLen = 6; cast = true; }
            if (nameLen == 0) return null;
            int p = _pos + nameLen;
            if (!cast)
            {
                while (p < _s.Length && _s[p] is (byte)' ' or (byte)'\t') p++;
                if (p >= _s.Length || _s[p] != (byte)'(') return null;
                p++;
            }
            var lit = new Literal(start);
            while (true)
            {
                while (p < _s.Length && _s[p] is (byte)' ' or (byte)'\t') p++;
                if (concat)
                {
                    int save = _pos;
                    _pos = p;
                    var part = p < _s.Length && _s[p] == (byte)'"' ? QuotedString(verbatim: vb) : null;
                    int after = _pos;
                    _pos = save;
                    if (part is null) return null;
                    lit.Chars.AddRange(part.Chars);
                    p = after;
                }
                else
                {
                    if (!TryIntExpression(ref p, out long v) || v < 0 || v > 0x10FFFF) return null;
                    lit.Chars.Add(((int)v, start));
                    if (cast) { _pos = p; lit.End = p; return lit; }
                }
                while (p < _s.Length && _s[p] is (byte)' ' or (byte)'\t') p++;
                if (p < _s.Length && _s[p] == (byte)',' && (many || concat)) { p++; continue; }
                if (p < _s.Length && _s[p] == (byte)')') { p++; break; }
                return null;
            }
            _pos = p;
            lit.End = p;
            if (reverse) lit.Chars.Reverse();
            return lit;
        }

        private enum CallKind { Char, ManyChars, Concat, Reverse }

        private static readonly (byte[] Name, CallKind Kind)[] CharCallNames =
        [
            ("String.fromCharCode"u8.ToArray(), CallKind.ManyChars),
            ("String.Concat"u8.ToArray(), CallKind.Concat),
            ("StrReverse"u8.ToArray(), CallKind.Reverse),
            ("Convert.ToChar"u8.ToArray(), CallKind.Char),
            ("ChrW"u8.ToArray(), CallKind.Char),
            ("ChrB"u8.ToArray(), CallKind.Char),
            ("Chr"u8.ToArray(), CallKind.Char),
        ];

        /// <summary>n (op n)* with + - * and parentheses one level deep, integers in decimal, &amp;H hex, &amp;O octal or 0x hex.</summary>
        private readonly bool TryIntExpression(ref int p, out long value)
        {
            value = 0;
            if (!TryTerm(ref p, out value)) return false;
            for (int terms = 0; terms < 32; terms++)
            {
                int q = p;
                while (q < _s.Length && _s[q] is (byte)' ' or (byte)'\t') q++;
                if (q >= _s.Length || _s[q] is not ((byte)'+' or (byte)'-' or (byte)'*')) return true;
                byte op = _s[q];
                q++;
                while (q < _s.Length && _s[q] is (byte)' ' or (byte)'\t') q++;
                if (!TryTerm(ref q, out long rhs)) return true;
                value = op switch { (byte)'+' => value + rhs, (byte)'-' => value - rhs, _ => value * rhs };
                if (value is > 0x10FFFF or < -0x10FFFF) return false;
                p = q;
            }
            return true;
        }

        private readonly bool TryTerm(ref int p, out long value)
        {
            value = 0;
            if (p < _s.Length && _s[p] == (byte)'(')
            {
                int q = p + 1;
                while (q < _s.Length && _s[q] is (byte)' ' or (byte)'\t') q++;
                if (!TryNumber(ref q, out value)) return false;
                for (int terms = 0; terms < 32; terms++)
                {
                    while (q < _s.Length && _s[q] is (byte)' ' or (byte)'\t') q++;
                    if (q < _s.Length && _s[q] == (byte)')') { p = q + 1; return true; }
                    if (q >= _s.Length || _s[q] is not ((byte)'+' or (byte)'-' or (byte)'*')) return false;
                    byte op = _s[q++];
                    while (q < _s.Length && _s[q] is (byte)' ' or (byte)'\t') q++;
                    if (!TryNumber(ref q, out long rhs)) return false;
                    value = op switch { (byte)'+' => value + rhs, (byte)'-' => value - rhs, _ => value * rhs };
                    if (value is > 0x10FFFF or < -0x10FFFF) return false;
                }
                return false;
            }
            return TryNumber(ref p, out value);
        }

        private readonly bool TryNumber(ref int p, out long value)
        {
            value = 0;
            int radix = 10, q = p;
            if (q + 1 < _s.Length && _s[q] == (byte)'&' && (_s[q + 1] | 0x20) == 'h') { radix = 16; q += 2; }
            else if (q + 1 < _s.Length && _s[q] == (byte)'&' && ((_s[q + 1] | 0x20) == 'o' || char.IsAsciiDigit((char)_s[q + 1]))) { radix = 8; q += (_s[q + 1] | 0x20) == 'o' ? 2 : 1; }
            else if (q + 1 < _s.Length && _s[q] == (byte)'0' && (_s[q + 1] | 0x20) == 'x') { radix = 16; q += 2; }
            int digits = 0;
            while (q < _s.Length && digits < 8)
            {
                byte b = _s[q];
                int d = char.IsAsciiDigit((char)b) ? b - '0' : char.IsAsciiHexDigit((char)b) && radix == 16 ? HexValue(b) : -1;
                if (d < 0 || d >= radix) break;
                value = value * radix + d;
                q++; digits++;
            }
            if (digits == 0) return false;
            p = q;
            return true;
        }
    }
}
