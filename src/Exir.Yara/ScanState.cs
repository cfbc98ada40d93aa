using System.Diagnostics;

namespace Exir.Yara;

/// <summary>The scan's time limit was reached while a condition was being evaluated.</summary>
internal sealed class ScanTimeoutException() : Exception("time limit reached");

/// <summary>
/// Per-thread scratch for one scan: lazily computed string matches and memoised rule results, the scan's time limit
/// and each regex string's matching budget, and what could not be evaluated fully (per rule, by name).
/// </summary>
internal sealed class ScanState
{
    private static readonly List<(long, int)> NoMatches = [];

    private readonly RuleProgram _p;
    private readonly List<(long Offset, int Length)>?[] _matches;
    // 0 = no hit, 1 = regex candidate (not yet run), 2 = computed.
    private readonly byte[] _strState;
    // Bounded regex strings: ranges of candidate starts (view, first, last), view 0 = ascii, 1/2 = wide at even/odd offsets.
    private readonly List<(int View, long Lo, long Hi)>?[] _starts;
    private readonly int[] _touched;
    private int _touchedCount;
    private readonly byte[] _ruleState;
    private readonly bool[] _ruleHit;
    private readonly sbyte[] _nsGlobal;
    private string? _ascii, _wide0, _wide1;
    // Per string: why its matches are incomplete (null: complete).
    private readonly string?[] _incomplete;
    // Per rule: why it could not be evaluated fully (null: it was).
    private readonly string?[] _ruleIssue;
    private int _currentRule = -1;
    private long _deadline = long.MaxValue, _stringBudget = long.MaxValue;
    private TimeSpan? _timeout;
    /// <summary>Set when the automaton pass was cut short: no string's matches are complete.</summary>
    private string? _allIncomplete;

    /// <summary>The time limit was reached during this scan.</summary>
    public bool TimedOut { get; private set; }

    public Bytes Data = Array.Empty<byte>();
    public int Length;
    public long FileSize;
    public readonly Value[] Externals;
    public readonly Value[] Vars;
    public int CurrentString = -1;
    public ModuleCache? Modules;

    public ScanState(RuleProgram p)
    {
        _p = p;
        _matches = new List<(long, int)>?[p.Strings.Length];
        _strState = new byte[p.Strings.Length];
        _starts = new List<(int, long, long)>?[p.Strings.Length];
        _touched = new int[p.Strings.Length];
        _ruleState = new byte[p.Rules.Length];
        _ruleHit = new bool[p.Rules.Length];
        _nsGlobal = new sbyte[p.GlobalRulesByNamespace.Length];
        Externals = new Value[p.ExternalDefaults.Length];
        Vars = new Value[Math.Max(1, p.VarSlots)];
        _incomplete = new string?[p.Strings.Length];
        _ruleIssue = new string?[p.Rules.Length];
    }

    public void Reset(Bytes data, int length, long fileSize, IReadOnlyDictionary<string, object>? externals, YaraScanLimits limits)
    {
        for (int k = 0; k < _touchedCount; k++)
        {
            int i = _touched[k];
            _strState[i] = 0;
            _matches[i]?.Clear();
            _starts[i]?.Clear();
            _incomplete[i] = null;
        }
        _touchedCount = 0;
        Array.Clear(_ruleIssue);
        _currentRule = -1;
        _allIncomplete = null;
        TimedOut = false;
        long now = Stopwatch.GetTimestamp();
        _timeout = limits.Timeout;
        _deadline = limits.Timeout is { } t && t > TimeSpan.Zero ? SafeAdd(now, t) : long.MaxValue;
        _stringBudget = limits.StringBudget > TimeSpan.Zero ? (long)Math.Min(limits.StringBudget.TotalSeconds * Stopwatch.Frequency, long.MaxValue / 2) : long.MaxValue;
        Array.Clear(_ruleState);
        Array.Clear(_ruleHit);
        Array.Clear(_nsGlobal);
        _ascii = _wide0 = _wide1 = null;
        Modules = null;
        Data = data;
        Length = length;
        FileSize = fileSize;
        CurrentString = -1;
        Array.Copy(_p.ExternalDefaults, Externals, Externals.Length);
        if (externals is not null)
            for (int i = 0; i < _p.ExternalNames.Length; i++)
                if (externals.TryGetValue(_p.ExternalNames[i], out var o) && o is not null)
                    Externals[i] = Value.FromObject(o);
        foreach (var si in _p.AlwaysCandidateStrings) MarkCandidate(si);
    }

    private void Touch(int i)
    {
        if (_strState[i] == 0) _touched[_touchedCount++] = i;
    }

