using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using System.Text;

namespace Exir.Proxy.AccessLog;

/// <summary>Settings of <see cref="W3cAccessLogWriter"/>; the defaults suit a production proxy.</summary>
public sealed record W3cAccessLogOptions
{
    /// <summary>The version in "#Software: exir proxy VERSION"; null: this assembly's version.</summary>
    public string? Version { get; init; }
    /// <summary>Lines waiting for the disk beyond this many bytes are dropped (counted in <see cref="W3cAccessLogWriter.Dropped"/>): a stalled disk never grows the proxy's memory.</summary>
    public long MaxQueuedBytes { get; init; } = 16 * 1024 * 1024;
    /// <summary>Written lines reach the file at least this often.</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Cap of one escaped field; a longer one ends in <see cref="W3cAccessLogWriter.TruncationMark"/>.</summary>
    public int MaxFieldBytes { get; init; } = 8 * 1024;
    /// <summary>
    /// Cap of one line. exir's log reader skips lines over 64 Ki characters as overlong, so the longest fields are cut
    /// further until the line fits: an attacker cannot pad a request out of the hunt.
    /// </summary>
    public int MaxLineBytes { get; init; } = 56 * 1024;
}

/// <summary>
/// The proxy's access log: a W3C extended log in IIS's shape (one file per UTC day, exir-proxy_yyyyMMdd.log) that
/// <c>exir scan</c> hunts like an IIS log, plus what exir decided (x-exir-action, x-exir-rules, x-exir-normalised).
/// <para>
/// Every value is attacker-controlled and is escaped so that an entry is always exactly one line of exactly
/// <see cref="FieldCount"/> space-separated tokens: bytes below 0x21, 0x7F and non-ASCII (UTF-8 encoded first) as %XX
/// everywhere; in header-like values a space as '+' (as IIS writes them) and a literal '+' or '%' as %2B and %25;
/// URI fields keep '%' and '+' as received (they are already percent-encoded on the wire). Empty is "-", a value that
/// is "-" itself is %2D.
/// </para>
/// <para>
/// <see cref="Write"/> is thread-safe, formats on the caller's thread and queues the line; one background thread
/// writes and flushes (at least every <see cref="W3cAccessLogOptions.FlushInterval"/> and at <see cref="Dispose"/>).
/// Disk errors never reach the caller: they are counted (<see cref="WriteErrors"/>, <see cref="LostEntries"/>) and
/// the file is reopened at most once per flush interval.
/// </para>
/// </summary>
public sealed class W3cAccessLogWriter : IDisposable
{
    public const string FileNamePrefix = "exir-proxy_";
    public const string SoftwareName = "exir proxy";
    public const string Fields = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs-version cs(User-Agent) cs(Cookie) cs(Referer) cs-host sc-status sc-substatus sc-bytes cs-bytes time-taken x-forwarded-for x-exir-action x-exir-rules x-exir-normalised";
    public static readonly int FieldCount = Fields.Split(' ').Length;
    /// <summary>Ends a field that was cut; one token (no space), so the column count stays.</summary>
    public const string TruncationMark = "...(truncated)";

    private static readonly byte[] Mark = Encoding.ASCII.GetBytes(TruncationMark);
    // Characters written as they are: printable ASCII; header-like values also escape '+' and '%'.
    private static readonly SearchValues<char> UriSafe = SearchValues.Create(Printable(""));
    private static readonly SearchValues<char> HeaderSafe = SearchValues.Create(Printable("+%"));

    private static string Printable(string except)
    {
        var chars = new List<char>();
        for (char c = '!'; c <= '~'; c++)
            if (!except.Contains(c)) chars.Add(c);
        return new string([.. chars]);
    }
    private static readonly byte[] NewLine = "\r\n"u8.ToArray();

