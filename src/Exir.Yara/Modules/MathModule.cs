using System.Globalization;

namespace Exir.Yara;

/// <summary>yara's math module, with yara's formulas (its float results compare equal to yara's).</summary>
internal static class MathModule
{
    public static readonly MStructT Declaration = BuildDeclaration();

    private static MStructT BuildDeclaration()
    {
        var t = new MStructT()
            .RangeAndString("entropy", Entropy)
            .RangeAndString("mean", Mean)
            .RangeAndString("serial_correlation", SerialCorrelation)
            .RangeAndString("monte_carlo_pi", MonteCarloPi)
            .Fn("deviation", "iif", (s, _, a) => ByteRange.OfFile(s, a[0].I, a[1].I, d => Deviation(d, a[2].V.AsDouble)))
            .Fn("deviation", "sf", (_, _, a) => ByteRange.OfString(a[0].S, d => Deviation(d, a[1].V.AsDouble)))
            .Fn("in_range", "fff", (_, _, a) => Value.Bool(a[0].V.AsDouble >= a[1].V.AsDouble && a[0].V.AsDouble <= a[2].V.AsDouble))
            // yara compares the two as unsigned 64-bit integers.
            .Fn("min", "ii", (_, _, a) => Value.Int((long)Math.Min((ulong)a[0].I, (ulong)a[1].I)))
            .Fn("max", "ii", (_, _, a) => Value.Int((long)Math.Max((ulong)a[0].I, (ulong)a[1].I)))
            .Fn("abs", "i", (_, _, a) => Value.Int(a[0].I < 0 ? unchecked(-a[0].I) : a[0].I)) // llabs: long.MinValue stays itself
            .Fn("to_number", "i", (_, _, a) => Value.Int(a[0].I != 0 ? 1 : 0))
            .Fn("count", "iii", (s, _, a) => ByteRange.OfFile(s, a[1].I, a[2].I, d => Count(d, a[0].I)))
            .Fn("count", "i", (s, _, a) => Count(ByteRange.Whole(s), a[0].I))
            .Fn("percentage", "iii", (s, _, a) => ByteRange.OfFile(s, a[1].I, a[2].I, d => Percentage(d, a[0].I)))
            .Fn("percentage", "i", (s, _, a) => Percentage(ByteRange.Whole(s), a[0].I))
            .Fn("mode", "ii", (s, _, a) => ByteRange.OfFile(s, a[0].I, a[1].I, Mode))
            .Fn("mode", "", (s, _, _) => Mode(ByteRange.Whole(s)))
            .Fn("to_string", "i", (_, _, a) => Value.Str(a[0].I.ToString(CultureInfo.InvariantCulture)))
            .Fn("to_string", "ii", (_, _, a) => ToString(a[0].I, a[1].I));
        t.Members["MEAN_BYTES"] = new MConst(Value.Float(127.5));
        return t;
    }

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

    // ent's serial correlation coefficient, as yara computes it (the last byte pairs with the first).
    private static Value SerialCorrelation(ReadOnlySpan<byte> d)
    {
        double t1 = 0, t2 = 0, t3 = 0, last = 0;
        foreach (var b in d)
        {
            t1 += last * b;
            t2 += b;
            t3 += (double)b * b;
            last = b;
        }
        if (d.Length > 0) t1 += last * d[0];
        t2 *= t2;
        double n = d.Length;
        double den = n * t3 - t2;
        return Value.Float(den == 0 ? -100000 : (n * t1 - t2) / den);
    }

    // ent's Monte Carlo estimate of pi from 6-byte (x, y) points; yara returns its relative error.
    private static Value MonteCarloPi(ReadOnlySpan<byte> d)
    {
        double inCircle = Math.Pow(Math.Pow(256.0, 3) - 1, 2.0);
        long points = 0, inside = 0;
        for (int i = 0; i + 6 <= d.Length; i += 6)
        {
            double x = 0, y = 0;
            for (int j = 0; j < 3; j++) { x = x * 256 + d[i + j]; y = y * 256 + d[i + j + 3]; }
            points++;
            if (x * x + y * y <= inCircle) inside++;
        }
        if (points == 0) return Value.Undef;
        double pi = 4.0 * inside / points;
        return Value.Float(Math.Abs((pi - Math.PI) / Math.PI));
    }

    private static Value Count(ReadOnlySpan<byte> d, long b) => b is < 0 or > 255 ? Value.Undef : Value.Int(d.Count((byte)b));

    private static Value Percentage(ReadOnlySpan<byte> d, long b)
    {
        if (b is < 0 or > 255 || d.Length == 0) return Value.Undef;
        return Value.Float((double)d.Count((byte)b) / d.Length);
    }

    // The most common byte; ties go to the lowest value.
    private static Value Mode(ReadOnlySpan<byte> d)
    {
        if (d.Length == 0) return Value.Undef;
        var h = Histogram(d, stackalloc long[256]);
        int best = 0;
        for (int i = 1; i < 256; i++) if (h[i] > h[best]) best = i;
        return Value.Int(best);
    }

    // Base 10 is signed, 8 and 16 unsigned; other bases are undefined.
    private static Value ToString(long v, long numberBase) => numberBase switch
    {
        10 => Value.Str(v.ToString(CultureInfo.InvariantCulture)),
        16 => Value.Str(((ulong)v).ToString("x", CultureInfo.InvariantCulture)),
        8 => Value.Str(Convert.ToString(v, 8)),
        _ => Value.Undef,
    };
}
