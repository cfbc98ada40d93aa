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
    public static LogFormat? Sniff(ReadOnlySpan<byte> head, string relativePath) => SniffDetailed(head, relativePath)?.Format;

    public static LogSniffResult? SniffDetailed(ReadOnlySpan<byte> head, string relativePath)
    {
        if (head.IsEmpty) return null;
        var text = LogText.DecodeHead(head);
        string? software = null, version = null, logType = null, fields = null;
        string? firstData = null, leading = null;
        int directives = 0;
        foreach (var raw in text.AsSpan().EnumerateLines())
        {
            var line = raw.TrimEnd('\r');
            if (line.Length > 0 && line[0] == '\uFEFF') line = line[1..];
            if (line.IsEmpty) continue;
            if (line[0] == '#')
            {
                directives++;
                if (software is null && LogText.TryDirective(line, "Software", out var v)) software = v.ToString();
                else if (version is null && LogText.TryDirective(line, "Version", out v)) version = v.ToString();
                else if (logType is null && LogText.TryDirective(line, "Log-type", out v)) logType = v.ToString();
                else if (fields is null && LogText.TryDirective(line, "Fields", out v)) fields = v.ToString();
                continue;
            }
            // A wiped (zeroed) or damaged stretch is not the first data line: the lines after it still tell the format.
            if (IsJunk(line)) continue;
            // Exchange writes its CSV logs with a bare header line (DateTime,RequestId,...) before the directives:
            // look past one leading line for them.
            if (directives == 0 && leading is null && firstData is null) { leading = Clip(line); continue; }
            firstData ??= Clip(line);
            // Headers sit at the top; once data started and everything is known, stop.
            if (fields is not null || directives == 0) break;
        }

        firstData ??= leading;
        var format = LogFormats.Claim(new LogHeader(software, version, logType, fields, firstData, directives), relativePath);
        return format is { } f ? new LogSniffResult(f.Format, software, version, logType, fields) : null;
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
