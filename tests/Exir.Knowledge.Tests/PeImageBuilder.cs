using System.Buffers.Binary;
using System.Text;

namespace Exir.Knowledge.Tests;

/// <summary>
/// Writes the smallest PE32+ image that carries a version resource, laid out as the PE/COFF spec
/// describes (DOS stub, COFF header, optional header, one .rsrc section with type/name/language
/// levels). Stands in for ExSetup.exe, which cannot be shipped with the tests.
/// </summary>
internal static class PeImageBuilder
{
    public static byte[] WithVersion(int major, int minor, int build, int revision, string? fileVersionText = null)
    {
        var vi = VersionInfo(major, minor, build, revision, fileVersionText);
        var rsrc = new byte[0x58 + vi.Length];
        // root directory: one ID entry, type 16 (RT_VERSION) -> subdirectory at 0x18
        W16(rsrc, 14, 1); W32(rsrc, 16, 16); W32(rsrc, 20, 0x80000000 | 0x18);
        // name level: id 1 -> subdirectory at 0x30
        W16(rsrc, 0x18 + 14, 1); W32(rsrc, 0x18 + 16, 1); W32(rsrc, 0x18 + 20, 0x80000000 | 0x30);
        // language level: 0x409 -> data entry at 0x48
        W16(rsrc, 0x30 + 14, 1); W32(rsrc, 0x30 + 16, 0x409); W32(rsrc, 0x30 + 20, 0x48);
        // data entry: RVA of the VS_VERSIONINFO and its size
        W32(rsrc, 0x48, 0x1000 + 0x58); W32(rsrc, 0x48 + 4, (uint)vi.Length);
        vi.CopyTo(rsrc, 0x58);

        int rawSize = (rsrc.Length + 0x1FF) & ~0x1FF;
        var pe = new byte[0x200 + rawSize];
        pe[0] = (byte)'M'; pe[1] = (byte)'Z';
        W32(pe, 0x3C, 0x40);
        pe[0x40] = (byte)'P'; pe[0x41] = (byte)'E';
        int coff = 0x44;
        W16(pe, coff, 0x8664); W16(pe, coff + 2, 1); W16(pe, coff + 16, 240); W16(pe, coff + 18, 0x22);
        int opt = coff + 20;
        W16(pe, opt, 0x20B);
        W32(pe, opt + 108, 16);
        W32(pe, opt + 112 + 16, 0x1000); W32(pe, opt + 112 + 20, (uint)rsrc.Length);
        int sec = opt + 240;
        Encoding.ASCII.GetBytes(".rsrc").CopyTo(pe, sec);
        W32(pe, sec + 8, (uint)rsrc.Length); W32(pe, sec + 12, 0x1000); W32(pe, sec + 16, (uint)rawSize); W32(pe, sec + 20, 0x200);
        rsrc.CopyTo(pe, 0x200);
        return pe;
    }

    private static byte[] VersionInfo(int major, int minor, int build, int revision, string? text)
    {
        var ms = new MemoryStream();
        void Pad() { while (ms.Length % 4 != 0) ms.WriteByte(0); }
        ms.Write(new byte[6]);
        ms.Write(Encoding.Unicode.GetBytes("VS_VERSION_INFO\0"));
        Pad();
        var ffi = new byte[52];
        W32(ffi, 0, 0xFEEF04BD); W32(ffi, 4, 0x10000);
        W32(ffi, 8, (uint)(major << 16 | minor)); W32(ffi, 12, (uint)(build << 16 | revision));
        W32(ffi, 16, (uint)(major << 16 | minor)); W32(ffi, 20, (uint)(build << 16 | revision));
        ms.Write(ffi);
        if (text is not null)
        {
            // A trimmed StringFileInfo: just the FileVersion key and its value, each 4-byte aligned.
            Pad();
            ms.Write(new byte[6]);
            ms.Write(Encoding.Unicode.GetBytes("FileVersion\0"));
            Pad();
            ms.Write(Encoding.Unicode.GetBytes(text + "\0"));
        }
        Pad();
        var bytes = ms.ToArray();
        W16(bytes, 0, (ushort)bytes.Length); W16(bytes, 2, 52);
        return bytes;
    }

    private static void W16(byte[] b, int off, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(off), v);
    private static void W16(byte[] b, int off, int v) => W16(b, off, (ushort)v);
    private static void W32(byte[] b, int off, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(off), v);
}
