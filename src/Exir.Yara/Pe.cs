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
    private readonly List<(long Va, long VSize, long Raw, long RawSize)> _sections = [];
    private long _fileAlignment;
    // A section header ran past the end of the data: yara then maps no RVA at all.
    private bool _truncatedSections;
    public readonly List<string> Exports = [];
    public readonly List<long> ExportOrdinals = [];
    public readonly List<(string Dll, List<string?> Names, List<long> Ordinals)> Imports = [];

    // Hostile files: cap what one table may make us read.
    private const int MaxEntries = 65536;

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
            pe._fileAlignment = U32(d, opt + 36);
            int sec = opt + optSize;
            for (int i = 0; i < Math.Min(pe.NumberOfSections, 96); i++)
            {
                int e = sec + i * 40;
                if (e + 40 > d.Length) { pe._truncatedSections = true; break; }
                pe._sections.Add((U32(d, e + 12), U32(d, e + 8), U32(d, e + 20), U32(d, e + 16)));
            }
            pe.EntryPoint = pe.Offset(d, pe.EntryPointRva);
            int dirs = pe64 ? opt + 112 : opt + 96;
            long nDirs = U32(d, pe64 ? opt + 108 : opt + 92);
            if (nDirs >= 1 && dirs + 8 <= opt + optSize) pe.ParseExports(d, U32(d, dirs));
            if (nDirs >= 2 && dirs + 16 <= opt + optSize) pe.ParseImports(d, U32(d, dirs + 8), pe64);
        }
        return pe;
    }

    private static long U32(ReadOnlySpan<byte> d, long o) => o >= 0 && o + 4 <= d.Length ? BinaryPrimitives.ReadUInt32LittleEndian(d[(int)o..]) : -1;
    private static long U16(ReadOnlySpan<byte> d, long o) => o >= 0 && o + 2 <= d.Length ? BinaryPrimitives.ReadUInt16LittleEndian(d[(int)o..]) : -1;

    /// <summary>
    /// File offset of an RVA the way yara maps it: the last section starting at or below it (raw offsets
    /// rounded down to min(FileAlignment, 0x200)), identity before the first section, -1 past a section's raw
    /// size or the end of the data.
    /// </summary>
    public long Offset(ReadOnlySpan<byte> d, long rva)
    {
        if (rva < 0 || _truncatedSections) return -1;
        long lowest = 0xFFFFFFFF, secRva = 0, secOff = 0, secRaw = 0;
        long alignment = Math.Min(_fileAlignment < 0 ? 0 : _fileAlignment, 0x200);
        foreach (var (va, _, raw, rawSize) in _sections)
        {
            if (va < lowest) lowest = va;
            if (rva >= va && secRva <= va)
            {
                secRva = va;
                secOff = raw;
                secRaw = rawSize;
                if (alignment > 0) secOff -= secOff % alignment;
            }
        }
        if (rva < lowest) { secRva = 0; secOff = 0; secRaw = d.Length; }
        if (rva - secRva >= secRaw) return -1;
        long off = secOff + (rva - secRva);
        return off < d.Length ? off : -1;
    }

    private string? CString(ReadOnlySpan<byte> d, long rva)
    {
        long o = Offset(d, rva);
        if (o < 0) return null;
        var rest = d[(int)o..];
        int end = rest.IndexOf((byte)0);
        if (end < 0) end = Math.Min(rest.Length, 512);
        return System.Text.Encoding.Latin1.GetString(rest[..Math.Min(end, 512)]);
    }

    private void ParseExports(ReadOnlySpan<byte> d, long rva)
    {
        if (rva <= 0) return;
        long dir = Offset(d, rva);
        if (dir < 0 || dir + 40 > d.Length) return;
        long baseOrd = U32(d, dir + 16);
        long nFuncs = Math.Min(U32(d, dir + 20), MaxEntries);
        long nNames = Math.Min(U32(d, dir + 24), MaxEntries);
        long names = Offset(d, U32(d, dir + 32));
        long ords = Offset(d, U32(d, dir + 36));
        for (long i = 0; i < nFuncs; i++) ExportOrdinals.Add(baseOrd + i);
        if (names < 0 || ords < 0) return;
        for (long i = 0; i < nNames; i++)
        {
            long nameRva = U32(d, names + 4 * i);
            if (nameRva < 0) break;
            var name = CString(d, nameRva);
            if (name is not null) Exports.Add(name);
        }
    }

    private void ParseImports(ReadOnlySpan<byte> d, long rva, bool pe64)
    {
        if (rva <= 0) return;
        long desc = Offset(d, rva);
        if (desc < 0) return;
        for (int n = 0; n < 16384; n++, desc += 20)
        {
            // As yara: stop at a zero name or an implausible DLL name; skip DLLs without functions.
            if (desc + 20 > d.Length) break;
            long oft = U32(d, desc), nameRva = U32(d, desc + 12), ft = U32(d, desc + 16);
            if (nameRva == 0) break;
            if (Offset(d, nameRva) < 0) continue;
            var dll = CString(d, nameRva);
            if (dll is null || !ValidDllName(dll)) break;
            var names = new List<string?>();
            var ordinals = new List<long>();
            long thunk = Offset(d, oft != 0 ? oft : ft);
            int size = pe64 ? 8 : 4;
            for (int k = 0; thunk >= 0 && k < MaxEntries; k++, thunk += size)
            {
                if (thunk + size > d.Length) break;
                ulong v = pe64 ? BinaryPrimitives.ReadUInt64LittleEndian(d[(int)thunk..]) : BinaryPrimitives.ReadUInt32LittleEndian(d[(int)thunk..]);
                if (v == 0) break;
                bool byOrdinal = pe64 ? (v & 0x8000000000000000UL) != 0 : (v & 0x80000000UL) != 0;
                if (byOrdinal) { ordinals.Add((long)(v & 0xFFFF)); names.Add(null); }
                else { names.Add(CString(d, (long)(v & 0x7FFFFFFF) + 2)); ordinals.Add(-1); }
            }
            if (names.Count > 0) Imports.Add((dll, names, ordinals));
        }
    }

    private static bool ValidDllName(string name)
    {
        if (name.Length == 0) return false;
        foreach (var c in name)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '~' or ' ' or '@' or '$' or '+')) return false;
        return true;
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
        ("pe.exports", 1) => (s, a) => Info(s) is not { IsPe: true } p ? Value.Undef
            : a[0].Kind == VKind.Str ? Value.Bool(p.Exports.Any(e => string.Equals(e, a[0].S, StringComparison.OrdinalIgnoreCase)))
            : a[0].Kind == VKind.Int ? Value.Bool(p.ExportOrdinals.Contains(a[0].I)) : Value.Undef,
        ("pe.imports", 2) => (s, a) => Info(s) is not { IsPe: true } p ? Value.Undef
            : a[0].Kind != VKind.Str ? Value.Undef
            : Value.Bool(p.Imports.Any(i => string.Equals(i.Dll, a[0].S, StringComparison.OrdinalIgnoreCase)
                && (a[1].Kind == VKind.Str ? i.Names.Contains(a[1].S) : a[1].Kind == VKind.Int && i.Ordinals.Contains(a[1].I)))),
        ("pe.imports", 1) => (s, a) => Info(s) is not { IsPe: true } p ? Value.Undef
            : a[0].Kind != VKind.Str ? Value.Undef
            : Value.Int(p.Imports.Where(i => string.Equals(i.Dll, a[0].S, StringComparison.OrdinalIgnoreCase)).Sum(i => i.Names.Count)),
        ("pe.number_of_exports", -1) => Field(p => p.Exports.Count),
        ("pe.number_of_imports", -1) => Field(p => p.Imports.Count),
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
