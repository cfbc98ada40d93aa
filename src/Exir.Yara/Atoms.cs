namespace Exir.Yara;

/// <summary>Chooses the literal pieces ("atoms") fed to the multi-pattern matcher, as yara does with its atoms.</summary>
internal sealed record RegexAtoms(List<byte[]> Atoms, int Score, int MinPrefix, int MaxPrefix);

internal static class Atoms
{
    public const int MaxLength = 8;

    private static int ByteScore(byte b) => b switch
    {
        0x00 or 0xFF or 0x20 or 0x0A or 0x0D or 0x09 or 0xCC or 0x90 => 1,
        _ when (uint)(b - '0') < 10 || (uint)((b | 0x20) - 'a') < 26 => 3,
        _ => 4,
    };

    public static int Score(ReadOnlySpan<byte> a)
    {
        // Atoms are at most a few bytes: a quadratic distinct-byte count beats clearing a 256-entry table.
        int s = 0;
        for (int i = 0; i < a.Length; i++)
        {
            s += ByteScore(a[i]);
            if (a[..i].IndexOf(a[i]) < 0) s += 2;
        }
        return s;
    }

    /// <summary>Best window of at most <paramref name="max"/> bytes (folded) within a literal.</summary>
    public static (int Offset, int Length, int Score) BestWindow(ReadOnlySpan<byte> folded, int max)
    {
        int len = Math.Min(max, folded.Length);
        int best = -1, bestOff = 0;
        for (int o = 0; o + len <= folded.Length; o++)
        {
            int sc = Score(folded.Slice(o, len));
            if (sc > best) { best = sc; bestOff = o; }
        }
        return (bestOff, len, best);
    }

    public static byte[] FoldBytes(ReadOnlySpan<byte> b)
    {
        var r = new byte[b.Length];
        for (int i = 0; i < b.Length; i++) r[i] = AhoCorasick.Fold[b[i]];
        return r;
    }

    public static byte[] Widen(ReadOnlySpan<byte> b)
    {
        var w = new byte[b.Length * 2];
        for (int i = 0; i < b.Length; i++) w[2 * i] = b[i];
        return w;
    }

