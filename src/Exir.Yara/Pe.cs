using System.Buffers.Binary;

namespace Exir.Yara;

/// <summary>
/// The header fields of yara's pe module. Every field is undefined on data that is not a PE file, as in yara,
/// so pe conditions are simply false on scripts and web pages.
/// </summary>
internal sealed class PeInfo
{
    public bool IsPe;
    public long Machine, NumberOfSections, Timestamp, Characteristics, EntryPointRva, EntryPoint = -1, Subsystem, DllCharacteristics;
    public long SizeOfImage, ImageBase, Magic;

    public static PeInfo Parse(ReadOnlySpan<byte> d)
    {
        var pe = new PeInfo();
        if (d.Length < 0x40 || d[0] != 'M' || d[1] != 'Z') return pe;
        long lfanew = BinaryPrimitives.ReadInt32LittleEndian(d[0x3C..]);
        if (lfanew < 0 || lfanew + 24 > d.Length) return pe;
        int h = (int)lfanew;
        if (BinaryPrimitives.ReadUInt32LittleEndian(d[h..]) != 0x00004550) return pe;
        pe.IsPe = true;
        pe.Machine = BinaryPrimitives.ReadUInt16LittleEndian(d[(h + 4)..]);
        pe.NumberOfSections = BinaryPrimitives.ReadUInt16LittleEndian(d[(h + 6)..]);
        pe.Timestamp = BinaryPrimitives.ReadUInt32LittleEndian(d[(h + 8)..]);
        int optSize = BinaryPrimitives.ReadUInt16LittleEndian(d[(h + 20)..]);
        pe.Characteristics = BinaryPrimitives.ReadUInt16LittleEndian(d[(h + 22)..]);
        int opt = h + 24;
        if (opt + 72 <= d.Length && optSize >= 72)
        {
            pe.Magic = BinaryPrimitives.ReadUInt16LittleEndian(d[opt..]);
            pe.EntryPointRva = BinaryPrimitives.ReadUInt32LittleEndian(d[(opt + 16)..]);
            bool pe64 = pe.Magic == 0x20B;
            pe.ImageBase = pe64 ? (long)BinaryPrimitives.ReadUInt64LittleEndian(d[(opt + 24)..]) : BinaryPrimitives.ReadUInt32LittleEndian(d[(opt + 28)..]);
            pe.SizeOfImage = BinaryPrimitives.ReadUInt32LittleEndian(d[(opt + 56)..]);
            pe.Subsystem = BinaryPrimitives.ReadUInt16LittleEndian(d[(opt + 68)..]);
            pe.DllCharacteristics = BinaryPrimitives.ReadUInt16LittleEndian(d[(opt + 70)..]);
            pe.EntryPoint = RvaToOffset(d, h, opt, optSize, pe.NumberOfSections, pe.EntryPointRva);
        }
        return pe;
    }

    private static long RvaToOffset(ReadOnlySpan<byte> d, int h, int opt, int optSize, long nsec, long rva)
    {
        int sec = opt + optSize;
        for (int i = 0; i < Math.Min(nsec, 96); i++)
        {
            int e = sec + i * 40;
            if (e + 40 > d.Length) break;
            long va = BinaryPrimitives.ReadUInt32LittleEndian(d[(e + 12)..]);
            long vsize = BinaryPrimitives.ReadUInt32LittleEndian(d[(e + 8)..]);
            long raw = BinaryPrimitives.ReadUInt32LittleEndian(d[(e + 20)..]);
            long rawSize = BinaryPrimitives.ReadUInt32LittleEndian(d[(e + 16)..]);
            if (rva >= va && rva < va + Math.Max(vsize, rawSize)) return raw + (rva - va);
        }
        return rva;
    }
}

internal static class Pe
{
    private static PeInfo Info(ScanState s) => s.Pe ??= PeInfo.Parse(s.Data.AsSpan(0, s.Length));

    private static Func<ScanState, Value[], Value> Field(Func<PeInfo, long> f)
        => (s, _) => Info(s) is { IsPe: true } p ? Value.Int(f(p)) : Value.Undef;

    private static Func<ScanState, Value[], Value> Const(long v) => (_, _) => Value.Int(v);

    public static Func<ScanState, Value[], Value>? Resolve(string name, int argc) => (name, argc) switch
    {
        ("pe.is_pe", -1) => (s, _) => Value.Bool(Info(s).IsPe),
        ("pe.machine", -1) => Field(p => p.Machine),
        ("pe.number_of_sections", -1) => Field(p => p.NumberOfSections),
        ("pe.timestamp", -1) => Field(p => p.Timestamp),
        ("pe.characteristics", -1) => Field(p => p.Characteristics),
        ("pe.entry_point", -1) => Field(p => p.EntryPoint),
        ("pe.subsystem", -1) => Field(p => p.Subsystem),
        ("pe.dll_characteristics", -1) => Field(p => p.DllCharacteristics),
        ("pe.size_of_image", -1) => Field(p => p.SizeOfImage),
        ("pe.image_base", -1) => Field(p => p.ImageBase),
        ("pe.MACHINE_I386", -1) => Const(0x14C),
        ("pe.MACHINE_AMD64", -1) => Const(0x8664),
        ("pe.MACHINE_ARM", -1) => Const(0x1C0),
        ("pe.MACHINE_ARM64", -1) => Const(0xAA64),
        ("pe.DLL", -1) => Const(0x2000),
        ("pe.EXECUTABLE_IMAGE", -1) => Const(0x0002),
        ("pe.SUBSYSTEM_WINDOWS_GUI", -1) => Const(2),
        ("pe.SUBSYSTEM_WINDOWS_CUI", -1) => Const(3),
        ("pe.SUBSYSTEM_NATIVE", -1) => Const(1),
        _ => null,
    };
}
