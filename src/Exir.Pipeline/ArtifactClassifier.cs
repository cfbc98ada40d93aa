using Exir.Core.Evidence;
using Exir.Logs;

namespace Exir.Pipeline;

/// <summary>What a file is, decided from its content first (log headers, magic bytes) and its name second.</summary>
public enum ArtifactKind
{
    Unknown,
    /// <summary>An IIS or Exchange log of a registered format (<see cref="ArtifactProbe.Log"/> says which).</summary>
    Log,
    EventLog,
    WebFile,
    MiniDump,
    Archive,
    ConfigFile,
    Executable,
}

/// <summary>A classified file with the first bytes already read (so consumers need not reopen to decide).</summary>
public sealed class ArtifactProbe
{
    public required EvidenceFile File { get; init; }
    public required ArtifactKind Kind { get; init; }
    /// <summary>Up to the first 64 KiB of the file. Valid only during Wants and Inspect (the buffer is reused); copy what must outlive them.</summary>
    public required ReadOnlyMemory<byte> Head { get; init; }
    /// <summary>The log format when <see cref="Kind"/> is <see cref="ArtifactKind.Log"/>.</summary>
    public LogFormatDescriptor? Log { get; init; }
    /// <summary>Value of a "#Log-type:" header when present.</summary>
    public string? LogType { get; init; }
    /// <summary>Value of a "#Version:" header when present (Exchange logs write their build there).</summary>
    public string? LogVersion { get; init; }
}

/// <summary>
/// Decides what a file is from its first bytes (log headers, magic numbers) and only then from its
/// name: triage collections come in any layout, and renamed files must still be recognised.
/// </summary>
public sealed class ArtifactClassifier
{
    /// <param name="webExtensions">Extensions (with the dot, lower case) of the pages a web server runs; from rules/files/file-hunt.yaml.</param>
    public ArtifactClassifier(IEnumerable<string> webExtensions) =>
        WebExtensions = webExtensions.Select(e => e.ToLowerInvariant()).ToHashSet(StringComparer.Ordinal);

    public IReadOnlySet<string> WebExtensions { get; }

    public ArtifactKind Classify(EvidenceFile file, ReadOnlySpan<byte> head, out LogSniffResult? log)
    {
        log = null;
        if (head.StartsWith("ElfFile\0"u8)) return ArtifactKind.EventLog;
        if (head.StartsWith("MDMP"u8)) return ArtifactKind.MiniDump;
        if (ArchiveMagic.Detect(head) is not null) return ArtifactKind.Archive;
        if (head.Length >= 2 && head[0] == 'M' && head[1] == 'Z') return ArtifactKind.Executable;

        log = LogFormatSniffer.SniffDetailed(head, file.RelativePath);
        if (log is not null) return ArtifactKind.Log;

        var ext = file.Extension;
        if (WebExtensions.Contains(ext)) return ArtifactKind.WebFile;
        if (ext is ".config") return ArtifactKind.ConfigFile;
        if (ext is ".evtx") return ArtifactKind.EventLog;
        return ArtifactKind.Unknown;
    }

    /// <summary>
    /// Why a .log file that no format claimed is listed in the coverage wherever it is, or null to only count it
    /// (text logs of other software are many on a system drive): its content is not text, or its name or folder is
    /// an IIS/Exchange log's (a wiped or damaged log must not vanish from the report).
    /// </summary>
    public static string? WhyUnreadableLog(EvidenceFile file, ReadOnlySpan<byte> head)
    {
        if (LogText.LooksBinary(head)) return "a .log file whose content is not text (damaged, wiped or encrypted): no log format could read it; not hunted";
        if (LogFormats.LooksLikeLogPath(file.RelativePath)) return "named or placed like an IIS/Exchange log, but no log format could read its header or lines; not hunted";
        return null;
    }

    /// <summary>A probe for a file whose first bytes are in <paramref name="head"/>.</summary>
    public ArtifactProbe Probe(EvidenceFile file, ReadOnlyMemory<byte> head)
    {
        var kind = Classify(file, head.Span, out var log);
        return new ArtifactProbe { File = file, Kind = kind, Head = head, Log = log?.Descriptor, LogType = log?.LogType, LogVersion = log?.Version };
    }
}

/// <summary>Archive formats attackers stage data in, recognised by magic bytes, not by extension.</summary>
public static class ArchiveMagic
{
    public static string? Detect(ReadOnlySpan<byte> head)
    {
        if (head.StartsWith((ReadOnlySpan<byte>)[(byte)'7', (byte)'z', 0xBC, 0xAF, 0x27, 0x1C])) return "7z";
        if (head.StartsWith("PK\x03\x04"u8) || head.StartsWith("PK\x05\x06"u8)) return "zip";
        if (head.StartsWith("Rar!\x1A\x07"u8)) return "rar";
        if (head.StartsWith("MSCF\0\0\0\0"u8)) return "cab";
        if (head.Length >= 3 && head[0] == 0x1F && head[1] == 0x8B && head[2] == 0x08) return "gzip";
        if (head.Length >= 262 && head.Slice(257, 5).SequenceEqual("ustar"u8)) return "tar";
        if (head.StartsWith("BZh"u8) && head.Length > 3 && head[3] is >= (byte)'1' and <= (byte)'9') return "bzip2";
        if (head.StartsWith((ReadOnlySpan<byte>)[0xFD, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', 0x00])) return "xz";
        return null;
    }
}
