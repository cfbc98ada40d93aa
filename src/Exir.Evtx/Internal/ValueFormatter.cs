using System.Runtime.CompilerServices;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Exir.Evtx.Internal;

/// <summary>
/// Renders substitution values the way Windows (wevtutil, Event Viewer) does, because Sigma rules
/// and analysts expect that form: hex without zero padding, 100 ns FILETIME precision, GUIDs in braces.
/// </summary>
internal static class ValueFormatter
{
    public const byte Null = 0x00, String = 0x01, AnsiString = 0x02, Int8 = 0x03, UInt8 = 0x04, Int16 = 0x05,
        UInt16 = 0x06, Int32 = 0x07, UInt32 = 0x08, Int64 = 0x09, UInt64 = 0x0a, Real32 = 0x0b, Real64 = 0x0c,
        Bool = 0x0d, Binary = 0x0e, Guid = 0x0f, SizeT = 0x10, FileTime = 0x11, SystemTime = 0x12, Sid = 0x13,
        HexInt32 = 0x14, HexInt64 = 0x15, EvtHandle = 0x20, BinXml = 0x21, EvtXml = 0x23, ArrayFlag = 0x80;

    /// <summary>Renders a scalar value; arrays go through <see cref="RenderArray"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static string Render(ReadOnlySpan<byte> v, byte type)
    {
        switch (type)
        {
            case Null: return "";
            case String: return Utf16(v);
            case AnsiString: return Ansi(v);
            case Int8: return v.Length >= 1 ? ((sbyte)v[0]).ToString(CultureInfo.InvariantCulture) : Fallback(v);
            case UInt8: return v.Length >= 1 ? v[0].ToString(CultureInfo.InvariantCulture) : Fallback(v);
            case Int16: return v.Length >= 2 ? BinaryPrimitives.ReadInt16LittleEndian(v).ToString(CultureInfo.InvariantCulture) : Fallback(v);
            case UInt16: return v.Length >= 2 ? BinaryPrimitives.ReadUInt16LittleEndian(v).ToString(CultureInfo.InvariantCulture) : Fallback(v);
            case Int32: return v.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(v).ToString(CultureInfo.InvariantCulture) : Fallback(v);
            case UInt32: return v.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(v).ToString(CultureInfo.InvariantCulture) : Fallback(v);
            case Int64: return v.Length >= 8 ? BinaryPrimitives.ReadInt64LittleEndian(v).ToString(CultureInfo.InvariantCulture) : Fallback(v);
            case UInt64: return v.Length >= 8 ? BinaryPrimitives.ReadUInt64LittleEndian(v).ToString(CultureInfo.InvariantCulture) : Fallback(v);
            case Real32: return v.Length >= 4 ? BinaryPrimitives.ReadSingleLittleEndian(v).ToString("R", CultureInfo.InvariantCulture) : Fallback(v);
            case Real64: return v.Length >= 8 ? BinaryPrimitives.ReadDoubleLittleEndian(v).ToString("R", CultureInfo.InvariantCulture) : Fallback(v);
            case Bool: return RenderBool(v);
            case Binary: return Convert.ToHexString(v);
            case Guid: return v.Length >= 16 ? RenderGuid(v) : Fallback(v);
            case SizeT:
                if (v.Length == 4) return Hex(BinaryPrimitives.ReadUInt32LittleEndian(v));
                return v.Length >= 8 ? Hex(BinaryPrimitives.ReadUInt64LittleEndian(v)) : Fallback(v);
            case FileTime: return v.Length >= 8 ? RenderFileTime(BinaryPrimitives.ReadInt64LittleEndian(v)) : Fallback(v);
            case SystemTime: return v.Length >= 16 ? RenderSystemTime(v) : Fallback(v);
            case Sid: return RenderSid(v);
            case HexInt32: return v.Length >= 4 ? Hex(BinaryPrimitives.ReadUInt32LittleEndian(v)) : Fallback(v);
            case HexInt64: return v.Length >= 8 ? Hex(BinaryPrimitives.ReadUInt64LittleEndian(v)) : Fallback(v);
            case EvtXml: return Utf16(v);
            default: return Fallback(v);
        }
    }

