using System.Text;

namespace Exir.Yara;

/// <summary>The two ways math and hash functions take their bytes: (offset, length) of the file, or a string.</summary>
internal static class ByteRange
{
    public delegate Value SpanFn(ReadOnlySpan<byte> data);

    /// <summary>yara: a negative offset or length, or an offset outside the data, is undefined; the length is clipped to the data.</summary>
    public static Value OfFile(ScanState s, long off, long len, SpanFn fn)
    {
        if (off < 0 || len < 0 || off >= s.Length) return Value.Undef;
        long n = Math.Min(len, s.Length - off);
        return fn(s.Data.AsSpan((int)off, (int)n));
    }

    public static Value OfString(string text, SpanFn fn) => fn(Encoding.Latin1.GetBytes(text));

    public static ReadOnlySpan<byte> Whole(ScanState s) => s.Data.AsSpan(0, s.Length);

    /// <summary>Declares name(offset, length) and name(string) for a function of the bytes.</summary>
    public static MStructT RangeAndString(this MStructT t, string name, SpanFn fn)
        => t.Fn(name, "ii", (s, _, a) => OfFile(s, a[0].I, a[1].I, fn))
            .Fn(name, "s", (_, _, a) => OfString(a[0].S, fn));
}
