using System.Buffers.Binary;
using System.Text;

namespace Exir.Detection.Artifacts;

/// <summary>
/// Reads just enough of a Windows minidump (MINIDUMP_HEADER, stream directory, ModuleListStream)
/// to tell whose memory it holds. Offsets come from the file and are never trusted: every read is
/// bounds-checked and loops are capped.
/// </summary>
public static class MiniDumpReader
{
    private const uint ModuleListStream = 4;
    private const int ModuleEntrySize = 108;
    private const int MaxStreams = 4096;
    private const int MaxModules = 8192;

    public sealed record MiniDumpInfo(bool Valid, IReadOnlyList<string> Modules, DateTimeOffset? Created)
    {
        /// <summary>The dumped process image: the first module of the list.</summary>
        public string? ProcessImage => Modules.Count > 0 ? Modules[0] : null;
    }

    /// <summary>MINIDUMP_VERSION in the low word of the header's version field.</summary>
    private const ushort MiniDumpVersion = 0xA793;
    /// <summary>Earliest plausible dump time: no Exchange server wrote a minidump before Windows 2000.</summary>
    private static readonly DateTimeOffset Earliest = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static MiniDumpInfo Read(ReadOnlySpan<byte> dump) => Read(dump, DateTimeOffset.UtcNow);

    /// <summary>
    /// Reads the header and module list. <see cref="MiniDumpInfo.Valid"/> only when the header's version and stream
    /// directory check out; only then is the header's time read (bytes that fail the structure check date nothing).
    /// </summary>
    public static MiniDumpInfo Read(ReadOnlySpan<byte> dump, DateTimeOffset now)
    {
        if (dump.Length < 32 || !dump.StartsWith("MDMP"u8)) return new MiniDumpInfo(false, [], null);
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(dump[4..]);
        uint streams = BinaryPrimitives.ReadUInt32LittleEndian(dump[8..]);
        uint dirRva = BinaryPrimitives.ReadUInt32LittleEndian(dump[12..]);
        uint timeDateStamp = BinaryPrimitives.ReadUInt32LittleEndian(dump[20..]);
        bool valid = (ushort)version == MiniDumpVersion && streams is > 0 and <= MaxStreams && dirRva >= 32
                     && dirRva + (long)streams * 12 <= dump.Length;
        if (!valid) return new MiniDumpInfo(false, [], null);
        DateTimeOffset? created = timeDateStamp == 0 ? null : DateTimeOffset.FromUnixTimeSeconds(timeDateStamp);
        if (created < Earliest || created > now.AddDays(1)) created = null;
        var modules = new List<string>();
        for (uint i = 0; i < Math.Min(streams, MaxStreams); i++)
        {
            long entry = dirRva + (long)i * 12;
            if (entry + 12 > dump.Length) break;
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(dump[(int)entry..]);
            uint rva = BinaryPrimitives.ReadUInt32LittleEndian(dump[(int)(entry + 8)..]);
            if (type != ModuleListStream || rva + 4L > dump.Length) continue;
            uint count = BinaryPrimitives.ReadUInt32LittleEndian(dump[(int)rva..]);
            for (uint m = 0; m < Math.Min(count, MaxModules); m++)
            {
                long mod = rva + 4L + m * ModuleEntrySize;
                if (mod + ModuleEntrySize > dump.Length) break;
                uint nameRva = BinaryPrimitives.ReadUInt32LittleEndian(dump[(int)(mod + 20)..]);
                if (ReadString(dump, nameRva) is { } name) modules.Add(name);
            }
            break;
        }
        return new MiniDumpInfo(true, modules, created);
    }

    private static string? ReadString(ReadOnlySpan<byte> dump, uint rva)
    {
        if (rva + 4L > dump.Length) return null;
        uint bytes = BinaryPrimitives.ReadUInt32LittleEndian(dump[(int)rva..]);
        if (bytes > 2048 || rva + 4L + bytes > dump.Length) return null;
        return Encoding.Unicode.GetString(dump.Slice((int)rva + 4, (int)bytes));
    }
}
