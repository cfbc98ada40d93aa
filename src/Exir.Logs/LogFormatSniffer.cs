namespace Exir.Logs;

/// <summary>What the first bytes of a log say about it.</summary>
public sealed record LogSniffResult(LogFormat Format, string? Software, string? Version, string? LogType, string? Fields);

/// <summary>
/// Decides a log's format from its header directives (#Software, #Log-type, #Fields), case-insensitively
/// and whatever the encoding. The path is only a hint, used when the header is missing or ambiguous.
/// </summary>
public static class LogFormatSniffer
{
    public static LogFormat? Sniff(ReadOnlySpan<byte> head, string relativePath) => SniffDetailed(head, relativePath)?.Format;

    public static LogSniffResult? SniffDetailed(ReadOnlySpan<byte> head, string relativePath)
    {
        if (head.IsEmpty) return null;
        var text = LogText.DecodeHead(head);
        string? software = null, version = null, logType = null, fields = null;
        string? firstData = null;
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
            firstData ??= line.Length > 512 ? line[..512].ToString() : line.ToString();
            // Headers sit at the top; once data started and everything is known, stop.
            if (fields is not null || directives == 0) break;
        }

        var path = relativePath.Replace('\\', '/');
        LogFormat? format = null;
        if (Contains(software, "Internet Information Services")) format = LogFormat.IisW3c;
        else if (Contains(software, "Microsoft Exchange") || Contains(logType, "HttpProxy") || Contains(logType, "ECP Server"))
            format = ExchangeKind(logType, fields, path);
        else if (fields is not null && Contains(fields, "cs-uri-stem")) format = LogFormat.IisW3c; // W3C without #Software
        else if (fields is not null && Contains(fields, "AnchorMailbox") && Contains(fields, "BackEndCookie")) format = LogFormat.HttpProxy;
        else if (fields is null && firstData is not null)
        {
            // No header at all (cut or re-collected file): the path decides, but only if the data agrees.
            if (LooksLikeW3cData(firstData) && (Contains(path, "/W3SVC") || Contains(Name(path), "u_ex"))) format = LogFormat.IisW3c;
            else if (LooksLikeIsoCsvData(firstData))
            {
                if (Contains(path, "/HttpProxy/")) format = LogFormat.HttpProxy;
                else if (Contains(path, "/ECP/Server/")) format = LogFormat.EcpServer;
                else if (Contains(path, "OABGeneratorLog")) format = LogFormat.OabGenerator;
            }
        }
        return format is { } f ? new LogSniffResult(f, software, version, logType, fields) : null;
    }

    private static LogFormat ExchangeKind(string? logType, string? fields, string path)
    {
        if (Contains(logType, "HttpProxy")) return LogFormat.HttpProxy;
        if (Contains(logType, "ECP Server")) return LogFormat.EcpServer;
        if (Contains(logType, "OABGen") || Contains(logType, "OAB Gen")) return LogFormat.OabGenerator;
        if (fields is not null && Contains(fields, "AnchorMailbox") && Contains(fields, "BackEndCookie")) return LogFormat.HttpProxy;
        if (logType is null)
        {
            // Log-type missing: ECP activity logs share the ECP server field list, so only the folder tells them apart.
            if (fields is not null && Contains(fields, "EventData") && Contains(path, "/ECP/Server/")) return LogFormat.EcpServer;
            if (Contains(path, "OABGeneratorLog")) return LogFormat.OabGenerator;
        }
        return LogFormat.OtherExchange;
    }

    private static bool LooksLikeW3cData(string line) =>
        line.Length > 20 && char.IsAsciiDigit(line[0]) && line[4] == '-' && line[7] == '-' && line[10] == ' ' && line[13] == ':';

    private static bool LooksLikeIsoCsvData(string line) =>
        line.Length > 20 && char.IsAsciiDigit(line[0]) && line[4] == '-' && line[7] == '-' && line[10] == 'T' && line.Contains(',');

    private static string Name(string path) => path[(path.LastIndexOf('/') + 1)..];

    private static bool Contains(string? s, string what) => s is not null && s.Contains(what, StringComparison.OrdinalIgnoreCase);
}
