using Exir.Detection.Pipeline;
using Exir.Logs;

namespace Exir.Detection.Logs;

/// <summary>The log hunts and the mapping from a sniffed log format to the pipeline's artifact kind.</summary>
public static class LogDetectors
{
    /// <summary>One detector per log family; all share the rules in rules/logs.</summary>
    public static IReadOnlyList<IDetector> All() =>
    [
        new HttpProxyLogDetector(), new IisLogDetector(), new EcpServerLogDetector(), new OabGeneratorLogDetector(), new ExchangeLogDetector(),
    ];

    public static ArtifactKind ToArtifactKind(this LogFormat format) => format switch
    {
        LogFormat.IisW3c => ArtifactKind.IisW3cLog,
        LogFormat.HttpProxy => ArtifactKind.HttpProxyLog,
        LogFormat.EcpServer => ArtifactKind.EcpServerLog,
        LogFormat.OabGenerator => ArtifactKind.OabGeneratorLog,
        _ => ArtifactKind.OtherExchangeLog,
    };

    /// <summary>Classifies a file by its first bytes (content first, path as a hint); null when it is not a log exir reads.</summary>
    public static ArtifactKind? Classify(ReadOnlySpan<byte> head, string relativePath) =>
        LogFormatSniffer.Sniff(head, relativePath)?.ToArtifactKind();
}
