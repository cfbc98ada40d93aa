using System.IO.MemoryMappedFiles;

namespace Exir.Yara;

public sealed record YaraMatch(YaraRuleInfo Rule, IReadOnlyList<YaraStringMatch> Strings);

/// <summary>One match of a rule string. <see cref="Data"/> holds at most the first 512 bytes, like yara's -s output.</summary>
public sealed record YaraStringMatch(string Identifier, long Offset, int Length, ReadOnlyMemory<byte> Data)
{
    /// <summary>True for hex strings (yara prints their data as hex bytes).</summary>
    public bool IsHex { get; init; }
}

/// <summary>Limits of the scan of one file or buffer.</summary>
public sealed record YaraScanLimits
{
    /// <summary>
    /// Wall-clock limit for one file, like yara's --timeout (null or zero: none). When it passes, long condition loops
    /// stop, regex and hex strings not searched yet are not searched, and the rules concerned are reported.
    /// </summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>
    /// Time one regex or hex string may spend matching on one file (zero: no budget). Matches are searched near atom
    /// hits in windows of at most 4 KiB (yara's RE_SCAN_LIMIT), which keeps ordinary strings in the milliseconds; a pattern that still
    /// needs more (nested repetition over a long run, thousands of jumps on matching data) is stopped here with what it
    /// found, and named, so one string cannot use up a file's whole time limit and blind the other rules.
    /// </summary>
    public TimeSpan StringBudget { get; init; } = DefaultStringBudget;

    /// <summary>10 s: far more than an ordinary string needs even on a 256 MiB file (milliseconds on a web page), and well
    /// under the 60 s default time limit of exir yara and scan.</summary>
    public static readonly TimeSpan DefaultStringBudget = TimeSpan.FromSeconds(10);

    /// <summary>No time limit per file, the default string budget.</summary>
    public static YaraScanLimits Default { get; } = new();
}

/// <summary>A rule that could not be evaluated fully on a file (Rule null: the file as a whole), and why.</summary>
public sealed record YaraScanProblem(YaraRuleInfo? Rule, string Message)
{
    public override string ToString() => Rule is null ? Message : $"rule {Rule.Name}: {Message}";
}

/// <summary>The matches of a scan, and what could not be evaluated fully.</summary>
public sealed class YaraScanResult(IReadOnlyList<YaraMatch> matches, IReadOnlyList<YaraScanProblem> problems, bool timedOut) : IReadOnlyList<YaraMatch>
{
    public static YaraScanResult Empty { get; } = new([], [], false);

    /// <summary>Rules whose result may be wrong on this data: a string not searched fully, a loop stopped at the time
    /// limit, an unexpected failure. Each rule is named once; the other rules' results stand.</summary>
    public IReadOnlyList<YaraScanProblem> Problems { get; } = problems;
    /// <summary>The scan's time limit was reached.</summary>
    public bool TimedOut { get; } = timedOut;

    public YaraMatch this[int index] => matches[index];
    public int Count => matches.Count;
    public IEnumerator<YaraMatch> GetEnumerator() => matches.GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Compiled rules. Scanning is thread-safe; each thread reuses its own scratch state.</summary>
public sealed class YaraRules
{
    /// <summary>Bytes of match data kept per string match (yara's default MAX_MATCH_DATA).</summary>
    public const int MaxMatchData = 512;

    private readonly RuleProgram _p;
    private readonly ThreadLocal<ScanState> _state;
    private readonly ThreadLocal<byte[]> _buffer = new(() => new byte[64 * 1024]);

    internal YaraRules(RuleProgram p)
    {
        _p = p;
        _state = new ThreadLocal<ScanState>(() => new ScanState(p));
        Rules = p.Rules.Select(r => r.Info).ToArray();
    }

    public IReadOnlyList<YaraRuleInfo> Rules { get; }
    /// <summary>Distinct atoms in the multi-pattern matcher (for diagnostics and benchmarks).</summary>
    public int AtomCount => _p.Matcher.AtomCount;

    public YaraScanResult Scan(ReadOnlySpan<byte> data, IReadOnlyDictionary<string, object>? externals = null, YaraScanLimits? limits = null)
    {
        var buf = Buffer(data.Length);
        data.CopyTo(buf);
        return Run(buf, data.Length, data.Length, externals, limits ?? YaraScanLimits.Default);
    }

