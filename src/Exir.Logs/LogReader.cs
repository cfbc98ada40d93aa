using System.Buffers;
using System.Text;

namespace Exir.Logs;

public sealed record LogReaderOptions
{
    /// <summary>
    /// Literals (case-insensitive) a line must contain to be returned by <see cref="LogReader.Read"/>.
    /// Other lines are counted and skipped without being split. Null returns every data line.
    /// </summary>
    public IReadOnlyList<string>? Literals { get; init; }
    /// <summary>
    /// Also return lines with a '%' escape that could hide a literal (%50owershell; see <see cref="UrlDecoding.MayHideText"/>),
    /// so the caller decodes such lines and checks the literals again.
    /// </summary>
    public bool IncludePercentLines { get; init; }
    /// <summary>Longer lines are counted as malformed and skipped up to the next newline; memory stays bounded.</summary>
    public int MaxLineChars { get; init; } = 64 * 1024;
    /// <summary>Keep the lower-cased copy (<see cref="LogReader.LowerLine"/>) even when every line is returned.</summary>
    public bool LowerCase { get; init; }
    /// <summary>When #Fields is missing, use the format's known default list if a line has exactly its column count.</summary>
    public bool UseDefaultFields { get; init; } = true;
    /// <summary>
    /// Pre-filter UTF-8 logs on their bytes (<see cref="Utf8CandidateSearch"/>) and decode only the lines that may
    /// hold a literal. False decodes every line first (the reference path the differential tests compare with).
    /// </summary>
    public bool SearchBytes { get; init; } = true;
}

/// <summary>What one pass over a file saw; merged into coverage once per file.</summary>
public sealed class LogReadStats
{
    private readonly HashSet<DateOnly> _days = [];
    public long Lines { get; internal set; }
    public long MalformedLines { get; internal set; }
    public long OverlongLines { get; internal set; }
    public long BinaryLines { get; internal set; }
    public long ColumnMismatchLines { get; internal set; }
    /// <summary>Data lines read while no field list was known (header missing and no safe default).</summary>
    public long UnparsedLines { get; internal set; }
    public bool TruncatedLastLine { get; internal set; }
    public DateTimeOffset? First { get; private set; }
    public DateTimeOffset? Last { get; private set; }
    public IReadOnlyCollection<DateOnly> Days => _days;
    public string Encoding { get; internal set; } = "utf-8";
    /// <summary>Things worth a line in the coverage section (missing header, default field list used...).</summary>
    public List<string> Notes { get; } = [];

    private long _lastDayNumber = long.MinValue;

    internal void AddTime(DateTimeOffset t)
    {
        if (First is null || t < First) First = t;
        if (Last is null || t > Last) Last = t;
        long day = t.UtcTicks / TimeSpan.TicksPerDay;
        if (day == _lastDayNumber) return;
        _lastDayNumber = day;
        _days.Add(DateOnly.FromDateTime(t.UtcDateTime));
    }
}

/// <summary>
/// Streams an IIS W3C or Exchange CSV log once with pooled buffers. Lines that do not contain a prefilter
/// literal are counted (and sampled for the coverage time span) but never split; matching lines are split
/// by the current #Fields header (which may change mid-file). Bad input never throws: overlong, binary,
/// shifted or header-less lines are counted in <see cref="Stats"/>. Only I/O errors of the stream propagate.
/// A UTF-8 log with literals is searched as bytes: only candidate lines (and lines with non-ASCII bytes, which
/// are judged on their decoded text as before) are decoded; the rest are counted and sampled in place.
/// UTF-16 logs, and readers that return every line, decode the whole text first.
/// </summary>
public sealed class LogReader : IDisposable
{
    private const int ByteChunk = 128 * 1024;

    private readonly Stream _stream;
    private readonly LogReaderOptions _options;
    // The pre-filter runs as a few searches, each remembering its next hit so the buffer is scanned once per
    // search: the literals, '%' when asked, and "\n#" so directives (a new #Fields) are always seen. Literals
    // are searched case-sensitively in a lower-cased copy of the buffer: the vectorised multi-string search
    // is about twice as fast ordinal as ignore-case, and lower-casing ASCII costs next to nothing.
    private readonly SearchValues<string>[] _groups;
    private char[] _lower;
    private readonly bool _everyLine, _percent;
    private readonly int[] _hitAt, _searchedTo;
    private readonly int _overlap;
    private readonly char _separator;
    private byte[] _bytes;
    private char[] _chars;
    private int _byteStart, _byteEnd;
    private int _pos, _end;          // unread chars are _chars[_pos.._end]; _pos is always at a line start
    private bool _bytesEof, _charsEof, _started, _skippingOverlong;
    private Decoder? _decoder;
    private Encoding? _encoding;
    // Byte path: unread bytes are _bytes[_byteStart.._byteEnd], _byteStart always at a line start. A line that may
    // be returned must fit the buffer: UTF-8 needs at most 3 bytes per UTF-16 unit of the line limit.
    private Utf8CandidateSearch? _search;
    private readonly string[] _literals;
    private readonly int _byteCapacity;
    private bool _byteMode;
    private long _nextLineNumber = 1;

    // Current record
    private int _lineStart, _lineLength;
    private int[] _fieldStart = ArrayPool<int>.Shared.Rent(128);
    private int[] _fieldLength = ArrayPool<int>.Shared.Rent(128);
    private bool[] _fieldUnescaped = ArrayPool<bool>.Shared.Rent(128);
    private char[] _scratch = ArrayPool<char>.Shared.Rent(4096);
    private int _scratchUsed, _fieldCount;

