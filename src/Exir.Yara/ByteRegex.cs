using System.Text;
using System.Text.RegularExpressions;

namespace Exir.Yara;

/// <summary>A set of byte values (one regex "character").</summary>
internal sealed class ByteSet
{
    public readonly ulong[] Bits = new ulong[4];
    public void Add(int b) => Bits[b >> 6] |= 1UL << (b & 63);
    public void AddRange(int lo, int hi) { for (int b = lo; b <= hi; b++) Add(b); }
    public bool Has(int b) => (Bits[b >> 6] & (1UL << (b & 63))) != 0;
    public int Count => System.Numerics.BitOperations.PopCount(Bits[0]) + System.Numerics.BitOperations.PopCount(Bits[1])
                        + System.Numerics.BitOperations.PopCount(Bits[2]) + System.Numerics.BitOperations.PopCount(Bits[3]);
    public void Union(ByteSet o) { for (int i = 0; i < 4; i++) Bits[i] |= o.Bits[i]; }
    public void Invert() { for (int i = 0; i < 4; i++) Bits[i] = ~Bits[i]; }
    public int First() { for (int b = 0; b < 256; b++) if (Has(b)) return b; return -1; }
    public static ByteSet Of(int b) { var s = new ByteSet(); s.Add(b); return s; }
    public static ByteSet All() { var s = new ByteSet(); s.Invert(); return s; }

    /// <summary>Adds the other ASCII case of every letter (yara's nocase is ASCII-only).</summary>
    public void FoldCase()
    {
        for (int b = 'a'; b <= 'z'; b++)
        {
            if (Has(b)) Add(b - 32);
            else if (Has(b - 32)) Add(b);
        }
    }
}

internal abstract class RNode;
internal sealed class RSet(ByteSet set) : RNode { public ByteSet Set = set; }
internal sealed class RConcat(List<RNode> items) : RNode { public readonly List<RNode> Items = items; }
internal sealed class RAlt(List<RNode> branches) : RNode { public readonly List<RNode> Branches = branches; }
internal sealed class RRepeat(RNode body, int min, int max, bool lazy) : RNode
{
    public readonly RNode Body = body; public readonly int Min = min; public readonly int Max = max; public readonly bool Lazy = lazy;
}
internal enum AnchorKind { Start, End, WordBoundary, NotWordBoundary }
internal sealed class RAnchor(AnchorKind kind) : RNode { public readonly AnchorKind Kind = kind; }

internal sealed class RegexSyntaxException(string message) : Exception(message);

/// <summary>
/// How much matching one regex or hex string may do on one file: until a point in time (its share of time, or the
/// scan's time limit, whichever comes first) and up to yara's 1,000,000 matches per string. Once spent, the search of
/// the string stops; what was found stands and the string is reported as not searched fully.
/// </summary>
internal sealed class MatchBudget(long stopAt, long deadline)
{
    /// <summary>yara's YR_MAX_STRING_MATCHES.</summary>
    public const int MaxMatches = 1_000_000;

    public static MatchBudget Unlimited() => new(long.MaxValue, long.MaxValue);

    /// <summary>Why the search stopped early, or null.</summary>
    public string? Stopped { get; private set; }
    /// <summary>The scan's time limit (not this string's share) was reached.</summary>
    public bool HitDeadline { get; private set; }

    private long _calls;

    public bool Spent(List<(long Offset, int Length)> sink)
    {
        if (Stopped is not null) return true;
        if (sink.Count >= MaxMatches) { Stopped = $"more than {MaxMatches:N0} matches, the rest not recorded"; return true; }
        // Called per start position: read the clock every 64th call (each call is bounded work, so the budgets
        // overrun by microseconds at most) instead of paying for it millions of times per file.
        if ((++_calls & 63) != 1) return false;
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        if (now > deadline) { HitDeadline = true; Stopped = "search cut short by the scan's time limit"; }
        else if (now > stopAt) Stopped = "search stopped after its time budget on this file";
        return Stopped is not null;
    }