    public void MarkCandidate(int i)
    {
        if (_strState[i] != 0) return;
        Touch(i);
        _strState[i] = 1;
        MarkRules(i);
    }

    private void MarkRules(int i)
    {
        foreach (var r in _p.Strings[i].HitRules) _ruleHit[r] = true;
    }

    public void AddStarts(int i, long lo, long hi, bool wide)
    {
        if (_strState[i] == 2) return;
        MarkCandidate(i);
        var list = _starts[i] ??= [];
        if (!wide) list.Add((0, lo, hi));
        else
        {
            // Wide starts keep the parity of the atom; lo may have been clipped to 0.
            if ((lo & 1) != (hi & 1)) lo++;
            list.Add(((int)(hi & 1) + 1, lo / 2, hi / 2));
        }
    }

    private static long SafeAdd(long now, TimeSpan t)
    {
        double ticks = t.TotalSeconds * Stopwatch.Frequency;
        return ticks >= long.MaxValue - now ? long.MaxValue : now + (long)ticks;
    }

    /// <summary>Throws <see cref="ScanTimeoutException"/> once the scan's time limit has passed (long loops call it).</summary>
    public void CheckDeadline()
    {
        if (_deadline != long.MaxValue && Stopwatch.GetTimestamp() > _deadline)
        {
            TimedOut = true;
            throw new ScanTimeoutException();
        }
    }

    /// <summary>The time limit as text for messages.</summary>
    public string TimeoutText => _timeout is { } t ? $"{t.TotalSeconds:0.###} s" : "none";

    /// <summary>The automaton pass over the data did not finish (time limit): every string's matches are partial.</summary>
    public void TextPassCutShort()
    {
        TimedOut = true;
        _allIncomplete = $"the scan's time limit ({TimeoutText}) was reached while the file was searched";
    }

    public void AddTextMatch(int i, long offset, int length)
    {
        if (_strState[i] == 0)
        {
            Touch(i);
            _strState[i] = 2;
            MarkRules(i);
        }
        var list = _matches[i] ??= [];
        if (list.Count < MatchBudget.MaxMatches) list.Add((offset, length));
        else _incomplete[i] ??= $"more than {MatchBudget.MaxMatches:N0} matches, the rest not recorded";
    }

    /// <summary>The matches of a string of a rule that matched, for the output (an incomplete string is charged to the rule).</summary>
    public List<(long Offset, int Length)> MatchesOfRule(int rule, int i)
    {
        int outer = _currentRule;
        _currentRule = rule;
        try { return Matches(i); }
        finally { _currentRule = outer; }
    }

    /// <summary>Why the rule could not be evaluated fully on this data (null: it was), after <see cref="RuleResult"/>.</summary>
    public string? RuleIssue(int r) => _ruleIssue[r];

    private void Issue(int rule, string message)
    {
        if (rule >= 0) _ruleIssue[rule] ??= message;
    }

    /// <summary>Deadline check for the automaton pass (called every few thousand atom hits).</summary>
    public bool PastDeadline => _deadline != long.MaxValue && Stopwatch.GetTimestamp() > _deadline;

    /// <summary>Called after the automaton pass: ascii and wide hits of one string may interleave.</summary>
    public void SortTextMatches()
    {
        for (int k = 0; k < _touchedCount; k++)
        {
            int i = _touched[k];
            var s = _p.Strings[i];
            if (s.Kind == StringKind.Text && s.Variants.Length > 1 && _matches[i] is { Count: > 1 } m)
                SortOnePerOffset(m);
        }
    }

    /// <summary>yara keeps one match per offset and string (the ascii one when ascii and wide both match there).</summary>
    private static void SortOnePerOffset(List<(long Offset, int Length)> m)
    {
        if (m.Count < 2) return;
        m.Sort();
        int w = 1;
        for (int r = 1; r < m.Count; r++)
            if (m[r].Offset != m[w - 1].Offset) m[w++] = m[r];
        m.RemoveRange(w, m.Count - w);
    }

