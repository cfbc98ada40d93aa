using System.Buffers.Binary;
using System.Text;

namespace Exir.Yara;

/// <summary>
/// The CLI metadata of a .NET PE file (ECMA-335 II.24): root, streams, heaps and the #~ tables that yara's
/// dotnet module reads. Row sizes depend on every table's row count, so all tables' schemas are declared.
/// Reads outside the data give zero and counts are capped: a damaged file yields fewer values, never an exception.
/// </summary>
internal sealed class DotnetMetadata
{
    private const int MaxRows = 1 << 20, MaxStreams = 32, MaxItems = 65536;

    // Column kinds: 1/2/4 fixed sizes, s/g/b heap indexes, tNN a row index into table NN (hex), cX a coded index.
    private static readonly string[] Schema =
    [
        "2 s g g g", "cR s s", "4 s s cT t04 t06", "t04", "2 s b", "t06", "4 2 2 s b t08", "t08", "2 2 s", "t02 cT", // 00-09
        "cP s b", "2 cC b", "cH cA b", "cF b", "2 cD b", "2 4 t02", "4 t04", "b", "t02 t14", "t14", // 0A-13
        "2 s cT", "t02 t17", "t17", "2 s b", "2 t06 cS", "t02 cM cM", "s", "b", "2 cW s t1A", "4 t04", // 14-1D
        "4 4", "4", "4 2 2 2 2 4 b s s", "4", "4 4 4", "2 2 2 2 4 b s s b", "4 t23", "4 4 4 t23", "4 s b", "4 4 s s cI", // 1E-27
        "4 4 s cI", "t02 t02", "2 2 cO s", "cM b", "t2A cT", // 28-2C
    ];

    // Coded indexes (II.24.2.6): the tables each can point to; the tag takes ceil(log2(count)) bits.
    private static readonly Dictionary<char, int[]> Coded = new()
    {
        ['T'] = [0x02, 0x01, 0x1B], ['C'] = [0x04, 0x08, 0x17],
        ['A'] = [0x06, 0x04, 0x01, 0x02, 0x08, 0x09, 0x0A, 0x00, 0x0E, 0x17, 0x14, 0x11, 0x1A, 0x1B, 0x20, 0x23, 0x26, 0x27, 0x28, 0x2A, 0x2C, 0x2B],
        ['F'] = [0x04, 0x08], ['D'] = [0x02, 0x06, 0x20], ['P'] = [0x02, 0x01, 0x1A, 0x06, 0x1B], ['S'] = [0x14, 0x17],
        ['M'] = [0x06, 0x0A], ['W'] = [0x04, 0x06], ['I'] = [0x26, 0x23, 0x27], ['H'] = [-1, -1, 0x06, 0x0A, -1],
        ['R'] = [0x00, 0x1A, 0x23, 0x01], ['O'] = [0x02, 0x06],
    };

    private readonly Bytes _d;
    private readonly int _n;
    public readonly long Root;
    public readonly string Version;
    public readonly List<(string Name, long Offset, long Size)> Streams = [];
    private readonly long[] _rows = new long[64];
    private readonly long[] _tableAt = new long[64];
    private readonly int[][] _colSizes = new int[Schema.Length][];
    private int _stringSize = 2, _guidSize = 2, _blobSize = 2;

    private DotnetMetadata(Bytes d, int n, long root, string version) { _d = d; _n = n; Root = root; Version = version; }

    private bool Fits(long o, long size) => o >= 0 && size >= 0 && o <= _n && size <= _n - o;
    private long U16(long o) => Fits(o, 2) ? BinaryPrimitives.ReadUInt16LittleEndian(_d.AsSpan((int)o)) : 0;
    private long U32(long o) => Fits(o, 4) ? BinaryPrimitives.ReadUInt32LittleEndian(_d.AsSpan((int)o)) : 0;