    public void CallTimedOut() => Stopped ??= $"one match attempt took over {ByteRegex.CallTimeout.TotalSeconds:0} s, search stopped";
}

/// <summary>Parses YARA regular expressions and hex strings into one byte-level AST.</summary>
internal static class YaraRegexParser
{
    /// <param name="unknownEscape">Told of each escape yara does not define (\\c, \\v ...): it stands for the character itself.</param>
    public static RNode ParseRegex(string pattern, bool dotAll, bool nocase = false, Action<char>? unknownEscape = null)
    {
        // The pattern text came from a UTF-8 rule file: non-ASCII characters stand for their UTF-8 bytes.
        var p = new RegexReader(pattern, dotAll, nocase, unknownEscape);
        var node = p.ParseAlt();
        if (!p.AtEnd) throw new RegexSyntaxException($"unexpected '{p.Peek}' in regular expression");
        return node;
    }

    private sealed class RegexReader(string src, bool dotAll, bool nocase, Action<char>? unknownEscape)
    {
        private int _pos;
        private int _depth;
        public bool AtEnd => _pos >= src.Length;
        public char Peek => src[_pos];

        public RNode ParseAlt()
        {
            var branches = new List<RNode> { ParseConcat() };
            // yara's grammar allows an empty alternative after '|' ("a|", "a||b") but not before the first one.
            if (!AtEnd && Peek == '|' && branches[0] is RConcat { Items.Count: 0 }) throw new RegexSyntaxException("empty alternative before '|'");
            while (!AtEnd && Peek == '|') { _pos++; branches.Add(ParseConcat()); }
            return branches.Count == 1 ? branches[0] : new RAlt(branches);
        }

        private RNode ParseConcat()
        {
            var items = new List<RNode>();
            while (!AtEnd && Peek != '|' && Peek != ')')
            {
                var atom = ParseAtom(items);
                if (atom is null) continue;
                items.Add(ParseQuantifiers(atom));
            }
            return items.Count == 1 ? items[0] : new RConcat(items);
        }

        private RNode ParseQuantifiers(RNode atom)
        {
            while (!AtEnd)
            {
                int min, max;
                char c = Peek;
                if (c == '*') { min = 0; max = -1; _pos++; }
                else if (c == '+') { min = 1; max = -1; _pos++; }
                else if (c == '?') { min = 0; max = 1; _pos++; }
                else if (c == '{' && TryBraces(out min, out max)) { }
                else break;
                if (atom is RAnchor) throw new RegexSyntaxException("quantifier after anchor");
                if (atom is RRepeat { Body: RRepeat }) throw new RegexSyntaxException("too many stacked quantifiers");
                bool lazy = false;
                if (!AtEnd && Peek == '?') { lazy = true; _pos++; }
                atom = new RRepeat(atom, min, max, lazy);
            }
            return atom;
        }

        private bool TryBraces(out int min, out int max)
        {
            min = 0; max = -1;
            int save = _pos;
            _pos++;
            // yara 4.3+ allows spaces inside the braces ("{2, 3}").
            SkipSpaces();
            int s = _pos;
            while (!AtEnd && char.IsAsciiDigit(Peek)) _pos++;
            bool hasMin = _pos > s;
            if (hasMin) min = Bound(s);
            SkipSpaces();
            if (!AtEnd && Peek == '}')
            {
                if (!hasMin) { _pos = save; return false; }
                _pos++; max = min; return true;
            }
            if (AtEnd || Peek != ',') { _pos = save; return false; }
            _pos++;
            SkipSpaces();
            s = _pos;
            while (!AtEnd && char.IsAsciiDigit(Peek)) _pos++;
            bool hasMax = _pos > s;
            if (hasMax) max = Bound(s);
            SkipSpaces();
            if (AtEnd || Peek != '}' || (!hasMin && !hasMax)) { _pos = save; return false; }
            _pos++;
            if (hasMax && max < min) throw new RegexSyntaxException("bad repeat interval");
            if (min > 32767 || max > 32767) throw new RegexSyntaxException("repeat interval too large");
            return true;
        }

