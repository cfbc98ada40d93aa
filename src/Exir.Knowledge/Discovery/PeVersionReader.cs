using System.Buffers.Binary;
using System.Text;

namespace Exir.Knowledge.Discovery;

/// <summary>The version resource of a PE file: the numeric VS_FIXEDFILEINFO and, when present, the FileVersion string.</summary>
public sealed record PeVersion(int Major, int Minor, int Build, int Revision, string? FileVersionText, int ProductMajor, int ProductMinor, int ProductBuild, int ProductRevision)
{
    public override string ToString() => $"{Major}.{Minor}.{Build}.{Revision}";
}

/// <summary>
/// Reads the file version of a Windows PE image (ExSetup.exe) without Windows APIs, so it works on
/// Linux over a mounted image or a zip member. Walks DOS header, PE header, section table, the
/// resource tree (type 16 = RT_VERSION) and the VS_VERSIONINFO block (Microsoft PE/COFF spec,
/// "The .rsrc Section"; VS_FIXEDFILEINFO). Every offset is bounds-checked: a hostile file yields an
/// error message, never an exception or a read outside the buffer.
/// </summary>
public static class PeVersionReader
{
    /// <summary>ExSetup.exe is ~40 KB; anything past this cap is not the file we want.</summary>
    public const int MaxImageBytes = 64 << 20;
    private const uint FixedFileInfoSignature = 0xFEEF04BD;
    private const int RtVersion = 16;

    public static PeVersion? Read(Stream stream, out string? error)
    {
        byte[] data;
        try
        {
            data = ReadCapped(stream, MaxImageBytes + 1);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            error = "unreadable: " + e.Message;
            return null;
        }
        if (data.Length > MaxImageBytes) { error = $"larger than {MaxImageBytes >> 20} MB, not a plausible ExSetup.exe"; return null; }
        return Read(data, out error);
    }

    public static PeVersion? Read(ReadOnlySpan<byte> pe, out string? error)
    {
        error = null;
        if (pe.Length < 64 || pe[0] != 'M' || pe[1] != 'Z') { error = "not a PE file (no MZ header)"; return null; }
        int peOff = I32(pe, 0x3C);
        if (!Fits(pe, peOff, 24) || pe[peOff] != 'P' || pe[peOff + 1] != 'E' || pe[peOff + 2] != 0 || pe[peOff + 3] != 0) { error = "no PE signature"; return null; }
        int coff = peOff + 4;
        int sections = U16(pe, coff + 2);
        int optSize = U16(pe, coff + 16);
        int opt = coff + 20;
        if (!Fits(pe, opt, optSize) || optSize < 2) { error = "truncated optional header"; return null; }
        int magic = U16(pe, opt);
        int dirOff = magic switch { 0x10B => 96, 0x20B => 112, _ => -1 };
        if (dirOff < 0) { error = $"unknown optional header magic 0x{magic:X}"; return null; }
        int countOff = dirOff - 4;
        if (optSize < dirOff + 3 * 8 || I32(pe, opt + countOff) < 3) { error = "no resource directory"; return null; }
        uint rsrcRva = U32(pe, opt + dirOff + 2 * 8);
        uint rsrcSize = U32(pe, opt + dirOff + 2 * 8 + 4);
        if (rsrcRva == 0 || rsrcSize == 0) { error = "no resources (no version information)"; return null; }
        int secTable = opt + optSize;
        if (sections > 96 || !Fits(pe, secTable, sections * 40)) { error = "bad section table"; return null; }

        int root = ToOffset(pe, secTable, sections, rsrcRva);
        if (root < 0) { error = "resource directory outside the file"; return null; }
        // Resource tree: type -> name -> language -> data entry. Offsets are relative to the tree root.
        int typeDir = FindEntry(pe, root, root, RtVersion, out bool isDir);
        if (typeDir < 0 || !isDir) { error = "no version resource"; return null; }
        int nameDir = FirstEntry(pe, root, typeDir, out isDir);
        if (nameDir < 0 || !isDir) { error = "malformed version resource (name level)"; return null; }
        int dataEntry = FirstEntry(pe, root, nameDir, out isDir);
        if (dataEntry < 0) { error = "malformed version resource (language level)"; return null; }
        if (isDir) { dataEntry = FirstEntry(pe, root, dataEntry, out isDir); if (dataEntry < 0 || isDir) { error = "malformed version resource"; return null; } }
        if (!Fits(pe, dataEntry, 16)) { error = "truncated resource data entry"; return null; }
        int blob = ToOffset(pe, secTable, sections, U32(pe, dataEntry));
        int blobSize = I32(pe, dataEntry + 4);
        if (blob < 0 || blobSize <= 0 || !Fits(pe, blob, blobSize)) { error = "version resource outside the file"; return null; }
        return ParseVersionInfo(pe.Slice(blob, blobSize), out error);
    }

