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
        var kind = result.Format switch
        {
            LogFormat.IisW3c => ArtifactKind.IisW3cLog,
            LogFormat.HttpProxy => ArtifactKind.HttpProxyLog,
            LogFormat.EcpServer => ArtifactKind.EcpServerLog,
            LogFormat.OabGenerator => ArtifactKind.OabGeneratorLog,
            _ => ArtifactKind.OtherExchangeLog,
        };
        return new LogKind(kind, result.LogType);
    }
}