        private void SkipSpaces() { while (!AtEnd && Peek == ' ') _pos++; }

        private int Bound(int start)
            => int.TryParse(src.AsSpan(start, _pos - start), out var n) ? n : throw new RegexSyntaxException("repeat interval too large");

        private RNode? ParseAtom(List<RNode> items)
        {
            char c = Peek;
            switch (c)
            {
                case '(':
                {
                    _pos++;
                    if (!AtEnd && Peek == '?') throw new RegexSyntaxException("'(?' groups are not YARA syntax");
                    if (++_depth > 100) throw new RegexSyntaxException("regular expression nested too deeply");
                    var inner = ParseAlt();
                    _depth--;
                    if (AtEnd || Peek != ')') throw new RegexSyntaxException("missing ')'");
                    _pos++;
                    return inner;
                }
                case '[': _pos++; return new RSet(ParseClass());
                case '.':
                {
                    _pos++;
                    var s = ByteSet.All();
                    if (!dotAll) s.Bits[0] &= ~(1UL << 10);
                    return new RSet(s);
                }
                case '^': _pos++; return new RAnchor(AnchorKind.Start);
                case '$': _pos++; return new RAnchor(AnchorKind.End);
                case '*' or '+' or '?': throw new RegexSyntaxException($"nothing to repeat before '{c}'");
                case '\\':
                {
                    _pos++;
                    if (AtEnd) throw new RegexSyntaxException("trailing backslash");
                    char e = src[_pos];
                    if (e == 'b') { _pos++; return new RAnchor(AnchorKind.WordBoundary); }
                    if (e == 'B') { _pos++; return new RAnchor(AnchorKind.NotWordBoundary); }
                    return new RSet(Folded(ParseEscape()));
                }
                default:
                    return Literal(items);
            }
        }

        private RNode Literal(List<RNode> items)
        {
            char c = src[_pos];
            if (c < 0x80) { _pos++; return new RSet(Folded(ByteSet.Of(c))); }
            int len = char.IsSurrogate(c) && _pos + 1 < src.Length ? 2 : 1;
            var bytes = Encoding.UTF8.GetBytes(src.Substring(_pos, len));
            _pos += len;
            // All but the last byte are plain concatenated items; the last one takes any quantifier.
            for (int i = 0; i < bytes.Length - 1; i++) items.Add(new RSet(ByteSet.Of(bytes[i])));
            return new RSet(ByteSet.Of(bytes[^1]));
        }

        // After the backslash.
        private ByteSet ParseEscape()
        {
            char e = src[_pos++];
            var s = new ByteSet();
            switch (e)
            {
                case 'w': AddWord(s); break;
                case 'W': AddWord(s); s.Invert(); break;
                case 's': AddSpace(s); break;
                case 'S': AddSpace(s); s.Invert(); break;
                case 'd': s.AddRange('0', '9'); break;
                case 'D': s.AddRange('0', '9'); s.Invert(); break;
                case 'n': s.Add(10); break;
                case 't': s.Add(9); break;
                case 'r': s.Add(13); break;
                case 'f': s.Add(12); break;
                case 'a': s.Add(7); break;
                case 'x':
                    if (_pos + 1 >= src.Length || !char.IsAsciiHexDigit(src[_pos]) || !char.IsAsciiHexDigit(src[_pos + 1]))
                        throw new RegexSyntaxException("illegal escape sequence \\x");
                    s.Add(Convert.ToInt32(src.Substring(_pos, 2), 16));
                    _pos += 2;
                    break;
                default:
                    if (e >= 0x80) throw new RegexSyntaxException("non-ASCII escape");
                    // Any other escaped character is itself (yara: "\\v" is "v"); only metacharacters are meant to be escaped.
                    if (!@"\^$.|?*+()[]{}/-""".Contains(e)) unknownEscape?.Invoke(e);
                    s.Add(e);
                    break;
            }
            return s;
        }