    /// <summary>
    /// Narrow (folded) atoms of which at least one must occur in any match of the regex, or null when none
    /// can be derived (the string then runs on every evaluation of its rule). MinPrefix..MaxPrefix is the number
    /// of characters between the start of a match and the atom; MaxPrefix is -1 when unbounded.
    /// </summary>
    public static RegexAtoms? ForRegex(RNode n, int max)
    {
        var items = new List<RNode>();
        Flatten(n, items);
        RegexAtoms? best = null, bestBounded = null;
        var run = new List<byte>();
        int wmin = 0, wmax = 0;      // width range of everything before the current item (wmax -1 = unbounded)
        int rmin = 0, rmax = 0;      // same, before the current run

        void Consider(RegexAtoms c)
        {
            if (best is null || c.Score > best.Score) best = c;
            if (c.MaxPrefix >= 0 && (bestBounded is null || c.Score > bestBounded.Score)) bestBounded = c;
        }

        void EndRun()
        {
            if (run.Count == 0) return;
            var arr = run.ToArray();
            var (o, l, sc) = BestWindow(arr, max);
            Consider(new RegexAtoms([arr.AsSpan(o, l).ToArray()], sc, rmin + o, rmax < 0 ? -1 : rmax + o));
            run.Clear();
        }

        void Advance(RNode it)
        {
            var (a, b) = Width(it);
            wmin = Sat(wmin + a);
            wmax = wmax < 0 || b < 0 ? -1 : Sat(wmax + b);
        }

        foreach (var it in items)
        {
            if (it is RSet s && Literal(s.Set) is { } b)
            {
                if (run.Count == 0) { rmin = wmin; rmax = wmax; }
                run.Add(b);
                Advance(it);
                continue;
            }
            if (it is RAnchor) continue; // zero width: the literal bytes around it are still adjacent
            if (it is RRepeat r && r.Body is RSet rs && Literal(rs.Set) is { } rb && r.Min > 0)
            {
                if (run.Count == 0) { rmin = wmin; rmax = wmax; }
                for (int k = 0; k < Math.Min(r.Min, max); k++) run.Add(rb);
                if (r.Max != r.Min || r.Min > max) EndRun();
                Advance(it);
                continue;
            }
            EndRun();
            if (it is RAlt alt)
            {
                var all = new List<byte[]>();
                int min = int.MaxValue, pmin = int.MaxValue, pmax = 0;
                bool ok = true;
                foreach (var br in alt.Branches)
                {
                    var sub = ForRegex(br, max);
                    if (sub is null) { ok = false; break; }
                    all.AddRange(sub.Atoms);
                    min = Math.Min(min, sub.Score);
                    pmin = Math.Min(pmin, sub.MinPrefix);
                    pmax = pmax < 0 || sub.MaxPrefix < 0 ? -1 : Math.Max(pmax, sub.MaxPrefix);
                }
                if (ok) Consider(new RegexAtoms(all, min, Sat(wmin + pmin), wmax < 0 || pmax < 0 ? -1 : Sat(wmax + pmax)));
            }
            else if (it is RRepeat { Min: > 0 } rr && ForRegex(rr.Body, max) is { } sub)
                Consider(new RegexAtoms(sub.Atoms, sub.Score, Sat(wmin + sub.MinPrefix), wmax < 0 || sub.MaxPrefix < 0 ? -1 : Sat(wmax + sub.MaxPrefix)));
            Advance(it);
        }
        EndRun();
        // Prefer atoms at a bounded distance from the match start (matches are then searched only near them)
        // unless they are much weaker than the best one.
        if (bestBounded is { } f && (best is null || f.Score * 2 >= best.Score || f.Score >= 12)) return f;
        return best;
    }

    // Widths beyond the scan limit behave as unbounded.
    private static int Sat(int w) => w < 0 || w > ByteRegex.ScanLimit ? -1 : w;

    /// <summary>Minimum and maximum width in characters (-1 = unbounded).</summary>
    public static (int Min, int Max) Width(RNode n)
    {
        switch (n)
        {
            case RSet: return (1, 1);
            case RAnchor: return (0, 0);
            case RConcat c:
            {
                int a = 0, b = 0;
                foreach (var i in c.Items)
                {
                    var (x, y) = Width(i);
                    a = Math.Min(a + x, ByteRegex.ScanLimit);
                    b = b < 0 || y < 0 ? -1 : Sat(b + y);
                }
                return (a, b);
            }
            case RAlt alt:
            {
                int a = int.MaxValue, b = 0;
                foreach (var br in alt.Branches)
                {
                    var (x, y) = Width(br);
                    a = Math.Min(a, x);
                    b = b < 0 || y < 0 ? -1 : Math.Max(b, y);
                }
                return (a, b);
            }
            case RRepeat r:
            {
                var (x, y) = Width(r.Body);
                int a = (int)Math.Min((long)x * r.Min, ByteRegex.ScanLimit);
                int b = r.Max < 0 || y < 0 ? -1 : (int)Math.Min((long)y * r.Max, int.MaxValue);
                return (a, b < 0 ? -1 : Sat(b));
            }
            default: return (0, -1);
        }
    }

    private static void Flatten(RNode n, List<RNode> into)
    {
        if (n is RConcat c) foreach (var i in c.Items) Flatten(i, into);
        else into.Add(n);
    }

    // A set that is one byte, or one ASCII letter in both cases, counts as a (folded) literal.
    private static byte? Literal(ByteSet s)
    {
        int c = s.Count;
        if (c == 1) return AhoCorasick.Fold[s.First()];
        if (c == 2)
        {
            int f = s.First();
            if (f is >= 'A' and <= 'Z' && s.Has(f + 32)) return (byte)(f + 32);
        }
        return null;
    }
}
