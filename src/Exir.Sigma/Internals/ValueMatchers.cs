using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Exir.Core;

namespace Exir.Sigma.Internals;

/// <summary>One compiled value test of a field (or of every value, for keywords).</summary>
internal abstract class ValueMatcher
{
    /// <summary>True when the test holds for a field that is absent (Sigma's null).</summary>
    public virtual bool MatchesAbsent => false;
    public abstract bool Match(ReadOnlySpan<char> value, EventView ev);
}

internal enum StringOp { Equals, StartsWith, EndsWith, Contains }

/// <summary>A literal compared with equals/startswith/endswith/contains, case-insensitive unless cased.</summary>
internal sealed class LiteralMatcher(string literal, StringOp op, StringComparison cmp) : ValueMatcher
{
    // A literal without cased letters (digits, punctuation, emoji) compares the same ordinally, and much faster
    // than the ignore-case search, which takes a slow path for non-ASCII text.
    private readonly StringComparison cmp = cmp == StringComparison.OrdinalIgnoreCase && !HasCase(literal) ? StringComparison.Ordinal : cmp;

    private static bool HasCase(string s)
    {
        foreach (var c in s) if (char.ToUpperInvariant(c) != c || char.ToLowerInvariant(c) != c) return true;
        return false;
    }

    public string Literal { get; } = literal;
    public StringOp Op { get; } = op;
    /// <summary>The rule compares case-insensitively (whatever comparison the literal needs to do so).</summary>
    public bool IgnoreCase { get; } = cmp == StringComparison.OrdinalIgnoreCase;
    public override bool Match(ReadOnlySpan<char> value, EventView ev) => Op switch
    {
        StringOp.Equals => value.Equals(Literal, cmp),
        StringOp.StartsWith => value.StartsWith(Literal, cmp),
        StringOp.EndsWith => value.EndsWith(Literal, cmp),
        _ => value.IndexOf(Literal, cmp) >= 0,
    };
}

/// <summary>Sigma null: the field is absent or empty.</summary>
internal sealed class NullMatcher : ValueMatcher
{
    public static readonly NullMatcher Instance = new();
    public override bool MatchesAbsent => true;
    public override bool Match(ReadOnlySpan<char> value, EventView ev) => value.Length == 0;
}

/// <summary>
/// A pattern with * (any run) and ? (one character) over the whole value; the literal parts compare
/// case-insensitively unless cased. Greedy with backtracking to the last star, linear in practice.
/// </summary>
internal sealed class WildcardMatcher : ValueMatcher
{
    // Tokens: chars; '\0' marks a star and '\u0001' a question mark in _kinds.
    private readonly string _pattern;
    private readonly byte[] _kinds; // 0 literal, 1 star, 2 any-one
    private readonly bool _cased;

    public WildcardMatcher(string pattern, byte[] kinds, bool cased)
    {
        _pattern = pattern; _kinds = kinds; _cased = cased;
    }

    public override bool Match(ReadOnlySpan<char> value, EventView ev) => Glob(value);

    private bool Same(char a, char b) => a == b || (!_cased && char.ToUpperInvariant(a) == char.ToUpperInvariant(b));

    private bool Glob(ReadOnlySpan<char> s)
    {
        int p = 0, i = 0, star = -1, mark = 0;
        int n = _pattern.Length;
        while (i < s.Length)
        {
            if (p < n && _kinds[p] == 1) { star = p++; mark = i; continue; }
            if (p < n && (_kinds[p] == 2 || Same(_pattern[p], s[i]))) { p++; i++; continue; }
            if (star >= 0) { p = star + 1; i = ++mark; continue; }
            return false;
        }
        while (p < n && _kinds[p] == 1) p++;
        return p == n;
    }
}

internal sealed class RegexMatcher(RuleRegex regex) : ValueMatcher
{
    public RuleRegex Regex => regex;

    public override bool Match(ReadOnlySpan<char> value, EventView ev)
    {
        try { return regex.IsMatch(value); }
        catch (RegexMatchTimeoutException) { return false; }
    }

    /// <summary>Non-backtracking where the pattern allows (no look-arounds or back-references), else bounded by a timeout;
    /// the syntax is checked now, the matcher built when a record first reaches it.</summary>
    public static RuleRegex Compile(string pattern, RegexOptions options) => new(pattern, options | RegexOptions.CultureInvariant);
}