    private readonly W3cAccessLogOptions _options;
    private readonly string _version;
    private readonly ConcurrentQueue<Pending> _queue = new();
    private readonly ManualResetEventSlim _wake = new(false);
    private readonly Thread _thread;
    private readonly long _flushMs;
    private long _queuedBytes, _written, _dropped, _writeErrors, _lost;
    private volatile bool _stopping;
    private int _disposed;
    private string? _lastError;

    // Owned by the writer thread.
    private FileStream? _file;
    private DateOnly _fileDay;
    private bool _dirty;
    private long _lastFlush = long.MinValue / 2, _retryAfter = long.MinValue / 2;

    private readonly record struct Pending(DateTimeOffset Time, byte[] Line);

    public W3cAccessLogWriter(string directory, W3cAccessLogOptions? options = null)
    {
        Directory = directory;
        _options = options ?? new W3cAccessLogOptions();
        _version = _options.Version ?? AssemblyVersion();
        _flushMs = Math.Max(1, (long)_options.FlushInterval.TotalMilliseconds);
        _thread = new Thread(Loop) { IsBackground = true, Name = "exir access log" };
        _thread.Start();
    }

    /// <summary>The folder the daily files go to (created when missing).</summary>
    public string Directory { get; }
    /// <summary>Entries handed to the disk (not counting those lost in a failed write).</summary>
    public long Written => Interlocked.Read(ref _written);
    /// <summary>Entries dropped because too much was waiting for the disk, or written after <see cref="Dispose"/>.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);
    /// <summary>Failed disk operations (create, open, write, flush, close).</summary>
    public long WriteErrors => Interlocked.Read(ref _writeErrors);
    /// <summary>Entries that could not be written because of a disk error.</summary>
    public long LostEntries => Interlocked.Read(ref _lost);
    /// <summary>The message of the last disk error, for the host to report.</summary>
    public string? LastError => Volatile.Read(ref _lastError);

    /// <summary>exir-proxy_yyyyMMdd.log</summary>
    public static string FileNameFor(DateOnly utcDay) => FileNamePrefix + utcDay.ToString("yyyyMMdd", CultureInfo.InvariantCulture) + ".log";

    /// <summary>Queues one entry. Never throws and never blocks on the disk.</summary>
    public void Write(AccessLogEntry entry)
    {
        if (entry is null) return;
        if (_stopping) { Interlocked.Increment(ref _dropped); return; }
        byte[] line;
        try { line = FormatLineBytes(entry, _options); }
        catch (Exception e)
        {
            Interlocked.Increment(ref _lost);
            Volatile.Write(ref _lastError, "format: " + e.Message);
            return;
        }
        if (Interlocked.Add(ref _queuedBytes, line.Length) > _options.MaxQueuedBytes)
        {
            Interlocked.Add(ref _queuedBytes, -line.Length);
            Interlocked.Increment(ref _dropped);
            return;
        }
        _queue.Enqueue(new Pending(entry.Time, line));
        if (!_wake.IsSet) _wake.Set();
    }

    /// <summary>The entry's line as the file holds it (without the line end); for tests and tools.</summary>
    public static string FormatLine(AccessLogEntry entry, W3cAccessLogOptions? options = null)
    {
        var bytes = FormatLineBytes(entry, options ?? new W3cAccessLogOptions());
        return Encoding.ASCII.GetString(bytes, 0, bytes.Length - NewLine.Length);
    }

