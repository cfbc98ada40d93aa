using System.Buffers.Binary;
using System.Text;

namespace Exir.Yara;

/// <summary>
/// A PE file read the way yara's pe module reads it (same RVA mapping, same stops on damaged tables), with every
/// table bounded: a hostile file can make the parse stop early, never loop, allocate without bound or throw.
/// </summary>
internal sealed class PeFile
{
    // yara's limits (MAX_PE_SECTIONS, MAX_PE_IMPORTS, MAX_PE_EXPORTS, MAX_RESOURCES, RESOURCE_ITERATOR_MAX_DEPTH).
    private const int MaxSections = 96, MaxImports = 16384, MaxExports = 16384, MaxResources = 65536, MaxResourceDepth = 3;

    public sealed record Function(string? Name, long Ordinal, long Rva);
    public sealed record ImportedDll(string Name, List<Function> Functions);
    public sealed record Export(long Ordinal, string? Name, string? Forward, long Offset, long Rva);
    public sealed record Section(string Name, string? FullName, long Va, long VSize, long Raw, long RawSize, long Characteristics, long Relocs, long LineNums, long NRelocs, long NLineNums);
    public sealed record Resource(long Rva, long Offset, long Length, long Type, long Id, long Language, string? TypeString, string? NameString, string? LanguageString);

    private readonly Bytes _d;
    private readonly int _n;
    public readonly int Header;
    public readonly int Optional;
    public readonly bool Is64;
    public readonly long NumberOfSections, FileAlignment, Characteristics, ImageBase;
    public readonly List<Section> Sections = [];
    private bool _truncatedSections;
    public readonly List<ImportedDll> Imports = [], DelayedImports = [];
    public readonly List<Export> Exports = [];
    public readonly List<Resource> Resources = [];
    public readonly List<(string Key, string Value)> VersionInfo = [];

    private PeFile(Bytes d, int n, int header)
    {
        _d = d; _n = n; Header = header; Optional = header + 24;
        NumberOfSections = U16(header + 6);
        Characteristics = U16(header + 22);
        Is64 = U16(Optional) == 0x20B;
        ImageBase = Is64 ? (long)U64(Optional + 24) : U32(Optional + 28);
        FileAlignment = U32(Optional + 36);
    }

