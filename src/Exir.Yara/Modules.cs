using System.Security.Cryptography;
using System.Text;

namespace Exir.Yara;

/// <summary>The parts of yara's math, hash and pe modules that rules use.</summary>
internal static class Modules
{
    public static bool IsModule(string name) => name is "math" or "hash" or "pe";

    public static Func<ScanState, Value[], Value>? Resolve(string name, int argc) => (name, argc) switch
    {
        ("math.entropy", 2) => (s, a) => Range(s, a[0], a[1], Entropy),
        ("math.entropy", 1) => (s, a) => OnString(a[0], Entropy),
        ("math.mean", 2) => (s, a) => Range(s, a[0], a[1], Mean),
        ("math.mean", 1) => (s, a) => OnString(a[0], Mean),
        ("math.deviation", 3) => (s, a) => a[2].IsNumber ? Range(s, a[0], a[1], d => Deviation(d, a[2].AsDouble)) : Value.Undef,
        ("math.deviation", 2) => (s, a) => a[1].IsNumber ? OnString(a[0], d => Deviation(d, a[1].AsDouble)) : Value.Undef,
        ("math.count", 3) => (s, a) => a[0].Kind == VKind.Int ? Range(s, a[1], a[2], d => Count(d, a[0].I)) : Value.Undef,
        ("math.count", 1) => (s, a) => a[0].Kind == VKind.Int ? Count(s.Data.AsSpan(0, s.Length), a[0].I) : Value.Undef,
        ("math.percentage", 3) => (s, a) => a[0].Kind == VKind.Int ? Range(s, a[1], a[2], d => Percentage(d, a[0].I)) : Value.Undef,
        ("math.percentage", 1) => (s, a) => a[0].Kind == VKind.Int ? Percentage(s.Data.AsSpan(0, s.Length), a[0].I) : Value.Undef,
        ("math.in_range", 3) => (s, a) => a[0].IsNumber && a[1].IsNumber && a[2].IsNumber
            ? Value.Bool(a[0].AsDouble >= a[1].AsDouble && a[0].AsDouble <= a[2].AsDouble) : Value.Undef,
        ("math.min", 2) => (s, a) => a[0].Kind == VKind.Int && a[1].Kind == VKind.Int ? Value.Int(Math.Min(a[0].I, a[1].I)) : Value.Undef,
        ("math.max", 2) => (s, a) => a[0].Kind == VKind.Int && a[1].Kind == VKind.Int ? Value.Int(Math.Max(a[0].I, a[1].I)) : Value.Undef,
        ("math.abs", 1) => (s, a) => a[0].Kind == VKind.Int ? Value.Int(a[0].I < 0 ? unchecked(-a[0].I) : a[0].I) : Value.Undef, // llabs: long.MinValue stays itself
        ("math.to_number", 1) => (s, a) => a[0].IsUndef ? Value.Undef : Value.Int(a[0].IsTrue ? 1 : 0),
        ("hash.md5", 2) => (s, a) => Range(s, a[0], a[1], d => Hex(MD5.HashData(d))),
        ("hash.md5", 1) => (s, a) => OnString(a[0], d => Hex(MD5.HashData(d))),
        ("hash.sha1", 2) => (s, a) => Range(s, a[0], a[1], d => Hex(SHA1.HashData(d))),
        ("hash.sha1", 1) => (s, a) => OnString(a[0], d => Hex(SHA1.HashData(d))),
        ("hash.sha256", 2) => (s, a) => Range(s, a[0], a[1], d => Hex(SHA256.HashData(d))),
        ("hash.sha256", 1) => (s, a) => OnString(a[0], d => Hex(SHA256.HashData(d))),
        ("hash.checksum32", 2) => (s, a) => Range(s, a[0], a[1], Checksum32),
        ("hash.checksum32", 1) => (s, a) => OnString(a[0], Checksum32),
        ("hash.crc32", 2) => (s, a) => Range(s, a[0], a[1], Crc32),
        ("hash.crc32", 1) => (s, a) => OnString(a[0], Crc32),
        _ => Pe.Resolve(name, argc),
    };

    private delegate Value SpanFn(ReadOnlySpan<byte> data);

    // yara: negative offset/length or an offset outside the data is undefined; the length is clipped to the data.
    private static Value Range(ScanState s, Value off, Value len, SpanFn fn)
    {
        if (off.Kind != VKind.Int || len.Kind != VKind.Int) return Value.Undef;
        if (off.I < 0 || len.I < 0 || off.I >= s.Length) return Value.Undef;
        long n = Math.Min(len.I, s.Length - off.I);
        return fn(s.Data.AsSpan((int)off.I, (int)n));
    }

    private static Value OnString(Value v, SpanFn fn)
        => v.Kind == VKind.Str ? fn(Encoding.Latin1.GetBytes(v.S!)) : Value.Undef;

    private static Span<long> Histogram(ReadOnlySpan<byte> d, Span<long> h)
    {
        foreach (var b in d) h[b]++;
        return h;
    }

    private static Value Entropy(ReadOnlySpan<byte> d)
    {
        if (d.Length == 0) return Value.Float(0);
        var h = Histogram(d, stackalloc long[256]);
        double e = 0;
        foreach (var c in h)
            if (c > 0) { double x = (double)c / d.Length; e -= x * Math.Log2(x); }
        return Value.Float(e);
    }

    private static Value Mean(ReadOnlySpan<byte> d)
    {
        if (d.Length == 0) return Value.Undef;
        double sum = 0;
        foreach (var b in d) sum += b;
        return Value.Float(sum / d.Length);
    }

    private static Value Deviation(ReadOnlySpan<byte> d, double mean)
    {
        if (d.Length == 0) return Value.Undef;
        var h = Histogram(d, stackalloc long[256]);
        double sum = 0;
        for (int i = 0; i < 256; i++) sum += Math.Abs(i - mean) * h[i];
        return Value.Float(sum / d.Length);
    }

    private static Value Count(ReadOnlySpan<byte> d, long b)
    {
        if (b is < 0 or > 255) return Value.Undef;
        return Value.Int(d.Count((byte)b));
    }

    private static Value Percentage(ReadOnlySpan<byte> d, long b)
    {
        if (b is < 0 or > 255 || d.Length == 0) return Value.Undef;
        return Value.Float((double)d.Count((byte)b) / d.Length);
    }

    private static Value Checksum32(ReadOnlySpan<byte> d)
    {
        uint sum = 0;
        foreach (var b in d) sum += b;
        return Value.Int(sum);
    }

    private static readonly uint[] CrcTable = BuildCrc();
    private static uint[] BuildCrc()
    {
        var t = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }

    private static Value Crc32(ReadOnlySpan<byte> d)
    {
        uint c = 0xFFFFFFFF;
        foreach (var b in d) c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        return Value.Int(c ^ 0xFFFFFFFF);
    }

    private static Value Hex(byte[] h) => Value.Str(Convert.ToHexStringLower(h));
}
