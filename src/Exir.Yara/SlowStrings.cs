using System.Runtime.InteropServices;

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
        int worst = int.MaxValue, longest = variants.Length == 0 ? 0 : variants.Max(v => v.Length);
        Span<Item> buffer = longest <= 256 ? stackalloc Item[longest] : new Item[longest];
        foreach (var v in variants)
        {
            var items = buffer[..v.Length];
            for (int i = 0; i < v.Length; i++) items[i] = new Item(Kind.Full, v[i]);
            worst = Math.Min(worst, Best(items));
        }
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
                    best = Math.Max(best, Best(CollectionsMarshal.AsSpan(run)));
                    run.Clear();
                    best = Math.Max(best, Quality(part));
                }
                return Math.Max(best, Best(CollectionsMarshal.AsSpan(run)));
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

    private static bool SeenBefore(ReadOnlySpan<Item> before, byte value)
    {
        foreach (var b in before) if (b.Kind == Kind.Full && b.Value == value) return true;
        return false;
    }

    private static int Best(ReadOnlySpan<Item> run)
    {
        int best = NoAtom;
        for (int start = 0; start < run.Length; start++)
            for (int len = 1; len <= MaxAtom && start + len <= run.Length; len++)
                best = Math.Max(best, Rate(run.Slice(start, len)));
        return best;
    }

    // Full bytes count 20 (letters 18, the very common 00 20 CC FF only 12), a fixed nibble 4, a wildcard -10;
    // distinct bytes add 2 each, and an atom of one very common byte repeated is penalised instead.
    private static int Rate(ReadOnlySpan<Item> atom)
    {
        int q = 0, unique = 0;
        byte last = 0;
        for (int k = 0; k < atom.Length; k++)
        {
            var it = atom[k];
            switch (it.Kind)
            {
                case Kind.Any: q -= 10; break;
                case Kind.Nibble: q += 4; break;
                default:
                    q += it.Value is 0x00 or 0x20 or 0xCC or 0xFF ? 12 : char.IsAsciiLetter((char)it.Value) ? 18 : 20;
                    if (!SeenBefore(atom[..k], it.Value)) { unique++; last = it.Value; }
                    break;
            }
        }
        if (unique == 1 && last is 0x00 or 0x20 or 0x90 or 0xCC or 0xFF) return q - 10 * atom.Length;
        return q + 2 * unique;
    }
}
