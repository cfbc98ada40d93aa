using System.Buffers;
using System.Text;

namespace Exir.Logs;

/// <summary>What the first bytes of a log say about it.</summary>
public sealed record LogSniffResult(LogFormat Format, string? Software, string? Version, string? LogType, string? Fields)
{
    public LogFormatDescriptor Descriptor => LogFormats.Get(Format);
}

/// <summary>
/// Reads a log's header directives (#Software, #Log-type, #Fields) case-insensitively and whatever the
/// encoding, and lets the registered formats (<see cref="LogFormats"/>) claim it. The path is only a hint,
/// used when the header is missing or ambiguous.
/// </summary>
public static class LogFormatSniffer
{
    // The head a scan hands over is 64 KiB; an Exchange header with its first data line is about 5. Decoding the
    // whole head up front was the largest cost that grows with the data on a tree of many small logs (bench/tpl).
    private const int DecodeStep = 4096;

    // The separators of MemoryExtensions.EnumerateLines: a piece is read up to the last of them.
    private static readonly SearchValues<char> LineBreaks = SearchValues.Create("\r\n\f\u0085\u2028\u2029");

    public static LogFormat? Sniff(ReadOnlySpan<byte> head, string relativePath) => SniffDetailed(head, relativePath)?.Format;

    public static LogSniffResult? SniffDetailed(ReadOnlySpan<byte> head, string relativePath)
    {
        if (head.IsEmpty) return null;
        var encoding = LogText.DetectEncoding(head, out int preamble);
        var body = head[preamble..];
        if (encoding is UnicodeEncoding) body = body[..(body.Length & ~1)];
        // Decoded a piece at a time (the decoder carries a character cut at a piece's end over to the next, so the
        // text is the same as decoding all at once); complete lines are read as they come, until the header is known.
        var decoder = encoding.GetDecoder();
        var chars = ArrayPool<char>.Shared.Rent(encoding.GetMaxCharCount(body.Length));
        try
        {
            var header = new HeaderScan();
            for (int offset = 0, decoded = 0, read = 0; ;)
            {
                int take = Math.Min(DecodeStep, body.Length - offset);
                bool last = offset + take == body.Length;
                decoded += decoder.GetChars(body.Slice(offset, take), chars.AsSpan(decoded), flush: last);
                offset += take;
                var pending = chars.AsSpan(read, decoded - read);
                int complete = last ? pending.Length : pending.LastIndexOfAny(LineBreaks) + 1;
                // A CR LF cut between two pieces reads as one more empty line, which changes nothing.
                if (header.Read(pending[..complete]) || last) break;
                read += complete;
            }
            return header.Claim(relativePath);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
    }

    /// <summary>The header read so far, line by line.</summary>
    private struct HeaderScan
    {
        private string? _software, _version, _logType, _fields, _firstData, _leading;
        private int _directives;

        /// <summary>Reads whole lines; true once the header is known (the rest of the head is not needed).</summary>
        public bool Read(ReadOnlySpan<char> text)
        {
            foreach (var raw in text.EnumerateLines())
            {
                var line = raw.TrimEnd('\r');
                if (line.Length > 0 && line[0] == '\uFEFF') line = line[1..];
                if (line.IsEmpty) continue;
                if (line[0] == '#')
                {
                    _directives++;
                    if (_software is null && LogText.TryDirective(line, "Software", out var v)) _software = v.ToString();
                    else if (_version is null && LogText.TryDirective(line, "Version", out v)) _version = v.ToString();
                    else if (_logType is null && LogText.TryDirective(line, "Log-type", out v)) _logType = v.ToString();
                    else if (_fields is null && LogText.TryDirective(line, "Fields", out v)) _fields = v.ToString();
                    continue;
                }
                // A wiped (zeroed) or damaged stretch is not the first data line: the lines after it still tell the format.
                if (IsJunk(line)) continue;
                // Exchange writes its CSV logs with a bare header line (DateTime,RequestId,...) before the directives:
                // look past one leading line for them.
                if (_directives == 0 && _leading is null && _firstData is null) { _leading = Clip(line); continue; }
                _firstData ??= Clip(line);
                // Headers sit at the top; once data started and everything is known, stop.
                if (_fields is not null || _directives == 0) return true;
            }
            return false;
        }

        public readonly LogSniffResult? Claim(string relativePath)
        {
            var format = LogFormats.Claim(new LogHeader(_software, _version, _logType, _fields, _firstData ?? _leading, _directives), relativePath);
            return format is { } f ? new LogSniffResult(f.Format, _software, _version, _logType, _fields) : null;
        }
    }

    private static string Clip(ReadOnlySpan<char> line) => line.Length > 512 ? line[..512].ToString() : line.ToString();

    /// <summary>A line with NULs, undecodable bytes or other control characters: not log text.</summary>
    private static bool IsJunk(ReadOnlySpan<char> line)
    {
        foreach (var c in line)
            if (c == '\uFFFD' || (c < ' ' && c != '\t')) return true;
        return false;
    }
}
