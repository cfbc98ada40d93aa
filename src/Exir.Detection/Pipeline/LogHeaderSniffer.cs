using System.Text;

namespace Exir.Detection.Pipeline;

/// <summary>Maps a log header to the artifact kind the log hunts take. Content first, path only as a hint.</summary>
public static class LogHeaderSniffer
{
    public readonly record struct LogKind(ArtifactKind Kind, string? LogType);

    public static LogKind? Sniff(ReadOnlySpan<byte> head, string relativePath)
    {
        // Only the header block matters; decode a bounded prefix (UTF-16 logs carry a BOM).
        var text = Decode(head[..Math.Min(head.Length, 4096)]);
        if (!text.StartsWith('#') && !text.StartsWith("\uFEFF#", StringComparison.Ordinal)) return null;
        string? logType = HeaderValue(text, "#Log-type:");
        var software = HeaderValue(text, "#Software:") ?? "";
        var fields = HeaderValue(text, "#Fields:") ?? "";
        if (software.Contains("Internet Information Services", StringComparison.OrdinalIgnoreCase))
            return new LogKind(ArtifactKind.IisW3cLog, "IIS W3SVC");
        if (logType is not null)
        {
            if (logType.Contains("HttpProxy", StringComparison.OrdinalIgnoreCase)) return new LogKind(ArtifactKind.HttpProxyLog, logType);
            if (logType.Contains("ECP", StringComparison.OrdinalIgnoreCase) && fields.Contains("EventData", StringComparison.OrdinalIgnoreCase))
                return new LogKind(ArtifactKind.EcpServerLog, logType);
            if (logType.Contains("OAB", StringComparison.OrdinalIgnoreCase)) return new LogKind(ArtifactKind.OabGeneratorLog, logType);
        }
        if (fields.StartsWith("TimeStamp,ServerName,EventId,EventData", StringComparison.OrdinalIgnoreCase))
            return new LogKind(ArtifactKind.EcpServerLog, logType ?? "ECP Server Log");
        if (fields.Contains("AnchorMailbox", StringComparison.OrdinalIgnoreCase) && fields.Contains("BackEndCookie", StringComparison.OrdinalIgnoreCase))
            return new LogKind(ArtifactKind.HttpProxyLog, logType ?? "HttpProxy Logs");
        if (software.Contains("Exchange", StringComparison.OrdinalIgnoreCase))
        {
            if (relativePath.Contains("OABGeneratorLog", StringComparison.OrdinalIgnoreCase)) return new LogKind(ArtifactKind.OabGeneratorLog, logType);
            return new LogKind(ArtifactKind.OtherExchangeLog, logType);
        }
        if (fields.Contains("cs-uri-stem", StringComparison.OrdinalIgnoreCase)) return new LogKind(ArtifactKind.IisW3cLog, "W3C");
        return null;
    }

    private static string Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE])) return Encoding.Unicode.GetString(bytes[2..]);
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF])) return Encoding.BigEndianUnicode.GetString(bytes[2..]);
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) bytes = bytes[3..];
        return Encoding.UTF8.GetString(bytes);
    }

    private static string? HeaderValue(string text, string key)
    {
        int i = text.IndexOf(key, StringComparison.OrdinalIgnoreCase);
        if (i < 0) return null;
        int start = i + key.Length;
        int end = text.IndexOfAny(['\r', '\n'], start);
        return (end < 0 ? text[start..] : text[start..end]).Trim();
    }
}
