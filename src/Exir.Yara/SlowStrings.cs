namespace Exir.Yara;

/// <summary>
/// yara's "string may slow down scanning" warning: the best atom (at most 4 bytes, what yara's scanner looks for
/// first) a string offers is rated like yara's atom heuristic, and a string whose best atom rates below yara's
/// threshold is named. Only the warning uses this; exir's own atoms (Atoms.cs) are chosen separately.
/// </summary>
internal static class SlowStrings
{
    /// <summary>Below this a string gets the warning (yara: "61 61", two equal letters, is just enough).</summary>
    public const int WarningThreshold = 38;

    private const int MaxAtom = 4;
    private const int NoAtom = int.MinValue / 2;

    private enum Kind : byte { Full, Nibble, Any }

    private readonly record struct Item(Kind Kind, byte Value);

    /// <summary>Worst case over the forms searched (xor keys, wide, base64): each needs a good atom.</summary>
    public static int Quality(byte[][] variants)
    {
        int worst = int.MaxValue;
        foreach (var v in variants)
            worst = Math.Min(worst, Best(v.Select(b => new Item(Kind.Full, b)).ToList()));
        return variants.Length == 0 ? NoAtom : worst;
    }

    /// <summary>The best atom of a regex or hex string: alternatives need one each, optional parts offer none.</summary>
    public static int Quality(RNode n)
    {
        switch (n)
        {
            case RSet s: return AsItem(s) is { } i ? Best([i]) : NoAtom;
            case RAlt a: return a.Branches.Min(Quality);
            case RRepeat r: return r.Min >= 1 ? Quality(r.Body) : NoAtom;
            case RConcat c:
                int best = NoAtom;
                var run = new List<Item>();
                foreach (var part in c.Items)
                {
                    if (part is RSet s && AsItem(s) is { } item) { run.Add(item); continue; }
                    best = Math.Max(best, Best(run));
                    run.Clear();
                    best = Math.Max(best, Quality(part));
                }
                return Math.Max(best, Best(run));
            default: return NoAtom;
        }
    }

    /// <summary>A regex with ".*", ".+" or ".{n,}": yara warns about those whatever their atoms.</summary>
    public static bool HasUnboundedAny(RNode n) => n switch
    {
        // "." is every byte, or every byte but "\n" without the s flag; a class such as [^\\] is not meant.
        RRepeat { Max: -1, Body: RSet s } when s.Set.Count == 256 || s.Set.Count == 255 && !s.Set.Has('\n') => true,
        RRepeat r => HasUnboundedAny(r.Body),
        RConcat c => c.Items.Any(HasUnboundedAny),
        RAlt a => a.Branches.Any(HasUnboundedAny),
        _ => false,
    };

    // One byte, a byte with one nibble fixed, any byte, or a letter in either case; other classes end an atom.
    private static Item? AsItem(RSet s)
    {
        var set = s.Set;
        int count = set.Count;
        if (count == 1) return new Item(Kind.Full, (byte)set.First());
        if (count >= 255) return new Item(Kind.Any, 0);
        if (count == 2 && set.First() is var f and >= 'A' and <= 'Z' && set.Has(f + 32)) return new Item(Kind.Full, (byte)(f + 32));
        if (count == 16)
        {
            int first = set.First();
            bool highFixed = true, lowFixed = true;
            for (int b = 0; b < 256; b++)
            {
                if (!set.Has(b)) continue;
                highFixed &= b >> 4 == first >> 4;
                lowFixed &= (b & 15) == (first & 15);
            }
            if (highFixed || lowFixed) return new Item(Kind.Nibble, 0);
        }
        return null;
    }

    private static int Best(List<Item> run)
    {
        int best = NoAtom;
        for (int start = 0; start < run.Count; start++)
            for (int len = 1; len <= MaxAtom && start + len <= run.Count; len++)
                best = Math.Max(best, Rate(run, start, len));
        return best;
    }

    // Full bytes count 20 (letters 18, the very common 00 20 CC FF only 12), a fixed nibble 4, a wildcard -10;
    // distinct bytes add 2 each, and an atom of one very common byte repeated is penalised instead.
    private static int Rate(List<Item> run, int start, int len)
    {
        int q = 0;
        Span<bool> seen = stackalloc bool[256];
        int unique = 0;
        byte last = 0;
        for (int k = start; k < start + len; k++)
        {
            var it = run[k];
            switch (it.Kind)
            {
                case Kind.Any: q -= 10; break;
                case Kind.Nibble: q += 4; break;
                default:
                    q += it.Value is 0x00 or 0x20 or 0xCC or 0xFF ? 12 : char.IsAsciiLetter((char)it.Value) ? 18 : 20;
                    if (!seen[it.Value]) { seen[it.Value] = true; unique++; last = it.Value; }
                    break;
            }
        }
        if (unique == 1 && last is 0x00 or 0x20 or 0x90 or 0xCC or 0xFF) return q - 10 * len;
        return q + 2 * unique;
    }
}