    public LogReader(Stream stream, LogFormat format, LogReaderOptions? options = null)
    {
        _stream = stream;
        Format = format;
        _options = options ?? new LogReaderOptions();
        var literals = _options.Literals;
        _everyLine = literals is null;
        _percent = _options.IncludePercentLines;
        var distinct = (literals ?? []).Where(l => l.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
        _groups = distinct.Length == 0 ? [] : [LiteralSearch(distinct)];
        _overlap = distinct.Length == 0 ? 2 : Math.Max(2, distinct.Max(l => l.Length));
        int searches = _groups.Length + 2; // + '%' + directive
        _hitAt = Enumerable.Repeat(-1, searches).ToArray();
        _searchedTo = Enumerable.Repeat(-1, searches).ToArray();
        Descriptor = LogFormats.Get(format);
        _separator = Descriptor.Separator;
        _literals = distinct;
        bool bytePath = !_everyLine && _options.SearchBytes && distinct.All(l => l.All(c => c is >= ' ' and <= '~'));
        _byteCapacity = 3 * _options.MaxLineChars + 64 * 1024;
        _bytes = ArrayPool<byte>.Shared.Rent(bytePath ? _byteCapacity : ByteChunk);
        // The byte path widens whole skipped regions into _chars, so it is at least as long as the byte buffer.
        _chars = ArrayPool<char>.Shared.Rent(Math.Max(256 * 1024, Math.Max(_options.MaxLineChars * 2 + 1024, bytePath ? _byteCapacity : 0)));
        _lower = _groups.Length > 0 || _options.LowerCase ? ArrayPool<char>.Shared.Rent(_chars.Length) : [];
    }

    // A scan opens a reader per log with the same few literal sets: each search is built once (immutable, shared).
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, SearchValues<string>> LiteralSearches = new(StringComparer.Ordinal);

    private static SearchValues<string> LiteralSearch(string[] literals)
    {
        var lower = literals.Select(l => l.ToLowerInvariant()).Distinct().Order(StringComparer.Ordinal).ToArray();
        var key = string.Concat(lower.Select(l => $"{l.Length}:{l}"));   // lengths first: no two sets share a key
        if (LiteralSearches.TryGetValue(key, out var search)) return search;
        search = SearchValues.Create(lower, StringComparison.Ordinal);
        if (LiteralSearches.Count < 64) LiteralSearches.TryAdd(key, search);
        return search;
    }

    public LogFormat Format { get; }
    /// <summary>What the format is (name, separator, roles, coverage family).</summary>
    public LogFormatDescriptor Descriptor { get; }
    public LogReadStats Stats { get; } = new();
    public LogSchema? Schema { get; private set; }
    public string? Software { get; private set; }
    /// <summary>The first "#Version:" seen (for Exchange logs the build, e.g. 15.01.2375.007).</summary>
    public string? Version { get; private set; }
    public string? LogType { get; private set; }

    /// <summary>The current line, without its line terminator. Valid until the next <see cref="Read"/>.</summary>
    public ReadOnlySpan<char> Line => _chars.AsSpan(_lineStart, _lineLength);
    /// <summary>
    /// The current line lower-cased (ASCII; same length and positions as <see cref="Line"/>), for case-insensitive
    /// literal tests by ordinal search. Empty when the reader has no literals and was not asked to lower-case.
    /// </summary>
    public ReadOnlySpan<char> LowerLine => _lower.Length > 0 ? _lower.AsSpan(_lineStart, _lineLength) : default;

    /// <summary>Lower-cases like <see cref="LowerLine"/> (for text derived from a line, e.g. percent-decoded).</summary>
    public static void LowerCase(ReadOnlySpan<char> source, Span<char> destination)
    {
        while (!source.IsEmpty)
        {
            if (System.Text.Ascii.ToLower(source, destination, out int written) == OperationStatus.Done) return;
            destination[written] = char.ToLowerInvariant(source[written]);
            source = source[(written + 1)..];
            destination = destination[(written + 1)..];
        }
    }

    /// <summary>1-based line number of the current line in the file.</summary>
    public long LineNumber { get; private set; }
    /// <summary>Timestamp of the current line (UTC) when its fields carry one.</summary>
    public DateTimeOffset? Timestamp { get; private set; }
    /// <summary>True when the current line's column count differs from the header's.</summary>
    public bool ColumnMismatch { get { EnsureParsed(); return _columnMismatch; } }
    public int FieldCount { get { EnsureParsed(); return _fieldCount; } }
    private bool _columnMismatch, _parsed;

    /// <summary>Advances to the next data line that passes the prefilter. False at the end of the file.</summary>
    public bool Read()
    {
        if (_decoder is null) Start();
        return _byteMode ? ReadBytes() : ReadChars();
    }

    private bool ReadChars()
    {
        while (true)
        {
            if (_pos >= _end || _skippingOverlong)
            {
                if (_skippingOverlong && _pos < _end && PassNewline(_chars.AsSpan(_pos, _end - _pos), '\n', ref _pos))
                {
                    _skippingOverlong = false;
                    continue;
                }
                if (_charsEof) { _skippingOverlong = false; return false; }
                Fill();
                continue;
            }

            var span = _chars.AsSpan(_pos, _end - _pos);
            int hit = NextInteresting(span);
            if (hit < 0)
            {
                int lastNl = span.LastIndexOf('\n');
                if (lastNl >= 0)
                {
                    Skipped(_pos, lastNl + 1);
                    _pos += lastNl + 1;
                    continue;
                }
                if (!_charsEof)
                {
                    if (span.Length > _options.MaxLineChars) { StartOverlong(); continue; }
                    Fill();
                    continue;
                }
                // A last line without newline and no literal in it: still counted and sampled.
                Skipped(_pos, span.Length);
                Stats.TruncatedLastLine = true;
                _pos = _end;
                return false;
            }

            int ls = hit == 0 ? 0 : span[..hit].LastIndexOf('\n') + 1;
            int rel = span[ls..].IndexOf('\n');
            bool terminated = rel >= 0;
            if (!terminated && !_charsEof)
            {
                if (ls > 0) { Skipped(_pos, ls); _pos += ls; }
                if (_end - _pos > _options.MaxLineChars) { StartOverlong(); continue; }
                Fill();
                continue;
            }
            int len = terminated ? rel : span.Length - ls;
            if (ls > 0) Skipped(_pos, ls);
            int start = _pos + ls;
            _pos = start + len + (terminated ? 1 : 0);
            if (TakeLine(start, len, terminated)) return true;
        }
    }

    /// <summary>The byte path of <see cref="Read"/>: the same decisions as <see cref="ReadChars"/>, on UTF-8 bytes.</summary>
    private bool ReadBytes()
    {
        while (true)
        {
            if (_skippingOverlong)
            {
                if (PassNewline(_bytes.AsSpan(_byteStart, _byteEnd - _byteStart), (byte)'\n', ref _byteStart))
                {
                    _skippingOverlong = false;
                    continue;
                }
                if (_bytesEof) { _skippingOverlong = false; return false; }
                FillBytes();
                continue;
            }
            if (_byteStart >= _byteEnd)
            {
                if (_bytesEof) return false;
                FillBytes();
                continue;
            }
            var span = _bytes.AsSpan(_byteStart, _byteEnd - _byteStart);
            int hit = span[0] == (byte)'#' ? 0 : _search!.IndexOf(span);
            if (hit < 0)
            {
                int lastNl = span.LastIndexOf((byte)'\n');
                if (lastNl >= 0)
                {
                    SkippedAscii(span[..(lastNl + 1)]);
                    _byteStart += lastNl + 1;
                    continue;
                }
                if (!_bytesEof)
                {
                    if (span.Length > _options.MaxLineChars) { StartOverlong(); continue; }
                    FillBytes();
                    continue;
                }
                SkippedAscii(span);
                Stats.TruncatedLastLine = true;
                _byteStart = _byteEnd;
                return false;
            }

            int ls = hit == 0 ? 0 : span[..hit].LastIndexOf((byte)'\n') + 1;
            int rel = span[ls..].IndexOf((byte)'\n');
            bool terminated = rel >= 0;
            if (!terminated && !_bytesEof)
            {
                if (ls > 0) { SkippedAscii(span[..ls]); _byteStart += ls; }
                // Past 3 bytes per allowed unit the line is over the limit whatever it decodes to.
                if (_byteEnd - _byteStart > 3 * _options.MaxLineChars) { StartOverlong(); continue; }
                FillBytes();
                continue;
            }
            int len = terminated ? rel : span.Length - ls;
            if (ls > 0) SkippedAscii(span[..ls]);
            var bytes = span.Slice(ls, len);
            _byteStart += ls + len + (terminated ? 1 : 0);
            // A whole line is never longer than the byte buffer, so its text fits _chars.
            int chars = _encoding!.GetChars(bytes, _chars);
            var text = _chars.AsSpan(0, chars);
            // A hit on plain ASCII (a literal, '%', a directive) makes a candidate as the text search would; a line
            // hit only for its NUL or non-ASCII bytes is judged on its text (case mappings such as K (U+212A) -> k).
            byte reason = span[hit];
            if (terminated) _chars[chars] = '\n';
            if (reason is 0 or >= 0x80 && !IsCandidateText(text))
            {
                SkipLine(0, chars, terminated);
                continue;
            }
            if (_lower.Length > 0) LowerCase(text, _lower);
            if (TakeLine(0, chars, terminated)) return true;
        }
    }

    /// <summary>Skipping an overlong line: moves <paramref name="pos"/> past its newline when the unread part holds it (true), else past all of it.</summary>
    private static bool PassNewline<T>(ReadOnlySpan<T> unread, T newline, ref int pos) where T : IEquatable<T>
    {
        int nl = unread.IndexOf(newline);
        pos += nl >= 0 ? nl + 1 : unread.Length;
        return nl >= 0;
    }

    /// <summary>What the text pre-filter would return for a whole line: a literal, a '%' when asked, a directive.</summary>
    private bool IsCandidateText(ReadOnlySpan<char> line)
    {
        if (line.IsEmpty) return false;
        if (line[0] == '#' || (_percent && line.Contains('%'))) return true;
        if (_groups.Length == 0) return false;
        var lower = _lower.AsSpan(0, line.Length);
        LowerCase(line, lower);
        return lower.IndexOfAny(_groups[0]) >= 0;
    }

    /// <summary>
    /// A line that passed on a '%' alone is kept only when an escape in it could hide a letter or digit
    /// (<see cref="UrlDecoding.MayHideText"/>): "%2F" or "%3A" cannot spell a literal, and such lines are common.
    /// </summary>
    private bool HoldsLiteralOrHiddenText(int start, int len)
    {
        var line = _chars.AsSpan(start, len);
        if (line.IsEmpty || line[0] == '#') return true;
        if (_groups.Length > 0 && _lower.AsSpan(start, len).IndexOfAny(_groups[0]) >= 0) return true;
        return UrlDecoding.MayHideText(line.TrimEnd('\r'));
    }

    /// <summary>A line read but not handed over (_chars[start+len] holds its newline when terminated): counted and sampled like the skipped lines around it.</summary>
    private void SkipLine(int start, int len, bool terminated)
    {
        if (!terminated) Stats.TruncatedLastLine = true;
        Skipped(start, len + (terminated ? 1 : 0));
    }

    private void CountOverlong(bool terminated)
    {
        _nextLineNumber++;
        Stats.Lines++;
        if (!terminated) Stats.TruncatedLastLine = true;
        Stats.MalformedLines++;
        Stats.OverlongLines++;
    }

    /// <summary>
    /// Hands over the line at _chars[start..start+len] (without its newline) unless it is overlong, a directive or
    /// empty; counts it either way. True when it is the new current line.
    /// </summary>
    private bool TakeLine(int start, int len, bool terminated)
    {
        if (len > _options.MaxLineChars)
        {
            CountOverlong(terminated);
            return false;
        }
        if (_percent && !HoldsLiteralOrHiddenText(start, len))
        {
            SkipLine(start, len, terminated);
            return false;
        }
        long number = _nextLineNumber++;
        Stats.Lines++;
        if (!terminated) Stats.TruncatedLastLine = true;
        if (len > 0 && _chars[start + len - 1] == '\r') len--;
        var line = _chars.AsSpan(start, len);
        if (line.Length > 0 && line[0] == '#')
        {
            Directive(line, number);
            return false;
        }
        if (line.IsEmpty || TakeBareHeader(line, number)) return false;
        if (line.ContainsAny('\0', '\uFFFD'))
        {
            // Binary junk or invalid text: counted, but still handed over (a damaged line can still hold an attack).
            Stats.MalformedLines++;
            Stats.BinaryLines++;
        }
        _lineStart = start;
        _lineLength = len;
        LineNumber = number;
        // Fields are split only when a caller asks for one: most candidates are rejected on their text.
        _parsed = false;
        _fieldCount = 0;
        Schema = SchemaFor(line, number);
        if (Schema is null) Stats.UnparsedLines++;
        Timestamp = SampleTime(line, Schema);
        return true;
    }

    /// <summary>The current line's field by index (empty when absent; W3C "-" reads as empty).</summary>
    public ReadOnlySpan<char> Field(int index)
    {
        EnsureParsed();
        if ((uint)index >= (uint)_fieldCount) return default;
        var v = _fieldUnescaped[index]
            ? _scratch.AsSpan(_fieldStart[index], _fieldLength[index])
            : _chars.AsSpan(_lineStart + _fieldStart[index], _fieldLength[index]);
        return Descriptor.DashMeansEmpty && v.Length == 1 && v[0] == '-' ? default : v;
    }

    /// <summary>The current line's field by header name or role name (see <see cref="LogSchema.IndexOf"/>).</summary>
    public ReadOnlySpan<char> Field(string name)
    {
        EnsureParsed();
        return Schema is null ? default : Field(Schema.IndexOf(name));
    }

    public bool HasField(string name)
    {
        EnsureParsed();
        return Schema is not null && Schema.IndexOf(name) is int i && i >= 0 && i < _fieldCount;
    }

    private int NextInteresting(ReadOnlySpan<char> span)
    {
        if (span[0] == '#' || _everyLine) return 0;
        int best = -1;
        int directive = _groups.Length + 1;
        for (int g = 0; g < _hitAt.Length; g++)
        {
            if (g == directive - 1 && !_percent) continue;
            int at = CachedHit(g);
            if (at >= 0 && (best < 0 || at < best)) best = at;
        }
        return best < 0 ? -1 : best - _pos;
    }

    /// <summary>Absolute position of search <paramref name="g"/>'s next hit at or after _pos, or -1; searches only what it has not seen.</summary>
    private int CachedHit(int g)
    {
        int at = _hitAt[g], searched = _searchedTo[g];
        if (at >= _pos && searched >= 0) return at;
        if (at < 0 && searched >= _end && searched >= 0) return -1;
        int from = at < 0 && searched > _pos ? Math.Max(_pos, searched - _overlap) : _pos;
        var span = _chars.AsSpan(from, _end - from);
        int directive = _groups.Length + 1;
        int hit;
        if (g < _groups.Length) hit = _lower.AsSpan(from, _end - from).IndexOfAny(_groups[g]);
        else if (g == directive) { hit = span.IndexOf("\n#", StringComparison.Ordinal); if (hit >= 0) hit++; }
        else hit = span.IndexOf('%');
        at = hit < 0 ? -1 : from + hit;
        _hitAt[g] = at;
        _searchedTo[g] = _end;
        return at;
    }

    private void StartOverlong()
    {
        Stats.Lines++;
        Stats.MalformedLines++;
        Stats.OverlongLines++;
        _nextLineNumber++;
        _skippingOverlong = true;
        if (_byteMode) _byteStart = _byteEnd;
        else _pos = _end;
    }

    /// <summary>Complete lines passed over by the prefilter: counted, checked for binary junk, sampled for time.</summary>
    private void Skipped(int start, int length)
    {
        if (length <= 0) return;
        var region = _chars.AsSpan(start, length);
        int lines = region.Count('\n');
        if (region[^1] != '\n') lines++;
        Stats.Lines += lines;
        _nextLineNumber += lines;
        if (region.ContainsAny('\0', '\uFFFD'))
        {
            foreach (var l in region.EnumerateLines())
                if (l.ContainsAny('\0', '\uFFFD')) { Stats.MalformedLines++; Stats.BinaryLines++; }
        }
        if (!HeaderTrusted) { SampleEachLine(region); return; }
        // Logs are written in time order: the first and last line bound the region. Only when they fall
        // on different days is every line's date read, so each day with records is known (gap report).
        var first = SampleTime(FirstDataLine(region), _header);
        var last = SampleTime(LastDataLine(region), _header);
        if (OnTwoDays(first, last))
            foreach (var line in region.EnumerateLines()) SampleTime(line, _header);
    }

    private static bool OnTwoDays(DateTimeOffset? first, DateTimeOffset? last) =>
        first is { } f && last is { } l && f.UtcDateTime.Date != l.UtcDateTime.Date;

    /// <summary>
    /// <see cref="Skipped"/> for complete lines of the byte path, which are plain ASCII without NUL (anything else
    /// is a search hit): counted in place; only the lines sampled for time are widened to text.
    /// </summary>
    private void SkippedAscii(ReadOnlySpan<byte> region)
    {
        if (region.IsEmpty) return;
        if (!HeaderTrusted) { Skipped(0, Widen(region)); return; }
        int lines = region.Count((byte)'\n');
        if (region[^1] != (byte)'\n') lines++;
        Stats.Lines += lines;
        _nextLineNumber += lines;
        var first = SampleTime(FirstDataLineOf(region), _header);
        var last = SampleTime(LastDataLineOf(region), _header);
        if (OnTwoDays(first, last))
            foreach (var line in _chars.AsSpan(0, Widen(region)).EnumerateLines()) SampleTime(line, _header);
    }

    /// <summary>ASCII bytes as text at the start of _chars; returns the length.</summary>
    private int Widen(ReadOnlySpan<byte> ascii)
    {
        System.Text.Ascii.ToUtf16(ascii, _chars, out int written);
        return written;
    }

    /// <summary><see cref="FirstDataLine"/> of a byte region, widening it one newline-ended piece at a time.</summary>
    private ReadOnlySpan<char> FirstDataLineOf(ReadOnlySpan<byte> region)
    {
        while (!region.IsEmpty)
        {
            int nl = region.IndexOf((byte)'\n');
            int end = nl < 0 ? region.Length : nl + 1;
            var line = FirstDataLine(_chars.AsSpan(0, Widen(region[..end])));
            if (!line.IsEmpty) return line;
            region = region[end..];
        }
        return default;
    }

    /// <summary><see cref="LastDataLine"/> of a byte region (the same walk back over newlines, on bytes).</summary>
    private ReadOnlySpan<char> LastDataLineOf(ReadOnlySpan<byte> region)
    {
        var r = region.TrimEnd("\r\n"u8);
        while (!r.IsEmpty)
        {
            int nl = r.LastIndexOf((byte)'\n');
            var l = r[(nl + 1)..];
            if (!l.IsEmpty && l[0] != (byte)'#') return _chars.AsSpan(0, Widen(l));
            if (nl < 0) break;
            r = r[..nl];
        }
        return default;
    }

    /// <summary>Without a header to trust, each skipped line gets its own field list (or counts as unparsed).</summary>
    private void SampleEachLine(ReadOnlySpan<char> region)
    {
        long number = _nextLineNumber - (region.Count('\n') + (region[^1] != '\n' ? 1 : 0)) - 1;
        foreach (var l in region.EnumerateLines())
        {
            var line = l.TrimEnd('\r');
            number++;
            if (line.IsEmpty || line[0] == '#' || TakeBareHeader(line, number)) continue;
            var schema = SchemaFor(line, number);
            if (schema is null) { Stats.UnparsedLines++; continue; }
            SampleTime(line, schema);
        }
    }

    private static ReadOnlySpan<char> FirstDataLine(ReadOnlySpan<char> region)
    {
        foreach (var l in region.EnumerateLines())
            if (!l.IsEmpty && l[0] != '#') return l;
        return default;
    }

    private static ReadOnlySpan<char> LastDataLine(ReadOnlySpan<char> region)
    {
        var r = region.TrimEnd("\r\n");
        while (!r.IsEmpty)
        {
            int nl = r.LastIndexOf('\n');
            var l = r[(nl + 1)..];
            if (!l.IsEmpty && l[0] != '#') return l;
            if (nl < 0) break;
            r = r[..nl];
        }
        return default;
    }

    private DateTimeOffset? SampleTime(ReadOnlySpan<char> line, LogSchema? schema)
    {
        line = line.TrimEnd('\r');
        if (line.IsEmpty || line[0] == '#' || schema is null) return null;
        if (_firstDataLine is null) { _firstDataLine = line.Length > 8192 ? line[..8192].ToString() : line.ToString(); _firstDataSchema = schema; }
        var t = ParseTime(line, schema);
        if (t is { } x) Stats.AddTime(x);
        return t;
    }

    private DateTimeOffset? ParseTime(ReadOnlySpan<char> line, LogSchema schema)
    {
        if (schema.TimestampIndex >= 0)
            return TryNthField(line, schema.TimestampIndex, out var v) ? LogTime.ParseIso(v) : null;
        if (schema.DateIndex >= 0 && schema.TimeIndex >= 0 &&
            TryNthField(line, schema.DateIndex, out var d) && TryNthField(line, schema.TimeIndex, out var tm))
            return LogTime.ParseW3c(d, tm);
        return null;
    }

    private string? _firstDataLine;
    private LogSchema? _firstDataSchema;

    /// <summary>
    /// A field of the first data line of the file (read even when the prefilter skipped it), for facts that
    /// every line repeats: the server name, the protocol. Null when absent.
    /// </summary>
    public string? FirstLineField(string name)
    {
        if (_firstDataLine is null || _firstDataSchema is null) return null;
        int i = _firstDataSchema.IndexOf(name);
        if (i < 0 || !TryNthField(_firstDataLine, i, out var value)) return null;
        if (value.IsEmpty || (Descriptor.DashMeansEmpty && value is "-")) return null;
        return value.ToString();
    }

    /// <summary>Field n of an unsplit line (for time sampling; quotes are honoured for CSV).</summary>
    private bool TryNthField(ReadOnlySpan<char> line, int n, out ReadOnlySpan<char> value)
    {
        int field = 0, i = 0;
        while (true)
        {
            int start = i;
            bool quoted = _separator == ',' && i < line.Length && line[i] == '"';
            if (quoted)
            {
                i++;
                while (i < line.Length && !(line[i] == '"' && (i + 1 >= line.Length || line[i + 1] != '"'))) i += line[i] == '"' ? 2 : 1;
                i = Math.Min(i + 1, line.Length);
            }
            int sep = line[i..].IndexOf(_separator);
            int end = sep < 0 ? line.Length : i + sep;
            if (field == n)
            {
                value = line[start..end];
                if (quoted && value.Length >= 2) value = value[1..^1];
                return true;
            }
            if (sep < 0) { value = default; return false; }
            i = end + 1;
            field++;
        }
    }

    private void Directive(ReadOnlySpan<char> line, long number)
    {
        if (LogText.TryDirective(line, "Fields", out var fields))
        {
            var schema = Descriptor.ParseSchema(fields);
            var twice = schema.RepeatedName;
            if (schema.Names.All(n => n.Length == 0))
            {
                // An empty header would make every line a column mismatch: as if there were none.
                _header = null;
                _headerTrusted = false;
                Note($"the #Fields header at line {number} is empty: ignored; lines are read by the known {Descriptor.Title} field lists or by their content");
            }
            else if (twice is not null)
            {
                // A real log never names a field twice; such a header can hide a field (or shift all of them).
                _header = schema;
                _headerTrusted = false;
                Note($"the #Fields header at line {number} names '{Clip(twice)}' twice: not trusted; lines are read by the known {Descriptor.Title} field lists or by their content where they fit");
            }
            else
            {
                _header = schema;
                _headerTrusted = true;
            }
            Schema = _header;
            return;
        }
        if (Software is null && LogText.TryDirective(line, "Software", out var v)) Software = v.ToString();
        else if (Version is null && LogText.TryDirective(line, "Version", out v)) Version = v.ToString();
        else if (LogType is null && LogText.TryDirective(line, "Log-type", out v)) LogType = v.ToString();
    }

    /// <summary>
    /// Exchange's CSV logs begin with their field names as a plain line, before the directives: a first line of
    /// three or more bare names (no time, no address) is taken as the header, not counted as data.
    /// </summary>
    private bool TakeBareHeader(ReadOnlySpan<char> line, long number)
    {
        if (number != 1 || _header is not null || !IsBareCsvHeader(line)) return false;
        Schema = _header = Descriptor.ParseSchema(line.TrimStart('\uFEFF'));
        _headerTrusted = true;
        return true;
    }

    private bool IsBareCsvHeader(ReadOnlySpan<char> line)
    {
        if (_separator != ',') return false;
        int names = 0;
        foreach (var range in line.TrimStart('\uFEFF').Split(','))
        {
            var name = line.TrimStart('\uFEFF')[range];
            if (name.IsEmpty || !char.IsAsciiLetter(name[0])) return false;
            foreach (var c in name) if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-')) return false;
            names++;
        }
        return names >= 3;
    }

    private static string Clip(string s) => s.Length > 60 ? s[..60] + "..." : s;

    private readonly HashSet<string> _noted = new(StringComparer.Ordinal);

    /// <summary>A coverage note, once per kind and file (the first line it applies to names it).</summary>
    private void Note(string text, string? kind = null)
    {
        if (kind is null || _noted.Add(kind)) Stats.Notes.Add(text);
    }

    /// <summary>The header from the last #Fields (null when none or empty) and whether it can be believed.</summary>
    private LogSchema? _header;
    private bool _headerTrusted;
    private bool HeaderTrusted => _header is not null && _headerTrusted;

    /// <summary>
    /// The field list of a data line: the #Fields header when it is trusted (a line whose columns do not fit it is
    /// re-read when its fields are asked for, see <see cref="EnsureParsed"/>); otherwise one of the format's known
    /// lists with exactly the line's column count whose values fit, else fields found by their content, else the
    /// untrusted header, else none.
    /// </summary>
    private LogSchema? SchemaFor(ReadOnlySpan<char> line, long number)
    {
        if (HeaderTrusted) return _header;
        if (!_options.UseDefaultFields) return _header;
        return Fallback(line, CountColumns(line), number) ?? _header;
    }

    private LogSchema? Fallback(ReadOnlySpan<char> line, int columns, long number)
    {
        string why = _header is null ? "no #Fields header" : _headerTrusted ? $"its {columns} columns do not fit the #Fields header ({_header.Count} fields)" : "the #Fields header is not trusted";
        foreach (var d in Descriptor.DefaultSchemas)
        {
            if (d.Count != columns || !Fits(d, line)) continue;
            if (_header is null)
                Note($"no #Fields header before line {number}; the default {Descriptor.Title} field list ({d.Count} fields) was used because the line has exactly that many columns", "default:" + d.Count);
            else
                Note($"line {number}: {why}; read by the known {Descriptor.Title} field list of {d.Count} fields", "default:" + d.Count);
            return d;
        }
        if (_separator == ' ' && W3cContent.Sniff(line, Descriptor, _sniffed) is { } sniffed)
        {
            Note($"line {number}: {why} and no known {Descriptor.Title} field list has {columns} columns; fields found by their content (method, URL, status, addresses)", "content");
            return sniffed;
        }
        return null;
    }

    private readonly Dictionary<(long, int), LogSchema> _sniffed = [];

    /// <summary>A known W3C list fits a line when its method and URL columns hold a method and a path.</summary>
    private bool Fits(LogSchema schema, ReadOnlySpan<char> line)
    {
        if (_separator != ' ') return true;
        int m = schema.IndexOf("Method"), u = schema.IndexOf("Stem");
        if (m < 0 || u < 0) return true;
        return TryNthField(line, m, out var method) && W3cContent.IsMethod(method)
            && TryNthField(line, u, out var stem) && stem.Length > 0 && stem[0] == '/';
    }

    /// <summary>Columns of an unsplit line (quotes honoured for CSV; a trailing W3C space adds none).</summary>
    private int CountColumns(ReadOnlySpan<char> line)
    {
        if (_separator == ' ')
        {
            var t = line.TrimEnd(' ');
            return t.Count(' ') + 1;
        }
        int n = 1;
        bool quoted = false;
        foreach (var c in line)
        {
            if (c == '"') quoted = !quoted;
            else if (c == _separator && !quoted) n++;
        }
        return n;
    }

    private void EnsureParsed()
    {
        if (_parsed) return;
        _parsed = true;
        ParseCurrent();
        if (_columnMismatch && HeaderTrusted && ReferenceEquals(Schema, _header) && _options.UseDefaultFields
            && Fallback(Line, CountColumns(Line), LineNumber) is { } other)
        {
            // The header does not fit this line: a known list or the line's content does.
            Schema = other;
            ParseCurrent();
            Timestamp ??= ParseTime(Line, other);
        }
        if (_columnMismatch) { Stats.ColumnMismatchLines++; Stats.MalformedLines++; }
    }

    private void ParseCurrent()
    {
        _fieldCount = 0;
        _scratchUsed = 0;
        _columnMismatch = false;
        var line = Line;
        if (Schema is null) return;
        int i = 0;
        while (true)
        {
            EnsureFieldCapacity(_fieldCount + 1);
            if (_separator == ',' && i < line.Length && line[i] == '"')
            {
                // RFC 4180 quoting: "" inside a quoted value is one quote. The value is copied unescaped.
                int j = i + 1;
                int outStart = _scratchUsed;
                while (j < line.Length)
                {
                    char c = line[j];
                    if (c == '"')
                    {
                        if (j + 1 < line.Length && line[j + 1] == '"') { AppendScratch('"'); j += 2; continue; }
                        j++;
                        break;
                    }
                    AppendScratch(c);
                    j++;
                }
                _fieldStart[_fieldCount] = outStart;
                _fieldLength[_fieldCount] = _scratchUsed - outStart;
                _fieldUnescaped[_fieldCount] = true;
                _fieldCount++;
                // Anything between the closing quote and the separator is malformed; skip to the separator.
                int sep = line[j..].IndexOf(_separator);
                if (sep < 0) break;
                i = j + sep + 1;
                continue;
            }
            int s = line[i..].IndexOf(_separator);
            int end = s < 0 ? line.Length : i + s;
            _fieldStart[_fieldCount] = i;
            _fieldLength[_fieldCount] = end - i;
            _fieldUnescaped[_fieldCount] = false;
            _fieldCount++;
            if (s < 0) break;
            i = end + 1;
        }
        // IIS pads nothing, but a W3C line with a trailing space would add an empty column.
        if (_separator == ' ' && _fieldCount == Schema!.Count + 1 && _fieldLength[_fieldCount - 1] == 0) _fieldCount--;
        _columnMismatch = _fieldCount != Schema!.Count;
    }

    private void AppendScratch(char c)
    {
        if (_scratchUsed == _scratch.Length)
        {
            var bigger = ArrayPool<char>.Shared.Rent(_scratch.Length * 2);
            _scratch.AsSpan(0, _scratchUsed).CopyTo(bigger);
            ArrayPool<char>.Shared.Return(_scratch);
            _scratch = bigger;
        }
        _scratch[_scratchUsed++] = c;
    }

    private void EnsureFieldCapacity(int n)
    {
        if (n <= _fieldStart.Length) return;
        Grow(ref _fieldStart, n);
        Grow(ref _fieldLength, n);
        Grow(ref _fieldUnescaped, n);
    }

    private static void Grow<T>(ref T[] array, int n)
    {
        var bigger = ArrayPool<T>.Shared.Rent(Math.Max(n, array.Length * 2));
        array.AsSpan().CopyTo(bigger);
        ArrayPool<T>.Shared.Return(array);
        array = bigger;
    }

    /// <summary>Moves unread chars to the front and decodes more bytes behind them.</summary>
    private void Fill()
    {
        if (_pos > 0)
        {
            int keep = _end - _pos;
            if (keep > 0)
            {
                Array.Copy(_chars, _pos, _chars, 0, keep);
                if (_lower.Length > 0) Array.Copy(_lower, _pos, _lower, 0, keep);
            }
            for (int g = 0; g < _hitAt.Length; g++)
            {
                // A hit before _pos is stale: forget it and search afresh; others move with the data.
                if (_hitAt[g] >= 0 && _hitAt[g] < _pos) { _hitAt[g] = -1; _searchedTo[g] = -1; }
                else
                {
                    if (_hitAt[g] >= 0) _hitAt[g] -= _pos;
                    _searchedTo[g] = _searchedTo[g] < 0 ? -1 : Math.Max(0, _searchedTo[g] - _pos);
                }
            }
            _end = keep;
            _pos = 0;
        }
        if (_end == _chars.Length) return; // full: the caller treats the line as overlong
        while (!_charsEof)
        {
            if (_byteStart == _byteEnd && !_bytesEof)
            {
                _byteStart = 0;
                _byteEnd = 0;
                ReadBytesUpTo(ByteChunk / 2);
            }
            _decoder!.Convert(_bytes, _byteStart, _byteEnd - _byteStart, _chars, _end, _chars.Length - _end,
                _bytesEof, out int used, out int produced, out bool completed);
            _byteStart += used;
            // One-to-one per UTF-16 unit, so positions in the lower-cased copy are positions in the text.
            if (_lower.Length > 0 && produced > 0) LowerCase(_chars.AsSpan(_end, produced), _lower.AsSpan(_end, produced));
            _end += produced;
            if (_bytesEof && completed && _byteStart == _byteEnd) _charsEof = true;
            if (produced > 0 || _end == _chars.Length) break;
        }
        if (!_started && _end > 0 && _chars[0] == '\uFEFF') _pos = 1;
        _started = true;
    }

    /// <summary>Reads until the byte buffer holds at least <paramref name="atLeast"/> bytes or the stream ends.</summary>
    private void ReadBytesUpTo(int atLeast)
    {
        int capacity = _byteMode ? _byteCapacity : _bytes.Length;
        while (_byteEnd < atLeast && _byteEnd < capacity && !_bytesEof)
        {
            int n = _stream.Read(_bytes, _byteEnd, capacity - _byteEnd);
            if (n <= 0) _bytesEof = true;
            else _byteEnd += n;
        }
    }

    /// <summary>The first read: the encoding, and with it the path (bytes for UTF-8 with a byte search, else text).</summary>
    private void Start()
    {
        ReadBytesUpTo(ByteChunk / 2);
        var enc = LogText.DetectEncoding(_bytes.AsSpan(_byteStart, _byteEnd - _byteStart), out int pre);
        _byteStart += pre;
        _decoder = enc.GetDecoder();
        _encoding = enc;
        Stats.Encoding = enc.WebName;
        // The search is built for this file: its first bytes tell which bytes of each literal are rare in it.
        if (enc is UTF8Encoding && !_everyLine && _options.SearchBytes)
            _search = Utf8CandidateSearch.TryCreate(_literals, _percent, _bytes.AsSpan(_byteStart, _byteEnd - _byteStart));
        _byteMode = _search is not null;
        // The text path drops a U+FEFF left at the start (a second byte-order mark); so does the byte path.
        if (_byteMode && _bytes.AsSpan(_byteStart, _byteEnd - _byteStart).StartsWith("\uFEFF"u8)) _byteStart += 3;
    }

    /// <summary>Byte path: moves the unread bytes (a partial line) to the front and reads behind them.</summary>
    private void FillBytes()
    {
        int keep = _byteEnd - _byteStart;
        if (_byteStart > 0)
        {
            _bytes.AsSpan(_byteStart, keep).CopyTo(_bytes);
            _byteStart = 0;
            _byteEnd = keep;
        }
        // Unreachable with the overlong limits above; a full buffer would otherwise never advance.
        if (keep >= _byteCapacity) { StartOverlong(); return; }
        ReadBytesUpTo(_byteCapacity);
    }

    public void Dispose()
    {
        if (_bytes.Length > 0) ArrayPool<byte>.Shared.Return(_bytes);
        if (_chars.Length > 0) ArrayPool<char>.Shared.Return(_chars);
        if (_lower.Length > 0) ArrayPool<char>.Shared.Return(_lower);
        _lower = [];
        ArrayPool<int>.Shared.Return(_fieldStart);
        ArrayPool<int>.Shared.Return(_fieldLength);
        ArrayPool<bool>.Shared.Return(_fieldUnescaped);
        ArrayPool<char>.Shared.Return(_scratch);
        _bytes = [];
        _chars = [];
    }
}
