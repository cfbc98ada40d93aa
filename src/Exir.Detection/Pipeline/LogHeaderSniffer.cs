using Exir.Detection.Logs;
using Exir.Logs;

namespace Exir.Detection.Pipeline;

/// <summary>Maps the log readers' format decision (Exir.Logs.LogFormatSniffer) to the artifact kinds the hunts take.</summary>
public static class LogHeaderSniffer
{
    public readonly record struct LogKind(ArtifactKind Kind, string? LogType);

    public static LogKind? Sniff(ReadOnlySpan<byte> head, string relativePath)
    {
        var result = LogFormatSniffer.SniffDetailed(head, relativePath);
        if (result is null) return null;
        var kind = result.Format.ToArtifactKind();
        return new LogKind(kind, result.LogType);
    }
}