    /// <summary>The PE headers of the data, or null when it is not a PE file (as yara's pe_get_header decides).</summary>
    public static PeFile? Open(Bytes d, int n)
    {
        if (n < 0x40 || d[0] != 'M' || d[1] != 'Z') return null;
        long lfanew = BinaryPrimitives.ReadInt32LittleEndian(d.AsSpan(0x3C));
        if (lfanew < 0 || lfanew + 24 > n) return null;
        if (BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan((int)lfanew)) != 0x00004550) return null;
        return new PeFile(d, n, (int)lfanew);
    }

    public int Length => _n;
    public ReadOnlySpan<byte> Data => _d.AsSpan(0, _n);
    public long U8(long o) => o >= 0 && o < _n ? _d[o] : -1;
    public long U16(long o) => o >= 0 && o + 2 <= _n ? BinaryPrimitives.ReadUInt16LittleEndian(_d.AsSpan((int)o)) : -1;
    public long U32(long o) => o >= 0 && o + 4 <= _n ? BinaryPrimitives.ReadUInt32LittleEndian(_d.AsSpan((int)o)) : -1;
    public ulong U64(long o) => o >= 0 && o + 8 <= _n ? BinaryPrimitives.ReadUInt64LittleEndian(_d.AsSpan((int)o)) : 0;
    private bool Fits(long o, long size) => o >= 0 && size >= 0 && o + size <= _n;

    public long OptionalHeaderSize => U16(Header + 20);
    private int DirectoriesAt => Optional + (Is64 ? 112 : 96);
    public long NumberOfRvaAndSizes => U32(Optional + (Is64 ? 108 : 92));

    /// <summary>(RVA, size) of data directory i, or null when the header does not hold it.</summary>
    public (long Va, long Size)? Directory(int i)
    {
        long at = DirectoriesAt + 8L * i;
        if (i >= Math.Min(NumberOfRvaAndSizes, 16) || !Fits(at, 8)) return null;
        return (U32(at), U32(at + 4));
    }

    public void Parse()
    {
        ParseSections();
        ParseImports();
        ParseDelayedImports();
        ParseExports();
        ParseResources();
    }

    private void ParseSections()
    {
        long at = Optional + OptionalHeaderSize;
        long symbols = U32(Header + 12), nSymbols = U32(Header + 16);
        for (int i = 0; i < Math.Min(NumberOfSections, MaxSections); i++, at += 40)
        {
            if (!Fits(at, 40)) { _truncatedSections = true; break; }
            var raw = _d.AsSpan((int)at, 8);
            int z = raw.IndexOf((byte)0);
            var name = Encoding.Latin1.GetString(z < 0 ? raw : raw[..z]);
            Sections.Add(new Section(name, FullSectionName(name, symbols, nSymbols), U32(at + 12), U32(at + 8), U32(at + 20), U32(at + 16),
                U32(at + 36), U32(at + 24), U32(at + 28), U16(at + 32), U16(at + 34)));
        }
    }

    // "/4" names point into the COFF string table (after the symbol table), as in MinGW builds.
    private string? FullSectionName(string name, long symbols, long nSymbols)
    {
        if (symbols == 0 || name.Length < 2 || name[0] != '/') return name;
        if (!long.TryParse(name.AsSpan(1), out var off)) return name;
        long at = symbols + nSymbols * 18 + off;
        var sb = new StringBuilder();
        for (long o = at; o < _n && sb.Length < 1024; o++)
        {
            byte b = _d[o];
            if (b == 0) return sb.ToString();
            if (b is < 0x20 or > 0x7E) return null;
            sb.Append((char)b);
        }
        return null;
    }

    /// <summary>
    /// File offset of an RVA as yara maps it: the last section starting at or below it (raw offsets rounded down to
    /// min(FileAlignment, 0x200)), identity before the first section, -1 past a section's raw size or the data.
    /// </summary>
    public long Offset(long rva)
    {
        if (rva < 0 || _truncatedSections) return -1;
        long lowest = 0xFFFFFFFF, secRva = 0, secOff = 0, secRaw = 0;
        long alignment = Math.Min(FileAlignment < 0 ? 0 : FileAlignment, 0x200);
        foreach (var s in Sections)
        {
            if (s.Va < lowest) lowest = s.Va;
            if (rva >= s.Va && secRva <= s.Va)
            {
                secRva = s.Va;
                secOff = s.Raw;
                secRaw = s.RawSize;
                if (alignment > 0) secOff -= secOff % alignment;
            }
        }
        if (rva < lowest) { secRva = 0; secOff = 0; secRaw = _n; }
        if (rva - secRva >= secRaw) return -1;
        long off = secOff + (rva - secRva);
        return off < _n ? off : -1;
    }

    /// <summary>A NUL-terminated string at a file offset (at most max bytes), or null outside the data.</summary>
    public string? CStringAt(long o, int max = 512)
    {
        if (o < 0 || o >= _n) return null;
        var rest = _d.AsSpan((int)o, (int)Math.Min(_n - o, max));
        int end = rest.IndexOf((byte)0);
        return Encoding.Latin1.GetString(end < 0 ? rest : rest[..end]);
    }

    private string? CString(long rva) => CStringAt(Offset(rva));

    private void ParseImports()
    {
        if (Directory(1) is not { Va: > 0 } dir) return;
        long desc = Offset(dir.Va);
        if (desc < 0) return;
        int total = 0;
        for (int n = 0; n < MaxImports && Fits(desc, 20); n++, desc += 20)
        {
            // As yara: stop at a zero name or an implausible DLL name; skip DLLs without functions.
            long oft = U32(desc), nameRva = U32(desc + 12), ft = U32(desc + 16);
            if (nameRva == 0) break;
            if (Offset(nameRva) < 0) continue;
            var dll = CString(nameRva);
            if (dll is null || !ValidDllName(dll)) break;
            var fns = Thunks(oft != 0 ? oft : ft, ft, MaxImports - total);
            total += fns.Count;
            if (fns.Count > 0) Imports.Add(new ImportedDll(dll, fns));
        }
    }

    /// <summary>Functions of one import table: names (or ordinals) from the lookup table, RVAs of the address table.</summary>
    private List<Function> Thunks(long lookupRva, long iatRva, int max)
    {
        var fns = new List<Function>();
        long thunk = Offset(lookupRva);
        int size = Is64 ? 8 : 4;
        for (int k = 0; thunk >= 0 && k < max && Fits(thunk, size); k++, thunk += size)
        {
            ulong v = Is64 ? U64(thunk) : (ulong)U32(thunk);
            if (v == 0) break;
            bool byOrdinal = Is64 ? (v & 0x8000000000000000UL) != 0 : (v & 0x80000000UL) != 0;
            long rva = iatRva + (long)k * size;
            // yara names ordinal imports "ordN" (exir has no table of the well-known ws2_32/oleaut32 ordinals).
            if (byOrdinal) fns.Add(new Function($"ord{v & 0xFFFF}", (long)(v & 0xFFFF), rva));
            else
            {
                var name = CString((long)(v & 0x7FFFFFFF) + 2);
                // pefile (and yara) skip imports with neither an ordinal nor a name.
                if (!string.IsNullOrEmpty(name)) fns.Add(new Function(name, -1, rva));
            }
        }
        return fns;
    }

    private void ParseDelayedImports()
    {
        if (Directory(13) is not { Va: > 0 } dir) return;
        long desc = Offset(dir.Va);
        if (desc < 0) return;
        int total = 0;
        for (int n = 0; n < MaxImports && Fits(desc, 32); n++, desc += 32)
        {
            long attributes = U32(desc), nameRva = U32(desc + 4), iat = U32(desc + 12), names = U32(desc + 16);
            if (nameRva == 0 && iat == 0 && names == 0) break;
            // Visual C++ 6 wrote virtual addresses here (attribute bit 0 clear): make them RVAs.
            long Rva(long a) => (attributes & 1) != 0 ? a : a - ImageBase;
            var dll = CString(Rva(nameRva));
            if (dll is null || !ValidDllName(dll)) break;
            var fns = Thunks(Rva(names), Rva(iat), MaxImports - total);
            total += fns.Count;
            DelayedImports.Add(new ImportedDll(dll, fns));
        }
    }

    private static bool ValidDllName(string name)
    {
        if (name.Length == 0) return false;
        foreach (var c in name)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '~' or ' ' or '@' or '$' or '+')) return false;
        return true;
    }

    public long ExportTimestamp = -1;
    public string? DllName;

    private void ParseExports()
    {
        if (Directory(0) is not { Va: > 0 } dir) return;
        long at = Offset(dir.Va);
        if (at < 0 || !Fits(at, 40)) return;
        ExportTimestamp = U32(at + 4);
        long nameOff = Offset(U32(at + 12));
        if (nameOff > 0) DllName = CStringAt(nameOff);
        long baseOrd = U32(at + 16);
        long nFuncs = Math.Min(U32(at + 20), MaxExports), nNames = U32(at + 24);
        long eat = nFuncs > 0 ? Offset(U32(at + 28)) : -1;
        if (nFuncs > 0 && eat <= 0) return;
        long names = -1, ords = -1;
        if (nNames > 0)
        {
            names = Offset(U32(at + 32));
            ords = Offset(U32(at + 36));
            if (names <= 0 || ords <= 0) return;
        }
        // Name of each function index (the ordinal table maps names to indices).
        var nameOf = new Dictionary<long, string>();
        for (long j = 0; j < Math.Min(nNames, MaxExports); j++)
        {
            long idx = U16(ords + 2 * j), nameRva = U32(names + 4 * j);
            if (idx < 0 || nameRva < 0) break;
            if (!nameOf.ContainsKey(idx) && CString(nameRva) is { } name) nameOf[idx] = name;
        }
        for (long i = 0; i < nFuncs; i++)
        {
            long rva = U32(eat + 4 * i);
            if (rva < 0) break;
            long off = Offset(rva);
            string? forward = null;
            // An address inside the export directory is a forwarder ("DLL.Function").
            if (off > at && off < at + dir.Size) forward = CStringAt(off);
            Exports.Add(new Export(baseOrd + i, nameOf.GetValueOrDefault(i), forward, forward is null && off > 0 ? off : -1, rva));
        }
    }

    public long ResourceTimestamp = -1, ResourceMajor = -1, ResourceMinor = -1;

    private void ParseResources()
    {
        if (Directory(2) is not { Va: > 0 } dir) return;
        long root = Offset(dir.Va);
        if (root <= 0 || !Fits(root, 16)) return;
        ResourceTimestamp = U32(root + 4);
        ResourceMajor = U16(root + 8);
        ResourceMinor = U16(root + 10);
        var visited = 0;
        WalkResources(root, root, 0, new long[3], new string?[3], ref visited);
    }

    // Type, name and language levels; directory entries point back into the tree only through offsets from its
    // root, so a loop is cut by the depth limit, and the entry count by a total budget.
    private void WalkResources(long rootOff, long dirOff, int depth, long[] ids, string?[] names, ref int visited)
    {
        if (depth > MaxResourceDepth || !Fits(dirOff, 16)) return;
        long count = U16(dirOff + 12) + U16(dirOff + 14);
        for (long e = 0; e < count; e++)
        {
            if (++visited > MaxResources * 4 || Resources.Count >= MaxResources) return;
            long entry = dirOff + 16 + 8 * e;
            if (!Fits(entry, 8)) return;
            long name = U32(entry), target = U32(entry + 4);
            if (depth < 3)
            {
                ids[depth] = (name & 0x80000000) != 0 ? -1 : name;
                names[depth] = (name & 0x80000000) != 0 ? ResourceString(rootOff + (name & 0x7FFFFFFF)) : null;
            }
            if ((target & 0x80000000) != 0) WalkResources(rootOff, rootOff + (target & 0x7FFFFFFF), depth + 1, ids, names, ref visited);
            else if (depth == 2 && Fits(rootOff + target, 16))
            {
                long data = rootOff + target;
                long rva = U32(data), size = U32(data + 4);
                Resources.Add(new Resource(rva, Offset(rva), size, ids[0], ids[1], ids[2], names[0], names[1], names[2]));
                if (ids[0] == 16) ParseVersionInfo(Offset(rva), size);
            }
        }
    }

    // yara keeps the name's UTF-16 bytes as they are.
    private string? ResourceString(long o)
    {
        long len = U16(o);
        return len >= 0 && Fits(o + 2, len * 2) ? Encoding.Latin1.GetString(_d.AsSpan((int)o + 2, (int)len * 2)) : null;
    }

    private const int MaxVersionStrings = 1024;

    /// <summary>VS_VERSIONINFO: the strings of its StringFileInfo tables (keys and values narrowed to bytes, as yara does).</summary>
    private void ParseVersionInfo(long at, long size)
    {
        if (at < 0 || !Fits(at, 6)) return;
        long end = Math.Min(_n, at + Math.Min(size, U16(at)));
        if (WideString(at + 6, end) != "VS_VERSION_INFO") return;
        foreach (var (child, childEnd) in Children(at, end))
        {
            if (WideString(child + 6, childEnd) != "StringFileInfo") continue;
            foreach (var (table, tableEnd) in Children(child, childEnd))
                foreach (var (str, strEnd) in Children(table, tableEnd))
                {
                    if (VersionInfo.Count >= MaxVersionStrings) return;
                    var key = WideString(str + 6, strEnd);
                    if (key is null) continue;
                    long value = Align4(str + 6 + 2L * (key.Length + 1));
                    // yara copies keys into 64-byte and values into 256-byte buffers (NUL included).
                    var text = value < strEnd ? WideString(value, strEnd) ?? "" : "";
                    VersionInfo.Add((Cut(key, 63), Cut(text, 255)));
                }
        }
    }

    /// <summary>The children of a version-info block: after its key and value, each (start, end) by its length field.</summary>
    private IEnumerable<(long Start, long End)> Children(long block, long end)
    {
        var key = WideString(block + 6, end);
        if (key is null) yield break;
        long valueLength = U16(block + 2), type = U16(block + 4);
        long p = Align4(block + 6 + 2L * (key.Length + 1));
        p = Align4(p + (type == 1 ? 2 * valueLength : valueLength));
        for (int k = 0; k < 4096 && p + 6 <= end; k++)
        {
            long len = U16(p);
            if (len <= 0) yield break;
            yield return (p, Math.Min(end, p + len));
            p = Align4(p + len);
        }
    }

    private static string Cut(string s, int max) => s.Length > max ? s[..max] : s;

    private static long Align4(long p) => (p + 3) & ~3L;

    private string? WideString(long o, long end)
    {
        if (o < 0 || o + 2 > end) return null;
        var sb = new StringBuilder();
        for (long p = o; p + 2 <= end && sb.Length < 1024; p += 2)
        {
            int c = _d[p] | _d[p + 1] << 8;
            if (c == 0) return sb.ToString();
            sb.Append((char)(c & 0xFF));
        }
        return sb.ToString();
    }

    /// <summary>The CodeView PDB path of the debug directory (RSDS or NB10 records).</summary>
    public string? PdbPath()
    {
        if (Directory(6) is not { Va: > 0 } dir) return null;
        long at = Offset(dir.Va);
        if (at < 0) return null;
        for (long k = 0; k < Math.Min(dir.Size / 28, 64) && Fits(at + 28 * k, 28); k++)
        {
            long e = at + 28 * k;
            if (U32(e + 12) != 2) continue;
            long cv = Offset(U32(e + 20));
            if (cv < 0) cv = U32(e + 24);
            long sig = U32(cv);
            if (sig == 0x53445352) return CStringAt(cv + 24, 4096); // "RSDS"
            if (sig == 0x3031424E) return CStringAt(cv + 16, 4096); // "NB10"
            if (sig == 0x434F544D) return CStringAt(cv + 20, 4096); // "MTOC" (Apple's mtoc for EFI images)
        }
        return null;
    }

    /// <summary>The PE checksum of the file, with the header's checksum field counted as zero.</summary>
    public long CalculateChecksum()
    {
        long csumAt = Optional + 64;
        ulong sum = 0;
        for (long i = 0; i <= _n / 4; i++)
        {
            if (4 * i == csumAt) continue;
            if (4 * i + 4 <= _n) sum += (ulong)U32(4 * i);
            else for (int j = 0; j < _n % 4; j++) sum += (ulong)_d[4 * i + j] << (8 * j);
            if (sum > 0xFFFFFFFF) sum = (sum & 0xFFFFFFFF) + (sum >> 32);
        }
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum += sum >> 16;
        sum &= 0xFFFF;
        return (long)sum + _n;
    }

    /// <summary>The Rich header between the DOS stub and the PE header: (offset of DanS, length up to Rich, key), or null.</summary>
    public (long Offset, long Length, long Key)? RichHeader()
    {
        for (long p = (Header & ~3L) - 4; p >= 0x40; p -= 4)
        {
            if (U32(p) != 0x68636952) continue; // "Rich"
            long key = U32(p + 4);
            if (key < 0) return null;
            for (long q = p - 4; q >= 0x40; q -= 4)
                if ((U32(q) ^ key) == 0x536E6144) return (q, p - q, key); // "DanS"
            return null;
        }
        return null;
    }
}