    /// <summary>Splits an array value (type | 0x80) into its rendered items.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static List<string> RenderArray(ReadOnlySpan<byte> v, byte type)
    {
        var items = new List<string>();
        byte elem = (byte)(type & 0x7f);
        switch (elem)
        {
            case String:
            {
                // NUL-terminated UTF-16 strings back to back.
                int chars = v.Length / 2, start = 0;
                for (int i = 0; i < chars; i++)
                {
                    if (v[2 * i] == 0 && v[2 * i + 1] == 0)
                    {
                        items.Add(Utf16(v.Slice(2 * start, 2 * (i - start))));
                        start = i + 1;
                    }
                }
                if (start < chars) items.Add(Utf16(v.Slice(2 * start, 2 * (chars - start))));
                return items;
            }
            case AnsiString:
            {
                int start = 0;
                for (int i = 0; i < v.Length; i++)
                    if (v[i] == 0) { items.Add(Ansi(v.Slice(start, i - start))); start = i + 1; }
                if (start < v.Length) items.Add(Ansi(v.Slice(start)));
                return items;
            }
            case Sid:
            {
                int p = 0;
                while (p + 8 <= v.Length && items.Count < v.Length)
                {
                    int len = 8 + 4 * v[p + 1];
                    if (p + len > v.Length) len = v.Length - p;
                    items.Add(RenderSid(v.Slice(p, len)));
                    p += len;
                }
                return items;
            }
            case Binary:
            case BinXml:
            case Null:
                items.Add(Convert.ToHexString(v));
                return items;
        }
        int size = ElementSize(elem, v.Length);
        if (size <= 0) { items.Add(Fallback(v)); return items; }
        for (int p = 0; p + size <= v.Length; p += size) items.Add(Render(v.Slice(p, size), elem));
        return items;
    }

    private static int ElementSize(byte type, int total) => type switch
    {
        Int8 or UInt8 => 1,
        Int16 or UInt16 => 2,
        Int32 or UInt32 or Real32 or Bool or HexInt32 => 4,
        Int64 or UInt64 or Real64 or FileTime or HexInt64 => 8,
        Guid or SystemTime => 16,
        SizeT => total % 8 == 0 ? 8 : 4,
        _ => 0,
    };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static string Utf16(ReadOnlySpan<byte> v)
    {
        int n = v.Length & ~1;
        // Strings are stored with their terminating NUL(s): Windows does not render them.
        while (n >= 2 && v[n - 1] == 0 && v[n - 2] == 0) n -= 2;
        if (n == 0) return "";
        // UTF-16LE bytes are the string's chars on little-endian machines: a copy, not a decode.
        // (Lone surrogates stay as they are, as Windows keeps them.)
        if (BitConverter.IsLittleEndian) return new string(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, char>(v.Slice(0, n)));
        return Encoding.Unicode.GetString(v.Slice(0, n));
    }

    // Windows-1252 for bytes 0x80-0x9F; undefined positions map to the C1 control of the same value.
    private static readonly char[] Cp1252High =
    {
        '\u20AC', '\u0081', '\u201A', '\u0192', '\u201E', '\u2026', '\u2020', '\u2021', '\u02C6', '\u2030', '\u0160', '\u2039', '\u0152', '\u008D', '\u017D', '\u008F',
        '\u0090', '\u2018', '\u2019', '\u201C', '\u201D', '\u2022', '\u2013', '\u2014', '\u02DC', '\u2122', '\u0161', '\u203A', '\u0153', '\u009D', '\u017E', '\u0178',
    };

    /// <summary>ANSI strings carry no code page; decode as Windows-1252 (the common western ANSI page), which never fails.</summary>
    public static string Ansi(ReadOnlySpan<byte> v)
    {
        int n = v.Length;
        while (n > 0 && v[n - 1] == 0) n--;
        if (n == 0) return "";
        return string.Create(n, v.Slice(0, n).ToArray(), static (dst, src) =>
        {
            for (int i = 0; i < src.Length; i++)
            {
                byte b = src[i];
                dst[i] = b is >= 0x80 and <= 0x9f ? Cp1252High[b - 0x80] : (char)b;
            }
        });
    }

