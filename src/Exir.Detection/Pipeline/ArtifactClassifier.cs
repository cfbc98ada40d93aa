using System.Text;
using Exir.Core.Evidence;

namespace Exir.Detection.Pipeline;

/// <summary>
/// Decides what a file is from its first bytes (log headers, magic numbers) and only then from its
/// name: triage collections come in any layout, and renamed files must still be recognised.
/// </summary>
public static class ArtifactClassifier
{
    private static readonly string[] WebExtensions =
        [".aspx", ".ashx", ".asmx", ".ascx", ".asax", ".svc", ".asp", ".cshtml", ".vbhtml", ".master", ".soap", ".cer", ".asa", ".cdx", ".shtml", ".stm", ".php", ".jsp"];

    public static ArtifactKind Classify(EvidenceFile file, ReadOnlySpan<byte> head, out string? logType)
    {
        logType = null;
        if (head.StartsWith("ElfFile\0"u8)) return ArtifactKind.EventLog;
        if (head.StartsWith("MDMP"u8)) return ArtifactKind.MiniDump;
        if (ArchiveMagic.Detect(head) is not null) return ArtifactKind.Archive;
        if (head.Length >= 2 && head[0] == 'M' && head[1] == 'Z') return ArtifactKind.Executable;

        var log = LogHeaderSniffer.Sniff(head, file.RelativePath);
        if (log is not null)
        {
            logType = log.Value.LogType;
            return log.Value.Kind;
        }

        var ext = file.Extension;
        if (Array.IndexOf(WebExtensions, ext) >= 0) return ArtifactKind.WebFile;
        if (ext is ".config") return ArtifactKind.ConfigFile;
        if (ext is ".evtx") return ArtifactKind.EventLog;
        return ArtifactKind.Unknown;
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
