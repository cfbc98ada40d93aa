using System.Buffers.Binary;
using System.Text;

namespace Exir.Yara;

/// <summary>
/// An ELF file (32 or 64 bit, either byte order) read as yara's elf module reads it. Tables are only read when
/// they lie inside the data and their counts are capped, so a damaged header cannot make the parse run away.
/// </summary>
internal sealed class ElfFile
{
    private const int MaxEntries = 1 << 16, MaxSymbols = 1 << 20;
    private const int ShtNull = 0, ShtSymtab = 2, ShtNobits = 8, ShtDynsym = 11, PtDynamic = 2, EtExec = 2;

    private readonly Bytes _d;
    private readonly int _n;
    private readonly bool _is64, _big;

    private ElfFile(Bytes d, int n, bool is64, bool big) { _d = d; _n = n; _is64 = is64; _big = big; }

    private bool Fits(long o, long size) => o >= 0 && size >= 0 && o <= _n && size <= _n - o;
    private long U16(long o) => !Fits(o, 2) ? 0 : _big ? BinaryPrimitives.ReadUInt16BigEndian(_d.AsSpan((int)o)) : BinaryPrimitives.ReadUInt16LittleEndian(_d.AsSpan((int)o));
    private long U32(long o) => !Fits(o, 4) ? 0 : _big ? BinaryPrimitives.ReadUInt32BigEndian(_d.AsSpan((int)o)) : BinaryPrimitives.ReadUInt32LittleEndian(_d.AsSpan((int)o));
    private long U64(long o) => !Fits(o, 8) ? 0 : (long)(_big ? BinaryPrimitives.ReadUInt64BigEndian(_d.AsSpan((int)o)) : BinaryPrimitives.ReadUInt64LittleEndian(_d.AsSpan((int)o)));
    // An address-sized field (32 or 64 bit).
    private long Addr(long o) => _is64 ? U64(o) : U32(o);

    private sealed record Section(long Name, long Type, long Flags, long Address, long Offset, long Size, long Link, long EntrySize);
    private sealed record Segment(long Type, long Flags, long Offset, long VAddr, long PAddr, long FileSize, long MemSize, long Align);

    public static MObj? Parse(Bytes d, int n)
    {
        if (n < 52 || d[0] != 0x7F || d[1] != 'E' || d[2] != 'L' || d[3] != 'F' || d[4] is not (1 or 2) || d[5] is not (1 or 2)) return null;
        var f = new ElfFile(d, n, d[4] == 2, d[5] == 2);
        if (f._is64 && n < 64) return null;
        return f.Build();
    }

    private MObj Build()
    {
        var o = new MObj();
        long type = U16(16);
        o.Set("type", type).Set("machine", U16(18));
        long entry = Addr(24);
        long phOff = Addr(_is64 ? 32 : 28), shOff = Addr(_is64 ? 40 : 32);
        int h = _is64 ? 52 : 40;
        long phEntSize = U16(h + 2), phNum = U16(h + 4), shEntSize = U16(h + 6), shNum = U16(h + 8), shStrIndex = U16(h + 10);
        o.Set("sh_offset", shOff).Set("sh_entry_size", shEntSize).Set("ph_offset", phOff).Set("ph_entry_size", phEntSize)
            .Set("number_of_sections", shNum).Set("number_of_segments", phNum);

        var sections = Table(shOff, shNum, shEntSize, _is64 ? 64 : 40, e => _is64
            ? new Section(U32(e), U32(e + 4), U64(e + 8), U64(e + 16), U64(e + 24), U64(e + 32), U32(e + 40), U64(e + 56))
            : new Section(U32(e), U32(e + 4), U32(e + 8), U32(e + 12), U32(e + 16), U32(e + 20), U32(e + 24), U32(e + 36)));
        var segments = Table(phOff, phNum, phEntSize, _is64 ? 56 : 32, e => _is64
            ? new Segment(U32(e), U32(e + 4), U64(e + 8), U64(e + 16), U64(e + 24), U64(e + 32), U64(e + 40), U64(e + 48))
            : new Segment(U32(e), U32(e + 24), U32(e + 4), U32(e + 8), U32(e + 12), U32(e + 16), U32(e + 20), U32(e + 28)));

        if (entry != 0 && Offset(type, entry, sections, segments) is >= 0 and var ep) o.Set("entry_point", ep);

        long strtab = shStrIndex < sections.Count ? sections[(int)shStrIndex].Offset : -1;
        o.Set("sections", sections.Select(x => (object)new MObj().Set("type", x.Type).Set("flags", x.Flags).Set("address", x.Address)
            .Set("size", x.Size).Set("offset", x.Offset).Set("name", strtab >= 0 ? CString(strtab + x.Name) : null)).ToList());
        o.Set("segments", segments.Select(x => (object)new MObj().Set("type", x.Type).Set("flags", x.Flags).Set("offset", x.Offset)
            .Set("virtual_address", x.VAddr).Set("physical_address", x.PAddr).Set("file_size", x.FileSize)
            .Set("memory_size", x.MemSize).Set("alignment", x.Align)).ToList());

        foreach (var (kind, name) in new[] { (ShtSymtab, "symtab"), (ShtDynsym, "dynsym") })
            if (sections.FirstOrDefault(x => x.Type == kind) is { } table && table.Link < sections.Count)
            {
                var symbols = Symbols(table, sections[(int)table.Link]);
                o.Set(name, symbols).Set(name + "_entries", (long)symbols.Count);
            }

        if (segments.FirstOrDefault(x => x.Type == PtDynamic) is { } dyn)
        {
            var entries = Dynamic(dyn);
            o.Set("dynamic", entries).Set("dynamic_section_entries", (long)entries.Count);
        }
        return o;
    }