    /// <summary>
    /// Scans the first <paramref name="length"/> bytes of <paramref name="data"/> in place, without the copy
    /// <see cref="Scan(ReadOnlySpan{byte}, IReadOnlyDictionary{string, object}?)"/> makes: a caller that already holds
    /// the file in an array (up to 256 MiB) does not need a second one. The array must not change during the call.
    /// </summary>
    public YaraScanResult Scan(byte[] data, int length, IReadOnlyDictionary<string, object>? externals = null, YaraScanLimits? limits = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, data.Length);
        return Run(data, length, length, externals, limits ?? YaraScanLimits.Default);
    }

    /// <summary>
    /// Scans at most <paramref name="maxBytes"/> of a regular file. <c>filesize</c> is the real size of the file, so
    /// size conditions stay right on capped huge files. Throws IOException/UnauthorizedAccessException when the file
    /// cannot be read and IOException for FIFOs, devices and other non-regular files (they could block forever).
    /// </summary>
    public YaraScanResult ScanFile(string path, long maxBytes = long.MaxValue, IReadOnlyDictionary<string, object>? externals = null, YaraScanLimits? limits = null)
    {
        if (FileKind.IsSpecialFile(path)) throw new IOException($"not a regular file: {path}");
        using var fs = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.ReadWrite | FileShare.Delete,
            BufferSize = 0, Options = FileOptions.SequentialScan,
        });
        long size = fs.Length;
        // Spans are int-indexed: past 2 GiB only the start is scanned, and said (never silently).
        long want = Math.Min(Math.Min(size, maxBytes), int.MaxValue);
        string? cut = want >= size ? null
            : want == maxBytes ? $"only the first {want:N0} of {size:N0} bytes scanned (the size limit set for the scan)"
            : $"only the first {want:N0} of {size:N0} bytes scanned (the engine scans at most 2 GiB of a file)";
        var lim = limits ?? YaraScanLimits.Default;
        if (want >= MapFromBytes && TryScanMapped(fs, (int)want, size, externals, lim, cut) is { } mapped) return mapped;
        var buf = Buffer((int)Math.Min(want, Array.MaxLength));
        int n = 0;
        while (n < buf.Length && n < want)
        {
            int r = fs.Read(buf, n, (int)Math.Min(buf.Length, want) - n);
            if (r <= 0) break;
            n += r;
        }
        return Run(buf, n, Math.Max(size, n), externals, lim, cut);
    }

    private const int WalkPiece = 16 << 20;

    /// <summary>Files from this size on are memory-mapped (read-only) rather than read: below, a read into the reused buffer is cheaper.</summary>
    private const long MapFromBytes = 4 << 20;

    /// <summary>
    /// Scans the first <paramref name="length"/> bytes through a read-only memory map: the file stays in the page cache
    /// instead of the managed heap, so big files cost no heap. Null when the file cannot be mapped (the caller reads it).
    /// </summary>
    private unsafe YaraScanResult? TryScanMapped(FileStream fs, int length, long size, IReadOnlyDictionary<string, object>? externals, YaraScanLimits limits, string? cut)
    {
        MemoryMappedFile map;
        MemoryMappedViewAccessor view;
        try
        {
            map = MemoryMappedFile.CreateFromFile(fs, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
            try { view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read); }
            catch { map.Dispose(); throw; }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException) { return null; }
        using (map)
        using (view)
        {
            byte* p = null;
            var handle = view.SafeMemoryMappedViewHandle;
            handle.AcquirePointer(ref p);
            try
            {
                var bytes = new UnmanagedBytes(p + view.PointerOffset, length);
                return Run(new Bytes(bytes.Memory, bytes), length, size, externals, limits, cut);
            }
            finally { handle.ReleasePointer(); }
        }
    }

    private byte[] Buffer(int length)
    {
        var b = _buffer.Value!;
        if (b.Length >= length) return b;
        var nb = new byte[Math.Max(length, b.Length * 2)];
        // Do not pin huge buffers to the thread forever.
        if (nb.Length <= 64 * 1024 * 1024) _buffer.Value = nb;
        return nb;
    }

    private YaraScanResult Run(Bytes data, int length, long fileSize, IReadOnlyDictionary<string, object>? externals, YaraScanLimits limits, string? cut = null)
    {
        var s = _state.Value!;
        s.Reset(data, length, fileSize, externals, limits);
        var sink = new HitSink(_p, s, data, length);
        try
        {
            // Piece by piece, releasing each walked piece of a mapped file: the resident set stays near one piece.
            int state = 0;
            // long: the last piece of a file near 2 GiB would overflow an int.
            for (long next = 0; next < length; next += WalkPiece)
            {
                int at = (int)next, n = Math.Min(WalkPiece, length - at);
                state = _p.Matcher.Scan(data.AsSpan(at, n), at, state, ref sink);
                data.Release(at, at + n);
            }
        }
        catch (ScanTimeoutException) { s.TextPassCutShort(); }
        s.SortTextMatches();

        List<YaraMatch>? result = null;
        foreach (var rule in _p.Rules)
        {
            // Every rule, private ones too, in declaration order: a referenced rule (always declared earlier)
            // is then already settled, so long reference chains never recurse deeply.
            bool hit = s.RuleResult(rule.Index);
            if (rule.Info.IsPrivate || !hit) continue;
            var strings = new List<YaraStringMatch>();
            foreach (var si in rule.Strings)
            {
                var cs = _p.Strings[si];
                if (cs.Private) continue;
                foreach (var (off, len) in s.MatchesOfRule(rule.Index, si))
                {
                    int keep = (int)Math.Min(len, Math.Min(MaxMatchData, length - off));
                    strings.Add(new YaraStringMatch(cs.Id, off, len, data.AsSpan((int)off, Math.Max(0, keep)).ToArray()) { IsHex = cs.Kind == StringKind.Hex });
                }
            }
            (result ??= []).Add(new YaraMatch(rule.Info, strings));
        }
        List<YaraScanProblem>? problems = null;
        foreach (var rule in _p.Rules)
            if (s.RuleIssue(rule.Index) is { } why) (problems ??= []).Add(new YaraScanProblem(rule.Info, why));
        if (s.TimedOut && problems is null)
            problems = [new YaraScanProblem(null, $"the scan's time limit ({s.TimeoutText}) was reached")];
        if (cut is not null) (problems ??= []).Add(new YaraScanProblem(null, cut));
        if (result is null && problems is null) return YaraScanResult.Empty;
        return new YaraScanResult((IReadOnlyList<YaraMatch>?)result ?? [], (IReadOnlyList<YaraScanProblem>?)problems ?? [], s.TimedOut);
    }

    private struct HitSink(RuleProgram p, ScanState s, Bytes data, int length) : AhoCorasick.IHitSink
    {
        private int _hits;

        public void Hit(int atom, int end)
        {
            // Atoms that hit everywhere (a run of one byte) cost time per hit: the time limit is checked now and then.
            if ((++_hits & 0xFFFF) == 0 && s.PastDeadline) throw new ScanTimeoutException();
            foreach (var e in p.AtomEntries[atom])
            {
                if (e.Variant < 0)
                {
                    if (e.Variant == -1) s.MarkCandidate(e.String);
                    else
                    {
                        long atomStart = (long)end - e.AtomLength + 1;
                        long hi = atomStart - e.MinPrefix;
                        if (hi >= 0) s.AddStarts(e.String, Math.Max(0, atomStart - e.AtomOffset), hi, wide: e.Variant == -3);
                    }
                    continue;
                }
                var str = p.Strings[e.String];
                var pat = str.Variants[e.Variant];
                long start = (long)end - e.AtomLength + 1 - e.AtomOffset;
                if (start < 0 || start + pat.Length > length) continue;
                if (str.FixedOffset >= 0 && start != str.FixedOffset) continue;
                var span = data.AsSpan((int)start, pat.Length);
                if (str.Nocase ? !TextMatcher.EqualsFolded(span, pat) : !span.SequenceEqual(pat)) continue;
                bool wide = str.WideVariant[e.Variant];
                if (str.Fullword && !TextMatcher.IsFullword(data.AsSpan(0, length), start, pat.Length, wide)) continue;
                s.AddTextMatch(e.String, start, pat.Length);
            }
        }
    }
}