        private ByteSet ParseClass()
        {
            var set = new ByteSet();
            bool negate = false;
            if (!AtEnd && Peek == '^') { negate = true; _pos++; }
            bool first = true;
            while (true)
            {
                if (AtEnd) throw new RegexSyntaxException("missing ']'");
                char c = Peek;
                if (c == ']' && !first) { _pos++; break; }
                first = false;
                int lo = ClassChar(set, out bool isClass);
                if (isClass) continue;
                if (_pos + 1 < src.Length && Peek == '-' && src[_pos + 1] != ']')
                {
                    _pos++;
                    int hi = ClassChar(set, out bool hiClass);
                    if (hiClass) { set.Add(lo); set.Add('-'); continue; }
                    if (hi < lo) throw new RegexSyntaxException("bad character range");
                    set.AddRange(lo, hi);
                }
                else set.Add(lo);
            }
            // Case folding applies to the members before negation: /[^a]/i excludes 'A' too.
            Folded(set);
            if (negate) set.Invert();
            return set;
        }

        private ByteSet Folded(ByteSet s)
        {
            if (nocase) s.FoldCase();
            return s;
        }

        // Reads one class member; for \w-like escapes adds to set and reports isClass.
        private int ClassChar(ByteSet set, out bool isClass)
        {
            isClass = false;
            char c = src[_pos];
            if (c == '\\')
            {
                _pos++;
                if (AtEnd) throw new RegexSyntaxException("trailing backslash");
                char e = src[_pos];
                if (e is 'w' or 'W' or 's' or 'S' or 'd' or 'D')
                {
                    set.Union(ParseEscape());
                    isClass = true;
                    return 0;
                }
                var s = ParseEscape();
                return s.First();
            }
            if (c >= 0x80)
            {
                // Multi-byte UTF-8 in a class: add every byte (yara works on bytes too).
                int len = char.IsSurrogate(c) && _pos + 1 < src.Length ? 2 : 1;
                var bytes = Encoding.UTF8.GetBytes(src.Substring(_pos, len));
                _pos += len;
                for (int i = 0; i < bytes.Length - 1; i++) set.Add(bytes[i]);
                return bytes[^1];
            }
            _pos++;
            return c;
        }
    }

    private static void AddWord(ByteSet s) { s.AddRange('a', 'z'); s.AddRange('A', 'Z'); s.AddRange('0', '9'); s.Add('_'); }
    private static void AddSpace(ByteSet s) { s.Add(' '); s.Add('\t'); s.Add('\n'); s.Add('\r'); s.Add(11); s.Add(12); }

    /// <summary>Parses the inside of a hex string: bytes, ?? and nibble wildcards, [n-m] jumps, (a|b) alternatives.</summary>
    public static RNode ParseHex(string text)
    {
        int pos = 0;
        var node = HexAlt(text, ref pos, depth: 0);
        SkipWs(text, ref pos);
        if (pos < text.Length) throw new RegexSyntaxException($"unexpected '{text[pos]}' in hex string");
        if (node is RConcat c && c.Items.Count > 0 && (c.Items[0] is RRepeat || c.Items[^1] is RRepeat))
            throw new RegexSyntaxException("hex string cannot start or end with a jump");
        return node;
    }

    private static void SkipWs(string t, ref int pos) { while (pos < t.Length && char.IsWhiteSpace(t[pos])) pos++; }

    private static RNode HexAlt(string t, ref int pos, int depth)
    {
        var branches = new List<RNode> { HexConcat(t, ref pos, depth) };
        SkipWs(t, ref pos);
        while (pos < t.Length && t[pos] == '|')
        {
            if (depth == 0) throw new RegexSyntaxException("alternative outside parentheses in hex string");
            pos++;
            branches.Add(HexConcat(t, ref pos, depth));
            SkipWs(t, ref pos);
        }
        return branches.Count == 1 ? branches[0] : new RAlt(branches);
    }