    public List<(long Offset, int Length)> Matches(int i)
    {
        if (i < 0) return NoMatches;
        int asked = i;
        i = _p.Strings[i].Canonical;
        List<(long Offset, int Length)> result;
        switch (_strState[i])
        {
            case 2: result = _matches[i]!; break;
            case 1:
                result = _matches[i] ??= [];
                try { RunRegex(_p.Strings[i], result); }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // An engine failure on one string leaves that string incomplete, named with its rules; never the scan.
                    _incomplete[i] ??= $"search failed: {e.GetType().Name}: {e.Message}";
                }
                _strState[i] = 2;
                break;
            default: result = NoMatches; break;
        }
        // A rule that looks at a string whose search was cut short cannot be trusted fully: name it.
        if ((_allIncomplete ?? _incomplete[i]) is { } why) Issue(_currentRule, $"string {_p.Strings[asked].Id}: {why}");
        return result;
    }

    private void RunRegex(CompiledString s, List<(long Offset, int Length)> sink)
    {
        var re = s.Regex!;
        var data = Data.AsSpan(0, Length);
        _releasedTo = 0;
        long now = Stopwatch.GetTimestamp();
        var budget = new MatchBudget(_stringBudget >= long.MaxValue - now ? long.MaxValue : now + _stringBudget, _deadline);
        if (_starts[s.Index] is { Count: > 0 } ranges)
            RunBounded(s, re, data, ranges, sink, budget);
        else
            RunEverywhere(s, re, data, sink, budget);
        if (Length > FullViewBytes) Data.Release(0, Length);
        if (budget.Stopped is { } why)
        {
            if (budget.HitDeadline) TimedOut = true;
            _incomplete[s.Index] = why;
        }
        if (s.FixedOffset >= 0) sink.RemoveAll(m => m.Offset != s.FixedOffset);
        if (s.Fullword)
        {
            var arr = Data;
            int n = Length;
            sink.RemoveAll(m => !TextMatcher.IsFullword(arr.AsSpan(0, n), m.Offset, m.Length, wide: s.Wide && IsWideAt(arr, n, m.Offset, m.Length)));
        }
    }

    // Files up to this size get whole cached views; larger ones are viewed in windows so memory stays bounded.
    private const int FullViewBytes = 8 << 20;
    private const int ChunkChars = 4 << 20;

    // A mapped file's pages searched so far leave the resident set in strides (see Bytes.Release); views go forward.
    private const long ReleaseStride = 16 << 20;
    private long _releasedTo;

    private void ReleaseBefore(long offset)
    {
        if (Length <= FullViewBytes || offset - _releasedTo < ReleaseStride) return;
        Data.Release(_releasedTo, offset);
        _releasedTo = offset;
    }

    private long ViewLength(int view) => view == 0 ? Length : Math.Max(0, (Length - (view == 2 ? 1 : 0)) / 2);

    /// <summary>The char view (0 ascii, 1/2 wide at even/odd offsets) covering view indices [from, to); baseIdx is the view index of char 0.</summary>
    private string View(int view, ReadOnlySpan<byte> data, long from, long to, out long baseIdx)
    {
        if (Length <= FullViewBytes)
        {
            baseIdx = 0;
            return view switch
            {
                0 => _ascii ??= ByteRegex.AsciiView(data),
                1 => _wide0 ??= ByteRegex.WideView(data, 0),
                _ => _wide1 ??= ByteRegex.WideView(data, 1),
            };
        }
        baseIdx = from;
        return view == 0 ? ByteRegex.AsciiView(data.Slice((int)from, (int)(to - from))) : ByteRegex.WideView(data, view - 1, from, to - from);
    }

    private void RunBounded(CompiledString s, ByteRegex re, ReadOnlySpan<byte> data, List<(int View, long Lo, long Hi)> ranges, List<(long Offset, int Length)> sink, MatchBudget budget)
    {
        ranges.Sort();
        int k = 0;
        while (k < ranges.Count && !budget.Spent(sink))
        {
            var (view, lo, hi) = ranges[k++];
            while (k < ranges.Count && ranges[k].View == view && ranges[k].Lo <= hi + 1) hi = Math.Max(hi, ranges[k++].Hi);
            int charSize = view == 0 ? 1 : 2;
            int alignment = view == 2 ? 1 : 0;
            long len = ViewLength(view);
            hi = Math.Min(hi, len - 1);
            // Merged ranges of a frequent atom can span a huge file: on files viewed in windows, at most one window's
            // worth of starts at a time, so memory stays bounded.
            long piece = Length <= FullViewBytes ? hi - lo + 1 : ChunkChars;
            for (long from = lo; from <= hi && !budget.Spent(sink); from += piece)
            {
                long to = Math.Min(hi, from + piece - 1);
                // One character of context before the range keeps \b right at its first position.
                var text = View(view, data, Math.Max(0, from - 1), Math.Min(len, to + ByteRegex.ScanLimit / charSize + 1), out long b);
                if (to - from <= 256)
                {
                    for (long p = from; p <= to && !budget.Spent(sink); p++)
                    {
                        int m = re.MatchAt(text, (int)(p - b), charSize, budget);
                        if (m > 0) sink.Add((p * charSize + alignment, m * charSize));
                    }
                }
                else re.FindStarts(text, (int)(from - b), (int)(to - b), charSize, alignment, sink, b, budget);
                ReleaseBefore(from * charSize);
            }
        }
        // Ranges were processed per view (ascii, even, odd offsets): restore offset order.
        if (s.Wide) SortOnePerOffset(sink);
    }

    private void RunEverywhere(CompiledString s, ByteRegex re, ReadOnlySpan<byte> data, List<(long Offset, int Length)> sink, MatchBudget budget)
    {
        for (int view = s.Ascii ? 0 : 1; view <= (s.Wide ? 2 : 0); view++)
        {
            int charSize = view == 0 ? 1 : 2;
            long len = ViewLength(view);
            long chunk = Length <= FullViewBytes ? Math.Max(1, len + 1) : ChunkChars;
            for (long c = 0; c <= len && !budget.Spent(sink); c += chunk)
            {
                long from = Math.Max(0, c - 1);
                var text = View(view, data, from, Math.Min(len, c + chunk + ByteRegex.ScanLimit / charSize), out long b);
                re.FindAll(text, charSize, view == 2 ? 1 : 0, sink, b, (int)(c - b), (int)Math.Min(int.MaxValue, c + chunk - b), budget);
                ReleaseBefore(c * charSize);
            }
        }
        if (s.Wide) SortOnePerOffset(sink);
    }

    private static bool IsWideAt(Bytes d, int n, long off, int len)
        => len >= 2 && len % 2 == 0 && off + 1 < n && d[(int)off + 1] == 0;

    public bool RuleResult(int r)
    {
        switch (_ruleState[r])
        {
            case 1: return false;
            case 2: return true;
            case 3: return false; // recursion guard; the compiler forbids cycles anyway
        }
        var rule = _p.Rules[r];
        bool v;
        if (!rule.AlwaysEvaluate && !_ruleHit[r])
        {
            v = false;
            if (_allIncomplete is { } why) Issue(r, why);
        }
        else
        {
            _ruleState[r] = 3;
            int outer = _currentRule;
            _currentRule = r;
            try { v = rule.Condition.Eval(this).IsTrue; }
            catch (ScanTimeoutException)
            {
                v = false;
                Issue(r, $"stopped at the scan's time limit ({TimeoutText}), not evaluated fully");
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Never one rule's failure for the whole scan: the rule is false here, named, and the others run.
                v = false;
                Issue(r, $"failed at run time: {e.GetType().Name}: {e.Message}");
            }
            finally { _currentRule = outer; }
            if (_ruleIssue[r] is not null) Issue(outer, $"uses rule {rule.Info.Name}, which was not evaluated fully");
        }
        if (v && !rule.Info.IsGlobal) v = GlobalsHold(rule.Namespace);
        _ruleState[r] = v ? (byte)2 : (byte)1;
        return v;
    }

    /// <summary>A false global rule makes every rule of its namespace false.</summary>
    public bool GlobalsHold(int ns)
    {
        if (_nsGlobal[ns] != 0) return _nsGlobal[ns] > 0;
        bool ok = true;
        foreach (var g in _p.GlobalRulesByNamespace[ns])
            if (!RuleResult(g)) { ok = false; break; }
        _nsGlobal[ns] = ok ? (sbyte)1 : (sbyte)-1;
        return ok;
    }
}

internal static class TextMatcher
{
    private static bool IsAlnum(byte b) => (uint)(b - '0') < 10 || (uint)((b | 0x20) - 'a') < 26;

    /// <summary>yara's fullword test: no alphanumeric character directly before or after the match.</summary>
    public static bool IsFullword(ReadOnlySpan<byte> d, long offset, int length, bool wide)
    {
        int o = (int)offset;
        if (wide)
        {
            if (o >= 2 && d[o - 1] == 0 && IsAlnum(d[o - 2])) return false;
            int e = o + length;
            if (e + 1 < d.Length && d[e + 1] == 0 && IsAlnum(d[e])) return false;
            return true;
        }
        if (o >= 1 && IsAlnum(d[o - 1])) return false;
        if (o + length < d.Length && IsAlnum(d[o + length])) return false;
        return true;
    }

    public static bool EqualsFolded(ReadOnlySpan<byte> data, ReadOnlySpan<byte> pattern)
    {
        var f = AhoCorasick.Fold;
        for (int i = 0; i < pattern.Length; i++)
            if (f[data[i]] != f[pattern[i]]) return false;
        return true;
    }
}