    /// <summary>The metadata at a file offset ("BSJB" root), or null.</summary>
    public static DotnetMetadata? Open(Bytes d, int n, long root)
    {
        if (root < 0 || root + 16 > n || BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan((int)root)) != 0x424A5342) return null;
        long len = BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan((int)root + 12));
        if (len > 255 || root + 16 + len + 4 > n) return null;
        var raw = d.AsSpan((int)root + 16, (int)len);
        int z = raw.IndexOf((byte)0);
        var m = new DotnetMetadata(d, n, root, Encoding.Latin1.GetString(z < 0 ? raw : raw[..z]));
        m.ReadStreams(root + 16 + len);
        m.ReadTables();
        return m;
    }

    private void ReadStreams(long at)
    {
        long count = Math.Min(U16(at + 2), MaxStreams);
        long p = at + 4;
        for (int i = 0; i < count && Fits(p, 8); i++)
        {
            long off = U32(p), size = U32(p + 4);
            p += 8;
            int end = (int)Math.Min(_n, p + 32);
            var rest = _d.AsSpan((int)p, end - (int)p);
            int z = rest.IndexOf((byte)0);
            if (z < 0) break;
            Streams.Add((Encoding.Latin1.GetString(rest[..z]), Root + off, size));
            p += (z + 4) & ~3;
        }
    }

    public (long Offset, long Size)? Stream(string name)
        => Streams.FirstOrDefault(s => s.Name == name) is { Name: not null } s ? (s.Offset, s.Size) : null;

    private void ReadTables()
    {
        if ((Stream("#~") ?? Stream("#-")) is not { } t || !Fits(t.Offset, 24)) return;
        long heaps = _d[t.Offset + 6];
        _stringSize = (heaps & 1) != 0 ? 4 : 2;
        _guidSize = (heaps & 2) != 0 ? 4 : 2;
        _blobSize = (heaps & 4) != 0 ? 4 : 2;
        ulong valid = BinaryPrimitives.ReadUInt64LittleEndian(_d.AsSpan((int)t.Offset + 8));
        long p = t.Offset + 24;
        for (int i = 0; i < 64; i++)
            if ((valid >> i & 1) != 0) { _rows[i] = Math.Min(U32(p), MaxRows); p += 4; }
        for (int i = 0; i < Schema.Length; i++) _colSizes[i] = Schema[i].Split(' ').Select(ColumnSize).ToArray();
        for (int i = 0; i < Schema.Length; i++)
        {
            _tableAt[i] = p;
            p += _rows[i] * _colSizes[i].Sum();
        }
    }

    private int ColumnSize(string c) => c[0] switch
    {
        '1' => 1, '2' => 2, '4' => 4,
        's' => _stringSize, 'g' => _guidSize, 'b' => _blobSize,
        't' => _rows[Convert.ToInt32(c[1..], 16)] < 0x10000 ? 2 : 4,
        _ => CodedSize(Coded[c[1]]),
    };

    private int CodedSize(int[] tables)
    {
        int bits = (int)Math.Ceiling(Math.Log2(tables.Length));
        long max = tables.Where(t => t >= 0).Max(t => _rows[t]);
        return max < 1L << (16 - bits) ? 2 : 4;
    }

    public long Rows(int table) => _rows[table];

    /// <summary>Column col of row (0-based) of a table, or 0 when it lies outside the data.</summary>
    public long Cell(int table, long row, int col)
    {
        var sizes = _colSizes[table];
        if (sizes is null || row < 0 || row >= _rows[table]) return 0;
        long o = _tableAt[table] + row * sizes.Sum() + sizes.Take(col).Sum();
        return sizes[col] == 2 ? U16(o) : sizes[col] == 1 ? (Fits(o, 1) ? _d[o] : 0) : U32(o);
    }

    /// <summary>A #Strings entry, or null.</summary>
    public string? String(long index)
    {
        if (Stream("#Strings") is not { } s || index < 0 || index >= s.Size) return null;
        long o = s.Offset + index;
        if (o >= _n) return null;
        var rest = _d.AsSpan((int)o, (int)Math.Min(_n - o, Math.Min(s.Size - index, 4096)));
        int z = rest.IndexOf((byte)0);
        return z < 0 ? null : Encoding.UTF8.GetString(rest[..z]);
    }

    /// <summary>A #Blob entry's bytes (its length is a compressed integer), or null.</summary>
    public byte[]? Blob(long index)
    {
        if (Stream("#Blob") is not { } s || index < 0 || index >= s.Size) return null;
        long o = s.Offset + index;
        var (len, head) = CompressedLength(o);
        if (len < 0 || !Fits(o + head, len) || head + len > s.Size - index) return null;
        return _d.AsSpan((int)(o + head), (int)len).ToArray();
    }

    /// <summary>A compressed unsigned integer (II.23.2): its value and how many bytes it took; (-1, 0) if unreadable.</summary>
    public (long Value, int Size) CompressedLength(long o)
    {
        if (!Fits(o, 1)) return (-1, 0);
        byte b = _d[o];
        if ((b & 0x80) == 0) return (b, 1);
        if ((b & 0xC0) == 0x80) return Fits(o, 2) ? (((b & 0x3F) << 8) | _d[o + 1], 2) : (-1, 0);
        if ((b & 0xE0) == 0xC0) return Fits(o, 4) ? (((long)(b & 0x1F) << 24) | ((long)_d[o + 1] << 16) | ((long)_d[o + 2] << 8) | _d[o + 3], 4) : (-1, 0);
        return (-1, 0);
    }

    /// <summary>The GUIDs of the #GUID heap, formatted as yara prints them.</summary>
    public List<string> Guids()
    {
        var list = new List<string>();
        if (Stream("#GUID") is not { } s) return list;
        for (long i = 0; i < Math.Min(s.Size / 16, MaxItems) && Fits(s.Offset + 16 * i, 16); i++)
            list.Add(new Guid(_d.AsSpan((int)(s.Offset + 16 * i), 16)).ToString("D"));
        return list;
    }

    /// <summary>The #US heap's non-empty strings, as their raw UTF-16 bytes (without the trailing flag byte), as yara keeps them.</summary>
    public List<string> UserStrings()
    {
        var list = new List<string>();
        if (Stream("#US") is not { } s) return list;
        long end = Math.Min(_n, s.Offset + s.Size);
        for (long o = s.Offset + 1; o < end && list.Count < MaxItems;)
        {
            var (len, head) = CompressedLength(o);
            if (len < 0 || o + head + len > end) break;
            if (len > 1) list.Add(Encoding.Latin1.GetString(_d.AsSpan((int)(o + head), (int)len - 1)));
            o += head + Math.Max(len, 0);
            if (head == 0) break;
        }
        return list;
    }

    public byte[] Bytes(long o, long n) => Fits(o, n) ? _d.AsSpan((int)o, (int)n).ToArray() : [];
    public long FileU32(long o) => U32(o);
}