    private static RNode HexConcat(string t, ref int pos, int depth)
    {
        var items = new List<RNode>();
        while (true)
        {
            SkipWs(t, ref pos);
            if (pos >= t.Length || t[pos] is '|' or ')') break;
            char c = t[pos];
            if (c == '(')
            {
                pos++;
                if (depth >= 100) throw new RegexSyntaxException("hex string nested too deeply");
                items.Add(HexAlt(t, ref pos, depth + 1));
                SkipWs(t, ref pos);
                if (pos >= t.Length || t[pos] != ')') throw new RegexSyntaxException("missing ')' in hex string");
                pos++;
                continue;
            }
            if (c == '[')
            {
                int end = t.IndexOf(']', pos);
                if (end < 0) throw new RegexSyntaxException("missing ']' in hex string");
                var body = t.Substring(pos + 1, end - pos - 1).Replace(" ", "");
                pos = end + 1;
                int min, max;
                int dash = body.IndexOf('-');
                if (dash < 0)
                {
                    if (!int.TryParse(body, out min)) throw new RegexSyntaxException("bad jump");
                    if (min <= 0) throw new RegexSyntaxException($"invalid jump length [{body}]");
                    max = min;
                }
                else
                {
                    var a = body[..dash]; var b = body[(dash + 1)..];
                    min = a.Length == 0 ? 0 : int.TryParse(a, out var x) ? x : throw new RegexSyntaxException("bad jump");
                    max = b.Length == 0 ? -1 : int.TryParse(b, out var y) ? y : throw new RegexSyntaxException("bad jump");
                    if (max >= 0 && max < min) throw new RegexSyntaxException("bad jump range");
                    if (max < 0 && depth > 0) throw new RegexSyntaxException("unbounded jump inside an alternative");
                }
                // yara jumps are non-greedy.
                items.Add(new RRepeat(new RSet(ByteSet.All()), min, max, lazy: true));
                continue;
            }
            // "~XX": any byte but these (yara 4.3); "~?X" / "~X?" any byte whose nibble differs.
            bool negate = c == '~';
            if (negate) pos++;
            if (pos + 1 >= t.Length) throw new RegexSyntaxException(negate ? "'~' needs a byte after it" : "odd number of hex digits");
            char hi = t[pos], lo = t[pos + 1];
            pos += 2;
            int h = Nibble(hi), l = Nibble(lo);
            if (negate && h < 0 && l < 0) throw new RegexSyntaxException("'~??' matches nothing");
            var set = new ByteSet();
            for (int b = 0; b < 256; b++)
                if ((h < 0 || h == b >> 4) && (l < 0 || l == (b & 15))) set.Add(b);
            if (negate) set.Invert();
            items.Add(new RSet(set));
        }
        if (items.Count == 0) throw new RegexSyntaxException("empty hex string or alternative");
        return items.Count == 1 ? items[0] : new RConcat(items);
    }

    // -1 for the '?' wildcard.
    private static int Nibble(char c)
    {
        if (c == '?') return -1;
        if (!char.IsAsciiHexDigit(c)) throw new RegexSyntaxException($"invalid hex digit '{c}'");
        return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    }
}

/// <summary>
/// A compiled byte-level regex (from a YARA regex or hex string) run with .NET's NonBacktracking engine
/// over a char view of the data: bytes below 0x80 map to themselves, bytes 0x80-0xFF to U+2580..U+25FF
/// (non-word symbols, so \b keeps yara's ASCII-only word definition), and in wide views a UTF-16 unit whose
/// high byte is not zero becomes U+2600, which no emitted class contains.
/// </summary>
internal sealed class ByteRegex
{
    public const char Dead = '\u2600';
    public static char CharOf(byte b) => b < 0x80 ? (char)b : (char)(0x2580 + b - 0x80);

    // yara stops a regex match after this many bytes.
    public const int ScanLimit = 4096;

    private readonly string _pattern;
    private readonly bool _risky;
    private readonly Lazy<Regex> _find;
    private readonly Lazy<Regex> _anchored;
    private readonly Lazy<Regex> _at;
    // Risky regexes at a known start > 0: the automaton anchored one character before it (that character is
    // context for \b and keeps ^ from matching), so a failed check stops as soon as the automaton dies instead of
    // searching on for a later match.
    private readonly Lazy<Regex> _afterOne;
    public readonly RNode Root;
    // Longest possible match in characters, or -1 when unbounded (or beyond the scan limit).
    private readonly int _maxWidth;

