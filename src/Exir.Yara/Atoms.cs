namespace Exir.Yara;

/// <summary>Chooses the literal pieces ("atoms") fed to the multi-pattern matcher, as yara does with its atoms.</summary>
internal static class Atoms
{
    public const int MaxLength = 6;

    private static int ByteScore(byte b) => b switch
    {
        0x00 or 0xFF or 0x20 or 0x0A or 0x0D or 0x09 or 0xCC or 0x90 => 1,
        _ when (uint)(b - '0') < 10 || (uint)((b | 0x20) - 'a') < 26 => 3,
        _ => 4,
    };

    public static int Score(ReadOnlySpan<byte> a)
    {
        int s = 0;
        Span<bool> seen = stackalloc bool[256];
        foreach (var b in a)
        {
            s += ByteScore(b);
            if (!seen[b]) { seen[b] = true; s += 2; }
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
    /// can be derived (the string then runs on every evaluation of its rule).
    /// </summary>
    public static (List<byte[]> Atoms, int Score)? ForRegex(RNode n, int max)
    {
        var items = new List<RNode>();
        Flatten(n, items);
        (List<byte[]>, int)? best = null;
        var run = new List<byte>();

        void EndRun()
        {
            if (run.Count == 0) return;
            var arr = run.ToArray();
            var (o, l, sc) = BestWindow(arr, max);
            if (best is null || sc > best.Value.Item2) best = ([arr.AsSpan(o, l).ToArray()], sc);
            run.Clear();
        }

        foreach (var it in items)
        {
            if (it is RSet s && Literal(s.Set) is { } b) { run.Add(b); continue; }
            if (it is RAnchor) continue; // zero width: the literal bytes around it are still adjacent
            if (it is RRepeat r && r.Body is RSet rs && Literal(rs.Set) is { } rb && r.Min > 0)
            {
                for (int k = 0; k < Math.Min(r.Min, max); k++) run.Add(rb);
                if (r.Max != r.Min) EndRun();
                continue;
            }
            EndRun();
            RNode? inner = it switch
            {
                RAlt => it,
                RRepeat { Min: > 0 } rr => rr.Body,
                _ => null,
            };
            if (inner is RAlt alt)
            {
                var all = new List<byte[]>();
                int min = int.MaxValue;
                bool ok = true;
                foreach (var br in alt.Branches)
                {
                    var sub = ForRegex(br, max);
                    if (sub is null) { ok = false; break; }
                    all.AddRange(sub.Value.Atoms);
                    min = Math.Min(min, sub.Value.Score);
                }
                if (ok && (best is null || min > best.Value.Item2)) best = (all, min);
            }
            else if (inner is not null)
            {
                var sub = ForRegex(inner, max);
                if (sub is not null && (best is null || sub.Value.Score > best.Value.Item2)) best = sub;
            }
        }
        EndRun();
        return best;
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