    /// <summary>The header block written whenever a file is opened.</summary>
    public string Header(DateTimeOffset time) =>
        $"#Software: {SoftwareName} {Escape(_version, FieldKind.Header)}\r\n#Version: 1.0\r\n" +
        $"#Date: {time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)}\r\n#Fields: {Fields}\r\n";

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stopping = true;
        _wake.Set();
        // A disk that hangs must not hang the proxy's shutdown for ever.
        if (_thread.Join(TimeSpan.FromSeconds(10)))
            while (_queue.TryDequeue(out var late)) // queued by a Write racing with Dispose
            {
                Interlocked.Add(ref _queuedBytes, -late.Line.Length);
                Interlocked.Increment(ref _dropped);
            }
    }

    // ---- the writer thread ----

    private void Loop()
    {
        while (true)
        {
            _wake.Reset();
            while (_queue.TryDequeue(out var p))
            {
                Interlocked.Add(ref _queuedBytes, -p.Line.Length);
                WriteOne(p);
            }
            long now = Environment.TickCount64;
            bool stopping = _stopping;
            if (_dirty && (stopping || now - _lastFlush >= _flushMs)) Flush(now);
            if (stopping && _queue.IsEmpty) break;
            int wait = _dirty ? (int)Math.Clamp(_flushMs - (now - _lastFlush), 1, int.MaxValue) : Timeout.Infinite;
            _wake.Wait(wait);
        }
        // _wake is not disposed: a Write racing with Dispose may still set it (it holds no kernel handle).
        Close();
    }

    private void WriteOne(Pending p)
    {
        var day = DateOnly.FromDateTime(p.Time.UtcDateTime);
        if (_file is null || day != _fileDay)
        {
            if (_file is not null) { Flush(Environment.TickCount64); Close(); }
            if (!Open(day, p.Time)) { Interlocked.Increment(ref _lost); return; }
        }
        try
        {
            _file!.Write(p.Line);
            _dirty = true;
            Interlocked.Increment(ref _written);
        }
        catch (Exception e)
        {
            Failed(e);
            Interlocked.Increment(ref _lost);
            Close();
        }
    }

    private bool Open(DateOnly day, DateTimeOffset time)
    {
        long now = Environment.TickCount64;
        if (now < _retryAfter) return false;
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            var path = Path.Combine(Directory, FileNameFor(day));
            bool needsNewLine = EndsWithoutNewLine(path);
            _file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read | FileShare.Delete, 64 * 1024);
            _fileDay = day;
            if (needsNewLine) _file.Write(NewLine); // a line cut by a crash stays apart from the new header
            _file.Write(Encoding.ASCII.GetBytes(Header(time)));
            _dirty = true;
            return true;
        }
        catch (Exception e)
        {
            Failed(e);
            Close();
            _retryAfter = now + _flushMs;
            return false;
        }
    }

    private static bool EndsWithoutNewLine(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists || info.Length == 0) return false;
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        f.Seek(-1, SeekOrigin.End);
        return f.ReadByte() != '\n';
    }

    private void Flush(long now)
    {
        _lastFlush = now;
        _dirty = false;
        if (_file is null) return;
        try { _file.Flush(); }
        catch (Exception e)
        {
            Failed(e);
            Close();
            _retryAfter = now + _flushMs;
        }
    }

    private void Close()
    {
        var f = _file;
        _file = null;
        _dirty = false;
        if (f is null) return;
        try { f.Dispose(); }
        catch (Exception e) { Failed(e); }
    }

    private void Failed(Exception e)
    {
        Interlocked.Increment(ref _writeErrors);
        Volatile.Write(ref _lastError, e.Message);
    }

    private static string AssemblyVersion()
    {
        var v = typeof(W3cAccessLogWriter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
                ?? typeof(W3cAccessLogWriter).Assembly.GetName().Version?.ToString() ?? "0";
        int plus = v.IndexOf('+');
        return plus > 0 ? v[..plus] : v;
    }

    // ---- formatting ----

    private enum FieldKind
    {
        /// <summary>cs-uri-stem, cs-uri-query: '%' and '+' kept as received.</summary>
        Uri,
        /// <summary>Everything else: space as '+', '+' and '%' escaped, as IIS writes header values.</summary>
        Header,
    }

    private static string Escape(string value, FieldKind kind)
    {
        var buffer = new byte[value.Length * 12 + 16];
        int n = EscapeInto(value, kind, buffer, int.MaxValue / 4);
        return Encoding.ASCII.GetString(buffer, 0, n);
    }

    private static byte[] FormatLineBytes(AccessLogEntry e, W3cAccessLogOptions o)
    {
        int cap = Math.Max(Mark.Length + 8, o.MaxFieldBytes);
        var fieldStart = new int[FieldCount];
        var fieldLength = new int[FieldCount];
        // Every field fits its cap (+ the mark); the fixed ones are short.
        var buffer = ArrayPool<byte>.Shared.Rent(FieldCount * (cap + Mark.Length + 16));
        try
        {
            int pos = 0, field = 0;
            var utc = e.Time.UtcDateTime;

            void Add(int length) { fieldStart[field] = pos; fieldLength[field] = length; pos += length; field++; }
            void Text(string? value, FieldKind kind) => Add(EscapeInto(value, kind, buffer.AsSpan(pos), cap));
            void Number(long value)
            {
                if (value < 0) { buffer[pos] = (byte)'-'; Add(1); return; }
                value.TryFormat(buffer.AsSpan(pos), out int n, default, CultureInfo.InvariantCulture);
                Add(n);
            }

            Digits(buffer.AsSpan(pos), utc.Year, 4, '-', utc.Month, '-', utc.Day); Add(10);
            Digits(buffer.AsSpan(pos), utc.Hour, 2, ':', utc.Minute, ':', utc.Second); Add(8);
            Text(e.ServerIp, FieldKind.Header);
            Text(e.Method, FieldKind.Header);
            var target = e.RawTarget ?? "";
            int q = target.IndexOf('?');
            Text(q < 0 ? target : target[..q], FieldKind.Uri);
            Text(q < 0 ? null : target[(q + 1)..], FieldKind.Uri);
            if (e.Port > 0) Number(e.Port); else Number(-1);
            Text(e.User, FieldKind.Header);
            Text(e.ClientIp, FieldKind.Header);
            Text(e.HttpVersion, FieldKind.Header);
            Text(e.UserAgent, FieldKind.Header);
            Text(e.Cookie, FieldKind.Header);
            Text(e.Referer, FieldKind.Header);
            Text(e.Host, FieldKind.Header);
            Number(e.Status);
            Number(e.SubStatus);
            Number(e.BytesSent);
            Number(e.BytesReceived);
            Number(e.TimeTakenMs);
            Text(e.ForwardedFor, FieldKind.Header);
            Text(AccessLogEntry.ActionToken(e.Action), FieldKind.Header);
            Text(e.Rules is { Count: > 0 } r ? string.Join(',', r) : null, FieldKind.Header);
            Text(e.Normalised, FieldKind.Header);

            // The line budget: cut the longest field until the line fits the reader's limit.
            int total = FieldCount - 1 + NewLine.Length;
            foreach (var l in fieldLength) total += l;
            int budget = Math.Max(o.MaxLineBytes, FieldCount * (Mark.Length + 4) + 64);
            while (total > budget)
            {
                int longest = 0;
                for (int i = 1; i < FieldCount; i++)
                    if (fieldLength[i] > fieldLength[longest]) longest = i;
                int keep = Math.Max(8, fieldLength[longest] - (total - budget) - Mark.Length);
                int cut = SafeCut(buffer.AsSpan(fieldStart[longest], fieldLength[longest]), keep);
                Mark.CopyTo(buffer.AsSpan(fieldStart[longest] + cut));
                int newLength = cut + Mark.Length;
                if (newLength >= fieldLength[longest]) break; // cannot shrink further (never happens with sane options)
                total -= fieldLength[longest] - newLength;
                fieldLength[longest] = newLength;
            }

            var line = new byte[total];
            int o2 = 0;
            for (int i = 0; i < FieldCount; i++)
            {
                if (i > 0) line[o2++] = (byte)' ';
                buffer.AsSpan(fieldStart[i], fieldLength[i]).CopyTo(line.AsSpan(o2));
                o2 += fieldLength[i];
            }
            NewLine.CopyTo(line.AsSpan(o2));
            return line;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>"2021-03-03" or "02:14:07": a number of <paramref name="firstWidth"/> digits, then two of two digits.</summary>
    private static void Digits(Span<byte> dest, int first, int firstWidth, char separator1, int second, char separator2, int third)
    {
        for (int i = firstWidth - 1; i >= 0; i--, first /= 10) dest[i] = (byte)('0' + first % 10);
        dest[firstWidth] = (byte)separator1;
        dest[firstWidth + 1] = (byte)('0' + second / 10);
        dest[firstWidth + 2] = (byte)('0' + second % 10);
        dest[firstWidth + 3] = (byte)separator2;
        dest[firstWidth + 4] = (byte)('0' + third / 10);
        dest[firstWidth + 5] = (byte)('0' + third % 10);
    }

    /// <summary>
    /// Escapes <paramref name="value"/> into <paramref name="dest"/> (room for cap + the mark) and returns the length.
    /// Output is printable ASCII without spaces, never empty.
    /// </summary>
    private static int EscapeInto(string? value, FieldKind kind, Span<byte> dest, int cap)
    {
        if (string.IsNullOrEmpty(value)) { dest[0] = (byte)'-'; return 1; }
        if (value == "-") { "%2D"u8.CopyTo(dest); return 3; }
        int n = 0;
        Span<byte> utf8 = stackalloc byte[4];
        var safe = kind == FieldKind.Uri ? UriSafe : HeaderSafe;
        for (int i = 0; i < value.Length; i++)
        {
            // The common case: a run of characters written as they are, copied at once.
            int run = value.AsSpan(i).IndexOfAnyExcept(safe);
            if (run != 0)
            {
                if (run < 0) run = value.Length - i;
                int take = Math.Min(run, cap - n);
                System.Text.Ascii.FromUtf16(value.AsSpan(i, take), dest[n..], out _);
                n += take;
                if (take < run) return Truncate(dest, n, cap);
                i += run;
                if (i >= value.Length) break;
            }
            char c = value[i];
            int produced;
            if (c < 0x80)
            {
                bool escape = c < 0x21 || c == 0x7F || (kind == FieldKind.Header && c is '+' or '%');
                if (kind == FieldKind.Header && c == ' ') escape = false;
                produced = escape ? 3 : 1;
                if (n + produced > cap) return Truncate(dest, n, cap);
                if (!escape) dest[n++] = c == ' ' ? (byte)'+' : (byte)c;
                else n = Percent(dest, n, (byte)c);
                continue;
            }
            // Non-ASCII: UTF-8 first (a lone surrogate becomes U+FFFD), every byte as %XX.
            int bytes;
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                bytes = new Rune(c, value[i + 1]).EncodeToUtf8(utf8);
                i++;
            }
            else bytes = (Rune.TryCreate(c, out var rune) ? rune : Rune.ReplacementChar).EncodeToUtf8(utf8);
            produced = bytes * 3;
            if (n + produced > cap) return Truncate(dest, n, cap);
            for (int b = 0; b < bytes; b++) n = Percent(dest, n, utf8[b]);
        }
        return n;
    }

    private static int Percent(Span<byte> dest, int n, byte b)
    {
        dest[n] = (byte)'%';
        dest[n + 1] = (byte)"0123456789ABCDEF"[b >> 4];
        dest[n + 2] = (byte)"0123456789ABCDEF"[b & 15];
        return n + 3;
    }

    private static int Truncate(Span<byte> dest, int written, int cap)
    {
        int cut = SafeCut(dest[..written], Math.Min(written, cap - Mark.Length));
        Mark.CopyTo(dest[cut..]);
        return cut + Mark.Length;
    }

    /// <summary>A length at most <paramref name="keep"/> that does not split a %XX escape.</summary>
    private static int SafeCut(ReadOnlySpan<byte> field, int keep)
    {
        keep = Math.Clamp(keep, 0, field.Length);
        if (keep >= 1 && field[keep - 1] == '%') keep -= 1;
        else if (keep >= 2 && field[keep - 2] == '%') keep -= 2;
        return keep;
    }
}
