using System.Buffers;

namespace Exir.Detection.Logs;

/// <summary>
/// Which of a format's rule literals a line contains, as a bit mask computed in one pass, so each rule's
/// literal test is a mask comparison instead of its own search (up to 64 literals; beyond that rules
/// fall back to searching their own literals).
/// </summary>
internal sealed class LiteralIndex
{
    private readonly string[] _literals;
    private readonly SearchValues<string> _any;

    public LiteralIndex(IEnumerable<string> literals)
    {
        // Lower-cased and searched ordinally in lower-cased text: about twice as fast as an ignore-case search.
        _literals = literals.Where(l => l.Length > 0).Select(l => l.ToLowerInvariant()).Distinct(StringComparer.Ordinal).ToArray();
        _any = SearchValues.Create(_literals, StringComparison.Ordinal);
    }

    public bool Usable => _literals.Length <= 64;

    public ulong MaskOf(IEnumerable<string> literals)
    {
        ulong m = 0;
        foreach (var l in literals)
        {
            int i = Array.IndexOf(_literals, l.ToLowerInvariant());
            if (i >= 0) m |= 1UL << i;
        }
        return m;
    }

    /// <summary>Bits of the literals present in <paramref name="lowerText"/>, which must already be lower-cased.</summary>
    public ulong Mask(ReadOnlySpan<char> lowerText)
    {
        ulong m = 0;
        int from = 0;
        while (from < lowerText.Length)
        {
            int hit = lowerText[from..].IndexOfAny(_any);
            if (hit < 0) break;
            hit += from;
            var rest = lowerText[hit..];
            for (int k = 0; k < _literals.Length; k++)
                if (rest.StartsWith(_literals[k], StringComparison.Ordinal)) m |= 1UL << k;
            from = hit + 1;
        }
        return m;
    }
}