    /// <summary>A header table (sections or segments): read only when all of it lies inside the data.</summary>
    private List<T> Table<T>(long offset, long count, long entrySize, long minSize, Func<long, T> read)
    {
        var list = new List<T>();
        if (count > 0 && entrySize >= minSize && Fits(offset, count * entrySize))
            for (long i = 0; i < count; i++) list.Add(read(offset + i * entrySize));
        return list;
    }

    // Executables map addresses through their segments, other files through their sections.
    private static long Offset(long type, long rva, List<Section> sections, List<Segment> segments)
    {
        if (type == EtExec)
        {
            foreach (var s in segments)
                if (rva >= s.VAddr && rva - s.VAddr < s.FileSize) return s.Offset + (rva - s.VAddr);
            return -1;
        }
        foreach (var s in sections)
            if (s.Type != ShtNull && s.Type != ShtNobits && rva >= s.Address && rva - s.Address < s.Size) return s.Offset + (rva - s.Address);
        return -1;
    }

    private List<object> Symbols(Section table, Section strings)
    {
        var list = new List<object>();
        long size = _is64 ? 24 : 16;
        if (!Fits(table.Offset, table.Size)) return list;
        long count = Math.Min(table.Size / size, MaxSymbols);
        for (long i = 0; i < count; i++)
        {
            long e = table.Offset + i * size;
            long name = U32(e), info, other, shndx, value, sz;
            if (_is64) { info = _d[e + 4]; other = _d[e + 5]; shndx = U16(e + 6); value = U64(e + 8); sz = U64(e + 16); }
            else { value = U32(e + 4); sz = U32(e + 8); info = _d[e + 12]; other = _d[e + 13]; shndx = U16(e + 14); }
            string? symName = strings.Type != ShtNobits && name < strings.Size ? CString(strings.Offset + name) : null;
            list.Add(new MObj().Set("name", symName).Set("value", value).Set("size", sz).Set("type", info & 0xF)
                .Set("bind", info >> 4).Set("shndx", shndx).Set("visibility", other & 3));
        }
        return list;
    }

    // Entries up to and including DT_NULL, as yara counts them.
    private List<object> Dynamic(Segment dyn)
    {
        var list = new List<object>();
        long size = _is64 ? 16 : 8;
        if (!Fits(dyn.Offset, dyn.FileSize)) return list;
        for (long i = 0; i < Math.Min(dyn.FileSize / size, MaxEntries); i++)
        {
            long e = dyn.Offset + i * size;
            long tag = Addr(e);
            list.Add(new MObj().Set("type", tag).Set("val", Addr(e + size / 2)));
            if (tag == 0) break;
        }
        return list;
    }

    private string? CString(long o)
    {
        if (o < 0 || o >= _n) return null;
        var rest = _d.AsSpan((int)o, (int)Math.Min(_n - o, 4096));
        int end = rest.IndexOf((byte)0);
        return end < 0 ? null : Encoding.Latin1.GetString(rest[..end]);
    }
}