    /// <summary>Parses a VS_VERSIONINFO block.</summary>
    internal static PeVersion? ParseVersionInfo(ReadOnlySpan<byte> vi, out string? error)
    {
        error = null;
        // Header: wLength, wValueLength, wType, then "VS_VERSION_INFO\0" in UTF-16, padded to 4 bytes.
        int ffi = Align4(6 + ("VS_VERSION_INFO".Length + 1) * 2);
        if (!Fits(vi, ffi, 52) || U32(vi, ffi) != FixedFileInfoSignature)
        {
            // Some linkers pad differently: look for the signature itself.
            ffi = -1;
            for (int i = 0; i + 52 <= vi.Length; i += 4)
                if (U32(vi, i) == FixedFileInfoSignature) { ffi = i; break; }
            if (ffi < 0) { error = "no VS_FIXEDFILEINFO in the version resource"; return null; }
        }
        uint fileMs = U32(vi, ffi + 8), fileLs = U32(vi, ffi + 12), prodMs = U32(vi, ffi + 16), prodLs = U32(vi, ffi + 20);
        return new PeVersion((int)(fileMs >> 16), (int)(fileMs & 0xFFFF), (int)(fileLs >> 16), (int)(fileLs & 0xFFFF),
            FindString(vi, "FileVersion"), (int)(prodMs >> 16), (int)(prodMs & 0xFFFF), (int)(prodLs >> 16), (int)(prodLs & 0xFFFF));
    }

    // Finds the StringFileInfo value for a key by its UTF-16 name; the value follows, 4-byte aligned.
    private static string? FindString(ReadOnlySpan<byte> vi, string key)
    {
        var needle = Encoding.Unicode.GetBytes(key + "\0");
        int at = vi.IndexOf(needle);
        if (at < 6) return null;
        int start = Align4(at + needle.Length);
        var sb = new StringBuilder();
        for (int i = start; i + 1 < vi.Length && sb.Length < 64; i += 2)
        {
            char c = (char)U16(vi, i);
            if (c == 0) break;
            sb.Append(c);
        }
        return sb.Length == 0 ? null : sb.ToString();
    }

    private static int ToOffset(ReadOnlySpan<byte> pe, int secTable, int sections, uint rva)
    {
        for (int i = 0; i < sections; i++)
        {
            int s = secTable + i * 40;
            uint va = U32(pe, s + 12), vsize = U32(pe, s + 8), rawSize = U32(pe, s + 16), raw = U32(pe, s + 20);
            uint size = Math.Max(vsize, rawSize);
            if (rva >= va && rva - va < size)
            {
                long off = (long)raw + (rva - va);
                return off < pe.Length ? (int)off : -1;
            }
        }
        return -1;
    }

    private static int FindEntry(ReadOnlySpan<byte> pe, int root, int dir, int id, out bool isDir)
    {
        isDir = false;
        if (!Fits(pe, dir, 16)) return -1;
        int named = U16(pe, dir + 12), ids = U16(pe, dir + 14);
        for (int i = 0; i < named + ids && i < 4096; i++)
        {
            int e = dir + 16 + i * 8;
            if (!Fits(pe, e, 8)) return -1;
            uint name = U32(pe, e);
            if ((name & 0x80000000) == 0 && name == id) return Target(pe, root, U32(pe, e + 4), out isDir);
        }
        return -1;
    }

    private static int FirstEntry(ReadOnlySpan<byte> pe, int root, int dir, out bool isDir)
    {
        isDir = false;
        if (!Fits(pe, dir, 24) || U16(pe, dir + 12) + U16(pe, dir + 14) == 0) return -1;
        return Target(pe, root, U32(pe, dir + 16 + 4), out isDir);
    }

    private static int Target(ReadOnlySpan<byte> pe, int root, uint offset, out bool isDir)
    {
        isDir = (offset & 0x80000000) != 0;
        long t = (long)root + (offset & 0x7FFFFFFF);
        return t < pe.Length ? (int)t : -1;
    }

    private static byte[] ReadCapped(Stream s, int cap)
    {
        using var ms = new MemoryStream();
        var buf = new byte[81920];
        int n;
        while (ms.Length < cap && (n = s.Read(buf, 0, (int)Math.Min(buf.Length, cap - ms.Length))) > 0) ms.Write(buf, 0, n);
        return ms.ToArray();
    }

    private static int Align4(int x) => (x + 3) & ~3;
    private static bool Fits(ReadOnlySpan<byte> b, int off, int len) => off >= 0 && len >= 0 && (long)off + len <= b.Length;
    private static int U16(ReadOnlySpan<byte> b, int off) => Fits(b, off, 2) ? BinaryPrimitives.ReadUInt16LittleEndian(b[off..]) : 0;
    private static uint U32(ReadOnlySpan<byte> b, int off) => Fits(b, off, 4) ? BinaryPrimitives.ReadUInt32LittleEndian(b[off..]) : 0;
    private static int I32(ReadOnlySpan<byte> b, int off) => Fits(b, off, 4) ? BinaryPrimitives.ReadInt32LittleEndian(b[off..]) : -1;
}