    private static string RenderBool(ReadOnlySpan<byte> v)
    {
        // Any non-zero value is true: some providers write values other than 0/1.
        foreach (var b in v) if (b != 0) return "true";
        return "false";
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static string Hex(ulong v)
    {
        // One string, no intermediate: Keywords and hex values are in nearly every record.
        Span<char> s = stackalloc char[18];
        s[0] = '0';
        s[1] = 'x';
        v.TryFormat(s.Slice(2), out int n, "x", CultureInfo.InvariantCulture);
        return new string(s.Slice(0, 2 + n));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static string RenderGuid(ReadOnlySpan<byte> v)
    {
        uint a = BinaryPrimitives.ReadUInt32LittleEndian(v);
        ushort b = BinaryPrimitives.ReadUInt16LittleEndian(v.Slice(4));
        ushort c = BinaryPrimitives.ReadUInt16LittleEndian(v.Slice(6));
        Span<char> s = stackalloc char[38];
        s[0] = '{';
        WriteHex(s.Slice(1, 8), a, 8);
        s[9] = '-';
        WriteHex(s.Slice(10, 4), b, 4);
        s[14] = '-';
        WriteHex(s.Slice(15, 4), c, 4);
        s[19] = '-';
        WriteHex(s.Slice(20, 2), v[8], 2);
        WriteHex(s.Slice(22, 2), v[9], 2);
        s[24] = '-';
        for (int i = 0; i < 6; i++) WriteHex(s.Slice(25 + 2 * i, 2), v[10 + i], 2);
        s[37] = '}';
        return new string(s);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WriteHex(Span<char> dst, ulong value, int digits)
    {
        for (int i = digits - 1; i >= 0; i--)
        {
            int d = (int)(value & 0xf);
            dst[i] = (char)(d < 10 ? '0' + d : 'A' + d - 10);
            value >>= 4;
        }
    }

    private const long MaxFileTime = 2650467743999999999; // 9999-12-31T23:59:59.9999999Z

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool TryFileTime(long ft, out DateTime utc)
    {
        if (ft < 0 || ft > MaxFileTime) { utc = default; return false; }
        utc = DateTime.FromFileTimeUtc(ft);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static string RenderFileTime(long ft) =>
        TryFileTime(ft, out var utc) ? FormatUtc(utc) : Hex((ulong)ft);

    /// <summary>ISO 8601 with all seven fraction digits (100 ns), as Windows renders SystemTime.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static string FormatUtc(DateTime utc)
    {
        return string.Create(28, utc, static (s, t) =>
        {
            Digits(s.Slice(0, 4), t.Year);
            s[4] = '-'; Digits(s.Slice(5, 2), t.Month);
            s[7] = '-'; Digits(s.Slice(8, 2), t.Day);
            s[10] = 'T'; Digits(s.Slice(11, 2), t.Hour);
            s[13] = ':'; Digits(s.Slice(14, 2), t.Minute);
            s[16] = ':'; Digits(s.Slice(17, 2), t.Second);
            s[19] = '.'; Digits(s.Slice(20, 7), (int)(t.Ticks % TimeSpan.TicksPerSecond));
            s[27] = 'Z';
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Digits(Span<char> dst, int value)
    {
        for (int i = dst.Length - 1; i >= 0; i--) { dst[i] = (char)('0' + value % 10); value /= 10; }
    }

    public static string RenderSystemTime(ReadOnlySpan<byte> v)
    {
        int year = BinaryPrimitives.ReadUInt16LittleEndian(v), month = BinaryPrimitives.ReadUInt16LittleEndian(v.Slice(2));
        int day = BinaryPrimitives.ReadUInt16LittleEndian(v.Slice(6)), hour = BinaryPrimitives.ReadUInt16LittleEndian(v.Slice(8));
        int minute = BinaryPrimitives.ReadUInt16LittleEndian(v.Slice(10)), second = BinaryPrimitives.ReadUInt16LittleEndian(v.Slice(12));
        int ms = BinaryPrimitives.ReadUInt16LittleEndian(v.Slice(14));
        if (year is < 1 or > 9999 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) ||
            hour > 23 || minute > 59 || second > 59 || ms > 999)
            return Convert.ToHexString(v);
        return FormatUtc(new DateTime(year, month, day, hour, minute, second, ms, DateTimeKind.Utc));
    }

    public static string RenderSid(ReadOnlySpan<byte> v)
    {
        if (v.Length < 8) return Convert.ToHexString(v);
        int count = v[1];
        if (count <= 15)
        {
            // The usual case (account SIDs have at most a handful of parts): formatted on the stack.
            Span<char> s = stackalloc char[8 + 15 + 15 * 11];
            s[0] = 'S';
            s[1] = '-';
            int n = 2;
            v[0].TryFormat(s.Slice(n), out int w, default, CultureInfo.InvariantCulture);
            n += w;
            s[n++] = '-';
            ulong auth = 0;
            for (int i = 2; i < 8; i++) auth = (auth << 8) | v[i];
            auth.TryFormat(s.Slice(n), out w, default, CultureInfo.InvariantCulture);
            n += w;
            for (int i = 0; i < count && 8 + 4 * i + 4 <= v.Length; i++)
            {
                s[n++] = '-';
                BinaryPrimitives.ReadUInt32LittleEndian(v.Slice(8 + 4 * i)).TryFormat(s.Slice(n), out w, default, CultureInfo.InvariantCulture);
                n += w;
            }
            return new string(s.Slice(0, n));
        }
        var sb = new StringBuilder(64);
        sb.Append("S-").Append(v[0]).Append('-');
        ulong authority = 0;
        for (int i = 2; i < 8; i++) authority = (authority << 8) | v[i];
        sb.Append(authority);
        // A truncated SID keeps the sub-authorities that are there.
        for (int i = 0; i < count && 8 + 4 * i + 4 <= v.Length; i++)
            sb.Append('-').Append(BinaryPrimitives.ReadUInt32LittleEndian(v.Slice(8 + 4 * i)));
        return sb.ToString();
    }

    private static string Fallback(ReadOnlySpan<byte> v) => Convert.ToHexString(v);
}