    public ByteRegex(RNode root)
    {
        Root = root;
        _maxWidth = Atoms.Width(root).Max;
        var sb = new StringBuilder();
        Emit(root, sb);
        _pattern = sb.ToString();
        // Nested repetition, or several repetitions in a row (e.g. [\t ]{0,300}(x)?[\t ]{0,300}), can make a
        // backtracking engine explode on hostile input.
        _risky = Risky(root, inLoop: false) || CountLoops(root) >= 2;
        _find = new Lazy<Regex>(() => Safe(_pattern), LazyThreadSafetyMode.ExecutionAndPublication);
        _anchored = new Lazy<Regex>(() => Safe(@"\A(?:" + _pattern + ")"), LazyThreadSafetyMode.ExecutionAndPublication);
        // Verification at a known start: the cheap-to-build backtracking interpreter, unless nested repetition
        // could make it explode; then the automaton (which cannot anchor with \G) is used and checked for the start.
        _at = new Lazy<Regex>(() => _risky ? _find.Value : Backtracking(@"\G(?:" + _pattern + ")"), LazyThreadSafetyMode.ExecutionAndPublication);
        _afterOne = new Lazy<Regex>(() => Safe(@"\A[\s\S](?:" + _pattern + ")"), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public string Pattern => _pattern;

    /// <summary>Builds the .NET regexes now (tests use this to prove every emitted pattern is accepted).</summary>
    public void Validate() { _ = _find.Value; _ = _at.Value; _ = _anchored.Value; _ = _afterOne.Value; }

    /// <summary>
    /// One call of the .NET engine is given at most this long. Every call looks at a bounded span (a match window,
    /// or a chunk plus one window), so a call that needs more is a pathological pattern: the string is stopped and
    /// named (see <see cref="MatchBudget"/>), the scan goes on.
    /// </summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(1);

    private static Regex Safe(string pattern)
    {
        try { return new Regex(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant, CallTimeout); }
        catch (NotSupportedException) { return Backtracking(pattern); }
    }

    private static Regex Backtracking(string pattern) => new(pattern, RegexOptions.CultureInvariant, CallTimeout);

    private static int CountLoops(RNode n) => n switch
    {
        RRepeat r => (r.Max == -1 || r.Max > 1 ? 1 : 0) + CountLoops(r.Body),
        RConcat c => c.Items.Sum(CountLoops),
        RAlt a => a.Branches.Sum(CountLoops),
        _ => 0,
    };

    // Repetition (or alternation) nested in a repetition can backtrack exponentially.
    private static bool Risky(RNode n, bool inLoop) => n switch
    {
        RRepeat r => (r.Max == -1 || r.Max > 1) && inLoop || Risky(r.Body, inLoop || r.Max == -1 || r.Max > 1),
        RConcat c => c.Items.Any(i => Risky(i, inLoop)),
        RAlt a => inLoop || a.Branches.Any(b => Risky(b, inLoop)),
        _ => false,
    };

    /// <summary>
    /// Characters after a start that a match there can see: the scan limit, or for a regex of bounded width its
    /// longest match plus one character (so \b and \z right after a match still see the real next character, and
    /// a cut-off view never fakes an end of data inside a possible match). Verifying near an atom then looks at a
    /// few dozen characters instead of 4 KiB, which matters for regexes run on the NonBacktracking engine.
    /// </summary>
    private int Window(int charSize)
    {
        int limit = ScanLimit / charSize;
        return _maxWidth >= 0 && _maxWidth < limit ? _maxWidth + 1 : limit;
    }

    /// <summary>
    /// Length of the match starting exactly at <paramref name="start"/> in the view (yara's preference among
    /// alternatives, capped at the scan limit), or -1. Text before the start stays visible for \b.
    /// </summary>
    public int MatchAt(string view, int start, int charSize, MatchBudget? budget = null)
    {
        int end = (int)Math.Min(view.Length, (long)start + Window(charSize));
        try
        {
            if (_risky)
            {
                // Anchored automaton: the same leftmost match (NonBacktracking keeps backtracking's preferences).
                if (start == 0)
                {
                    foreach (var m in _anchored.Value.EnumerateMatches(view.AsSpan(0, end))) return m.Length;
                    return -1;
                }
                foreach (var m in _afterOne.Value.EnumerateMatches(view.AsSpan(start - 1, end - start + 1))) return m.Length - 1;
                return -1;
            }
            var span = view.AsSpan(0, end);
            foreach (var m in _at.Value.EnumerateMatches(span, start))
                return m.Index == start ? m.Length : -1;
        }
        catch (RegexMatchTimeoutException) { budget?.CallTimedOut(); }
        return -1;
    }

    // Match starts looked for per call of the unanchored search; each call then reads at most this plus one window.
    private const int ChunkChars = 16 * 1024;

    /// <summary>Matches starting between lo and hi (view indices), each with its yara length.</summary>
    /// <remarks>
    /// The unanchored search only proposes candidates (MatchAt decides), so it may look at one chunk of starts plus
    /// one window at a time: a start whose match fits its window is never passed over, and no call reads to the end
    /// of a long range (that made nested repetition over a long run of one letter quadratic).
    /// </remarks>
    public void FindStarts(string view, int lo, int hi, int charSize, int alignment, List<(long Offset, int Length)> sink, long baseIdx, MatchBudget budget)
    {
        var find = _find.Value;
        int window = Window(charSize);
        int p = lo;
        try
        {
            while (p <= hi && !budget.Spent(sink))
            {
                int last = (int)Math.Min(hi, (long)p + ChunkChars);
                int end = (int)Math.Min(view.Length, (long)last + window);
                int idx = -1;
                foreach (var m in find.EnumerateMatches(view.AsSpan(0, end), p)) { idx = m.Index; break; }
                if (idx < 0 || idx > last) { p = last + 1; continue; }
                int len = MatchAt(view, idx, charSize, budget);
                if (len > 0) sink.Add(((idx + baseIdx) * charSize + alignment, len * charSize));
                p = idx + 1;
            }
        }
        catch (RegexMatchTimeoutException) { budget.CallTimedOut(); }
    }

    /// <summary>Every start position in the view where the regex matches (as yara reports them), capped by the scan limit.</summary>
    /// <remarks>Searched a chunk of starts at a time (see <see cref="FindStarts"/>): a match longer than the scan limit
    /// is cut to its window anyway, so a span of chunk + limit + 1 characters decides every start of the chunk.</remarks>
    public void FindAll(string view, int charSize, int alignment, List<(long Offset, int Length)> sink, long baseIdx, int firstStart, int endStart, MatchBudget budget)
    {
        var find = _find.Value;
        int limit = ScanLimit / charSize;
        int p = firstStart;
        try
        {
            while (p <= view.Length && p < endStart && !budget.Spent(sink))
            {
                int last = (int)Math.Min(endStart - 1L, (long)p + ChunkChars);
                int end = (int)Math.Min(view.Length, (long)last + limit + 1);
                int idx = -1, len = 0;
                foreach (var m in find.EnumerateMatches(view.AsSpan(0, end), p)) { idx = m.Index; len = m.Length; break; }
                if (idx < 0 || idx > last)
                {
                    if (end == view.Length && idx < 0) break;
                    p = last + 1;
                    continue;
                }
                if (len > limit)
                {
                    len = -1;
                    var window = view.AsSpan(idx, Math.Min(limit, view.Length - idx));
                    foreach (var m in _anchored.Value.EnumerateMatches(window)) { len = m.Length; break; }
                }
                // An empty match (/\b/) counts in ASCII only: yara finds none in wide text.
                if (len >= 0 && (len > 0 || charSize == 1 && idx < view.Length))
                    sink.Add(((idx + baseIdx) * charSize + alignment, len * charSize));
                p = idx + 1;
            }
        }
        catch (RegexMatchTimeoutException) { budget.CallTimedOut(); }
    }

    /// <summary>True when the regex matches somewhere in a condition string (for 'matches').</summary>
    public bool IsMatch(string view)
    {
        try { return _find.Value.IsMatch(view); }
        catch (RegexMatchTimeoutException) { return false; }
    }

    private static void Emit(RNode n, StringBuilder sb)
    {
        switch (n)
        {
            case RSet s: EmitSet(s.Set, sb); break;
            case RConcat c: foreach (var i in c.Items) EmitGrouped(i, sb, forConcat: true); break;
            case RAlt a:
                for (int i = 0; i < a.Branches.Count; i++)
                {
                    if (i > 0) sb.Append('|');
                    Emit(a.Branches[i], sb);
                }
                break;
            case RRepeat r:
                EmitGrouped(r.Body, sb, forConcat: false);
                if (r.Min == 0 && r.Max == -1) sb.Append('*');
                else if (r.Min == 1 && r.Max == -1) sb.Append('+');
                else if (r.Min == 0 && r.Max == 1) sb.Append('?');
                else if (r.Max == -1) sb.Append('{').Append(r.Min).Append(",}");
                else if (r.Max == r.Min) sb.Append('{').Append(r.Min).Append('}');
                else sb.Append('{').Append(r.Min).Append(',').Append(r.Max).Append('}');
                if (r.Lazy) sb.Append('?');
                break;
            case RAnchor a:
                sb.Append(a.Kind switch
                {
                    AnchorKind.Start => @"\A",
                    AnchorKind.End => @"\z",
                    // yara treats the start and the end of the data (and of its scan window) as word boundaries.
                    AnchorKind.WordBoundary => @"(?:\b|\A|\z)",
                    _ => @"\B",
                });
                break;
        }
    }

    private static void EmitGrouped(RNode n, StringBuilder sb, bool forConcat)
    {
        bool group = n is RAlt || (!forConcat && n is RConcat or RRepeat);
        if (group) sb.Append("(?:");
        Emit(n, sb);
        if (group) sb.Append(')');
    }

    private static void EmitSet(ByteSet set, StringBuilder sb)
    {
        int count = set.Count;
        if (count == 1) { AppendChar(sb, CharOf((byte)set.First())); return; }
        if (count == 0) { sb.Append("[^\\s\\S]"); return; }
        sb.Append('[');
        int b = 0;
        while (b < 256)
        {
            if (!set.Has(b)) { b++; continue; }
            int e = b;
            // Runs may not cross 0x7F/0x80: the two halves map to different char ranges.
            while (e + 1 < 256 && set.Has(e + 1) && e + 1 != 0x80) e++;
            AppendChar(sb, CharOf((byte)b));
            if (e > b) { sb.Append('-'); AppendChar(sb, CharOf((byte)e)); }
            b = e + 1;
        }
        sb.Append(']');
    }

    private static void AppendChar(StringBuilder sb, char c) => sb.Append("\\u").Append(((int)c).ToString("X4"));

    /// <summary>Maps bytes to the char view used by these regexes.</summary>
    public static unsafe string AsciiView(ReadOnlySpan<byte> data)
    {
        var s = new string('\0', data.Length);
        fixed (char* p = s)
            for (int i = 0; i < data.Length; i++) p[i] = CharOf(data[i]);
        return s;
    }

    /// <summary>UTF-16 view units [from, from + count) of the data at the given alignment (count -1: to the end).</summary>
    public static unsafe string WideView(ReadOnlySpan<byte> data, int alignment, long from = 0, long count = -1)
    {
        long total = Math.Max(0, (data.Length - alignment) / 2);
        long n = count < 0 ? total - from : Math.Min(count, total - from);
        if (n <= 0) return "";
        var s = new string('\0', (int)n);
        fixed (char* p = s)
            for (long k = 0; k < n; k++)
            {
                long i = 2 * (k + from) + alignment;
                p[k] = data[(int)i + 1] == 0 ? CharOf(data[(int)i]) : Dead;
            }
        return s;
    }
}