internal sealed class CidrMatcher : ValueMatcher
{
    private readonly byte[] _network;
    private readonly int _bits;

    public CidrMatcher(string cidr)
    {
        var slash = cidr.IndexOf('/');
        var addr = IPAddress.Parse(slash < 0 ? cidr : cidr[..slash]);
        _network = addr.GetAddressBytes();
        _bits = slash < 0 ? _network.Length * 8 : int.Parse(cidr.AsSpan(slash + 1), CultureInfo.InvariantCulture);
        if (_bits < 0 || _bits > _network.Length * 8) throw new FormatException($"bad prefix length in {cidr}");
    }

    public override bool Match(ReadOnlySpan<char> value, EventView ev)
    {
        var v = value.Trim();
        if (v.StartsWith("::ffff:", StringComparison.OrdinalIgnoreCase) && _network.Length == 4) v = v[7..];
        if (!IPAddress.TryParse(v, out var ip)) return false;
        if (ip.IsIPv4MappedToIPv6 && _network.Length == 4) ip = ip.MapToIPv4();
        Span<byte> b = stackalloc byte[16];
        if (!ip.TryWriteBytes(b, out int len) || len != _network.Length) return false;
        int full = _bits / 8, rest = _bits % 8;
        if (!b[..full].SequenceEqual(_network.AsSpan(0, full))) return false;
        if (rest == 0) return true;
        int mask = 0xFF << (8 - rest) & 0xFF;
        return (b[full] & mask) == (_network[full] & mask);
    }
}

internal enum NumericOp { Gt, Gte, Lt, Lte }

internal sealed class NumericMatcher(double bound, NumericOp op) : ValueMatcher
{
    public override bool Match(ReadOnlySpan<char> value, EventView ev)
    {
        if (!TryNumber(value, out var x)) return false;
        return op switch
        {
            NumericOp.Gt => x > bound,
            NumericOp.Gte => x >= bound,
            NumericOp.Lt => x < bound,
            _ => x <= bound,
        };
    }

    public static bool TryNumber(ReadOnlySpan<char> s, out double x)
    {
        var t = s.Trim();
        if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && long.TryParse(t[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var h))
        { x = h; return true; }
        return double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out x);
    }
}

/// <summary>fieldref: the value equals (or starts/ends with, contains) the value of another field of the same event.</summary>
internal sealed class FieldRefMatcher(int otherField, StringOp op, StringComparison cmp) : ValueMatcher
{
    public override bool Match(ReadOnlySpan<char> value, EventView ev)
    {
        var other = ev.Get(otherField);
        if (other is null) return false;
        return op switch
        {
            StringOp.Equals => value.Equals(other, cmp),
            StringOp.StartsWith => value.StartsWith(other, cmp),
            StringOp.EndsWith => value.EndsWith(other, cmp),
            _ => value.IndexOf(other, cmp) >= 0,
        };
    }
}

/// <summary>Several alternatives (windash or base64offset variants, expanded placeholders): any one matches.</summary>
internal sealed class AnyOfMatcher(ValueMatcher[] alternatives) : ValueMatcher
{
    public ValueMatcher[] Alternatives { get; } = alternatives;
    public override bool MatchesAbsent => Alternatives.Any(a => a.MatchesAbsent);
    public override bool Match(ReadOnlySpan<char> value, EventView ev)
    {
        foreach (var a in Alternatives) if (a.Match(value, ev)) return true;
        return false;
    }
}

/// <summary>
/// Several contains-literals of one field at once: a vectorised multi-string search (SearchValues) instead of
/// one scan of the value per literal. SigmaHQ's process-creation rules list dozens of command-line fragments.
/// </summary>
internal sealed class ContainsAnyMatcher(IReadOnlyList<string> literals, bool ignoreCase) : ValueMatcher
{
    // Built on first use: creating the search tables costs more than loading the rule, and most rules of a big
    // set never meet an event of their source in a given collection.
    private System.Buffers.SearchValues<string>? _values;

    public IReadOnlyList<string> Literals { get; } = literals;

    public override bool Match(ReadOnlySpan<char> value, EventView ev)
    {
        var sv = _values;
        if (sv is null)
        {
            sv = System.Buffers.SearchValues.Create(Literals.ToArray(), ignoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);
            Interlocked.CompareExchange(ref _values, sv, null);
        }
        return value.IndexOfAny(sv) >= 0;
    }
}
