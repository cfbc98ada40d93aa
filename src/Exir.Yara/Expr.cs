using System.Buffers.Binary;

namespace Exir.Yara;

/// <summary>A condition node. Strings are referenced by global index; -1 means the current string of a for..of loop.</summary>
internal abstract class Expr
{
    public abstract Value Eval(ScanState s);

    /// <summary>
    /// Abstract value of this node when none of the rule's strings matched: used at compile time to find rules
    /// that can only be true when one of their strings hit, so scans skip them otherwise.
    /// </summary>
    public virtual Abs Static() => Abs.Unknown;
}

/// <summary>Compile-time abstraction: Unknown, a known integer (false = 0), or undefined.</summary>
internal readonly record struct Abs(bool Known, bool Undef, long I)
{
    public static readonly Abs Unknown = new(false, false, 0);
    public static readonly Abs UndefV = new(true, true, 0);
    public static Abs Int(long i) => new(true, false, i);
    public bool DefinitelyFalse => Known && (Undef || I == 0);
}

internal sealed class ConstExpr(Value v) : Expr
{
    public readonly Value V = v;
    public override Value Eval(ScanState s) => V;
    public override Abs Static() => V.Kind == VKind.Int ? Abs.Int(V.I) : Abs.Unknown;
}

internal sealed class FileSizeExpr : Expr
{
    public override Value Eval(ScanState s) => Value.Int(s.FileSize);
}

internal sealed class ExternalExpr(int index) : Expr
{
    public override Value Eval(ScanState s) => s.Externals[index];
}

internal sealed class VarExpr(int slot) : Expr
{
    /// <summary>The loop variable's kind when the compiler knows it (all items of "in (...)" of one kind).</summary>
    public VKind? Kind { get; init; }
    public override Value Eval(ScanState s) => s.Vars[slot];
}

/// <summary>"defined x": true unless x is undefined (yara 4.3).</summary>
internal sealed class DefinedExpr(Expr e) : Expr
{
    public override Value Eval(ScanState s) => Value.Bool(!e.Eval(s).IsUndef);
    public override Abs Static() => e.Static() is { Known: true } a ? Abs.Int(a.Undef ? 0 : 1) : Abs.Unknown;
}

/// <summary>
/// yara's "entrypoint": the file offset of a PE's or an ELF's entry point, undefined on other data. It is read
/// from the modules (pe.entry_point, elf.entry_point when the elf module exists), so both always agree.
/// </summary>
internal sealed class EntryPointExpr : Expr
{
    private static readonly Func<ScanState, Value[], Value>[] Sources =
        new[] { "pe.entry_point", "elf.entry_point" }.Select(n => Modules.Resolve(n, -1)).OfType<Func<ScanState, Value[], Value>>().ToArray();

    public override Value Eval(ScanState s)
    {
        foreach (var source in Sources)
            if (source(s, []) is { Kind: VKind.Int } v) return v;
        return Value.Undef;
    }
    public override Abs Static() => Abs.Unknown;
}

internal sealed class RuleRefExpr(int rule) : Expr
{
    public override Value Eval(ScanState s) => Value.Bool(s.RuleResult(rule));
}

internal abstract class StrExpr(int str) : Expr
{
    protected List<(long Offset, int Length)> M(ScanState s) => s.Matches(str < 0 ? s.CurrentString : str);
}

internal sealed class StrFoundExpr(int str) : StrExpr(str)
{
    public override Value Eval(ScanState s) => Value.Bool(M(s).Count > 0);
    public override Abs Static() => Abs.Int(0);
}

internal sealed class StrAtExpr(int str, Expr at) : StrExpr(str)
{
    public override Value Eval(ScanState s)
    {
        var a = at.Eval(s);
        if (a.Kind != VKind.Int) return Value.False;
        foreach (var m in M(s)) if (m.Offset == a.I) return Value.True;
        return Value.False;
    }
    public override Abs Static() => Abs.Int(0);
}

internal sealed class StrInExpr(int str, Expr lo, Expr hi) : StrExpr(str)
{
    public override Value Eval(ScanState s)
    {
        var l = lo.Eval(s); var h = hi.Eval(s);
        if (l.Kind != VKind.Int || h.Kind != VKind.Int) return Value.False;
        foreach (var m in M(s)) if (m.Offset >= l.I && m.Offset <= h.I) return Value.True;
        return Value.False;
    }
    public override Abs Static() => Abs.Int(0);
}

internal sealed class StrCountExpr(int str, Expr? lo = null, Expr? hi = null) : StrExpr(str)
{
    public override Value Eval(ScanState s)
    {
        var ms = M(s);
        if (lo is null) return Value.Int(ms.Count);
        var l = lo.Eval(s); var h = hi!.Eval(s);
        if (l.Kind != VKind.Int || h.Kind != VKind.Int) return Value.Undef;
        long n = 0;
        foreach (var m in ms) if (m.Offset >= l.I && m.Offset <= h.I) n++;
        return Value.Int(n);
    }
    public override Abs Static() => Abs.Int(0);
}

/// <summary>@a[i] (offset) or !a[i] (length); i is 1-based, default 1.</summary>
internal sealed class StrIndexExpr(int str, Expr? index, bool length) : StrExpr(str)
{
    public override Value Eval(ScanState s)
    {
        long i = 1;
        if (index is not null)
        {
            var v = index.Eval(s);
            if (v.Kind != VKind.Int) return Value.Undef;
            i = v.I;
        }
        var ms = M(s);
        if (i < 1 || i > ms.Count) return Value.Undef;
        var m = ms[(int)(i - 1)];
        return Value.Int(length ? m.Length : m.Offset);
    }
    public override Abs Static() => Abs.UndefV;
}

internal enum QuantKind { All, Any, None, Count, Percent }

internal sealed class Quantifier(QuantKind kind, Expr? n)
{
    public readonly QuantKind Kind = kind;
    public readonly Expr? N = n;

    /// <summary>Returns null when the quantity is undefined.</summary>
    public bool? Satisfied(ScanState s, long hits, long total)
    {
        switch (Kind)
        {
            case QuantKind.All: return hits == total;
            case QuantKind.Any: return hits >= 1;
            case QuantKind.None: return hits == 0;
        }
        var v = N!.Eval(s);
        if (v.Kind != VKind.Int) return null;
        // 128-bit: a percentage computed at run time may be huge, and the product must not wrap into "true".
        if (Kind == QuantKind.Percent) return (Int128)hits * 100 >= (Int128)v.I * total;
        return hits >= v.I;
    }

    /// <summary>True when the quantifier cannot be met by zero hits.</summary>
    public bool NeedsHit(long total) => Kind switch
    {
        QuantKind.All => total > 0,
        QuantKind.Any => true,
        QuantKind.None => false,
        _ => N!.Static() is { Known: true, Undef: false } a && (Kind == QuantKind.Count ? a.I >= 1 : a.I > 0),
    };
}

/// <summary>"N of (set)", optionally "at X" (a string counts when it has a match at X) or "in (a..b)".</summary>
internal sealed class OfExpr(Quantifier q, int[] strs, Expr? lo = null, Expr? hi = null) : Expr
{
    public override Value Eval(ScanState s)
    {
        long hits = 0;
        if (lo is null)
            foreach (var i in strs) { if (s.Matches(i).Count > 0) hits++; }
        else
        {
            var l = lo.Eval(s); var h = (hi ?? lo).Eval(s);
            if (l.Kind != VKind.Int || h.Kind != VKind.Int) return Value.Undef;
            foreach (var i in strs)
                foreach (var m in s.Matches(i))
                    if (m.Offset >= l.I && m.Offset <= h.I) { hits++; break; }
        }
        var r = q.Satisfied(s, hits, strs.Length);
        return r is null ? Value.Undef : Value.Bool(r.Value);
    }
    public override Abs Static() => q.NeedsHit(strs.Length) ? Abs.Int(0) : Abs.Unknown;
}

/// <summary>Rule sets in "N of (rule1, rule2*)".</summary>
internal sealed class OfRulesExpr(Quantifier q, int[] rules) : Expr
{
    public override Value Eval(ScanState s)
    {
        long hits = 0;
        foreach (var i in rules) if (s.RuleResult(i)) hits++;
        var r = q.Satisfied(s, hits, rules.Length);
        return r is null ? Value.Undef : Value.Bool(r.Value);
    }
}

internal sealed class ForOfExpr(Quantifier q, int[] strs, Expr body) : Expr
{
    public override Value Eval(ScanState s)
    {
        long hits = 0;
        int saved = s.CurrentString;
        foreach (var i in strs)
        {
            s.CurrentString = i;
            if (body.Eval(s).IsTrue) hits++;
        }
        s.CurrentString = saved;
        var r = q.Satisfied(s, hits, strs.Length);
        return r is null ? Value.Undef : Value.Bool(r.Value);
    }
    public override Abs Static() => q.NeedsHit(strs.Length) && body.Static().DefinitelyFalse ? Abs.Int(0) : Abs.Unknown;
}

internal sealed class ForInExpr(Quantifier q, int slot, Expr? lo, Expr? hi, Expr[]? items, Expr body) : Expr
{
    public override Value Eval(ScanState s)
    {
        long hits = 0, total = 0;
        if (lo is not null)
        {
            var l = lo.Eval(s); var h = hi!.Eval(s);
            // yara 4.2: an empty range makes the whole loop undefined (false), whatever the quantifier.
            if (l.Kind != VKind.Int || h.Kind != VKind.Int || l.I > h.I) return Value.Undef;
            // Counts up to the bound itself, so a range ending at 2^63-1 cannot wrap into an endless loop; a huge range
            // runs until the scan's time limit.
            for (long i = l.I; ; i++)
            {
                total++;
                s.Vars[slot] = Value.Int(i);
                if (Step(body.Eval(s).IsTrue, ref hits) is { } early) return early;
                if (i == h.I) break;
                if ((total & 0x3FF) == 0) s.CheckDeadline();
            }
        }
        else
        {
            foreach (var e in items!)
            {
                total++;
                s.Vars[slot] = e.Eval(s);
                if (Step(body.Eval(s).IsTrue, ref hits) is { } early) return early;
            }
        }
        var r = q.Satisfied(s, hits, total);
        return r is null ? Value.Undef : Value.Bool(r.Value);
    }

    // Stops as soon as the outcome of any/all/none is settled.
    private Value? Step(bool t, ref long hits)
    {
        if (t) hits++;
        return q.Kind switch
        {
            QuantKind.Any when t => Value.True,
            QuantKind.All when !t => Value.False,
            QuantKind.None when t => Value.False,
            _ => null,
        };
    }

    public override Abs Static()
    {
        if (lo is not null && (lo.Static() is { Known: true, Undef: true }
            || lo.Static() is { Known: true, Undef: false } l && hi!.Static() is { Known: true } h && (h.Undef || h.I < l.I)))
            return Abs.Int(0);
        if (!q.NeedsHit(1) || q.Kind == QuantKind.All) return Abs.Unknown;
        if (body.Static().DefinitelyFalse) return Abs.Int(0);
        return Abs.Unknown;
    }
}

/// <summary>"a and b and c ...": n-ary so long chains do not nest (and recurse) deeply.</summary>
internal sealed class AndExpr(Expr[] items) : Expr
{
    public override Value Eval(ScanState s)
    {
        foreach (var e in items) if (!e.Eval(s).IsTrue) return Value.False;
        return Value.True;
    }
    public override Abs Static() => items.Any(e => e.Static().DefinitelyFalse) ? Abs.Int(0) : Abs.Unknown;
}

/// <summary>"a or b or c ...": undefined operands count as false, and an all-undefined chain stays undefined.</summary>
internal sealed class OrExpr(Expr[] items) : Expr
{
    public override Value Eval(ScanState s)
    {
        var acc = items[0].Eval(s);
        for (int i = 1; i < items.Length; i++)
        {
            if (acc.IsTrue) return Value.True;
            var b = items[i].Eval(s);
            acc = acc.IsUndef && b.IsUndef ? Value.Undef : Value.Bool(b.IsTrue);
        }
        return acc.IsUndef ? Value.Undef : Value.Bool(acc.IsTrue);
    }
    public override Abs Static() => items.All(e => e.Static().DefinitelyFalse) ? Abs.Int(0) : Abs.Unknown;
}

internal sealed class NotExpr(Expr e) : Expr
{
    public override Value Eval(ScanState s)
    {
        var v = e.Eval(s);
        return v.IsUndef ? Value.Undef : Value.Bool(!v.IsTrue);
    }
    public override Abs Static()
    {
        var a = e.Static();
        if (!a.Known) return Abs.Unknown;
        return a.Undef ? Abs.UndefV : Abs.Int(a.I == 0 ? 1 : 0);
    }
}

internal enum BinOp { Add, Sub, Mul, Div, Mod, BitAnd, BitOr, BitXor, Shl, Shr, Eq, Ne, Lt, Le, Gt, Ge }

internal sealed class BinExpr(BinOp op, Expr l, Expr r) : Expr
{
    public override Value Eval(ScanState s) => Apply(op, l.Eval(s), r.Eval(s));

    public static Value Apply(BinOp op, Value a, Value b)
    {
        if (a.IsUndef || b.IsUndef) return Value.Undef;
        if (a.Kind == VKind.Str || b.Kind == VKind.Str)
        {
            if (a.Kind != VKind.Str || b.Kind != VKind.Str) return Value.Undef;
            int c = string.CompareOrdinal(a.S, b.S);
            return op switch
            {
                BinOp.Eq => Value.Bool(c == 0), BinOp.Ne => Value.Bool(c != 0),
                BinOp.Lt => Value.Bool(c < 0), BinOp.Le => Value.Bool(c <= 0),
                BinOp.Gt => Value.Bool(c > 0), BinOp.Ge => Value.Bool(c >= 0),
                _ => Value.Undef,
            };
        }
        if (a.Kind == VKind.Float || b.Kind == VKind.Float)
        {
            double x = a.AsDouble, y = b.AsDouble;
            return op switch
            {
                BinOp.Add => Value.Float(x + y), BinOp.Sub => Value.Float(x - y), BinOp.Mul => Value.Float(x * y),
                BinOp.Div => y == 0 ? Value.Undef : Value.Float(x / y),
                BinOp.Eq => Value.Bool(x == y), BinOp.Ne => Value.Bool(x != y),
                BinOp.Lt => Value.Bool(x < y), BinOp.Le => Value.Bool(x <= y),
                BinOp.Gt => Value.Bool(x > y), BinOp.Ge => Value.Bool(x >= y),
                _ => Value.Undef,
            };
        }
        long i = a.I, j = b.I;
        // Run-time integer arithmetic is yara's: two's complement wrap-around for + - * (constant expressions that
        // overflow are compile errors, see RuleParser.Fold); what yara leaves undefined or dies on (division by
        // zero, long.MinValue / -1, negative shifts) is undefined here, never an exception.
        return op switch
        {
            BinOp.Add => Value.Int(unchecked(i + j)), BinOp.Sub => Value.Int(unchecked(i - j)), BinOp.Mul => Value.Int(unchecked(i * j)),
            BinOp.Div => j == 0 || (i == long.MinValue && j == -1) ? Value.Undef : Value.Int(i / j),
            BinOp.Mod => j == 0 ? Value.Undef : Value.Int(j == -1 ? 0 : i % j),
            BinOp.BitAnd => Value.Int(i & j), BinOp.BitOr => Value.Int(i | j), BinOp.BitXor => Value.Int(i ^ j),
            BinOp.Shl => j < 0 ? Value.Undef : Value.Int(j >= 64 ? 0 : i << (int)j),
            BinOp.Shr => j < 0 ? Value.Undef : Value.Int(j >= 64 ? 0 : i >> (int)j),
            BinOp.Eq => Value.Bool(i == j), BinOp.Ne => Value.Bool(i != j),
            BinOp.Lt => Value.Bool(i < j), BinOp.Le => Value.Bool(i <= j),
            BinOp.Gt => Value.Bool(i > j), BinOp.Ge => Value.Bool(i >= j),
            _ => Value.Undef,
        };
    }

    public override Abs Static()
    {
        var a = l.Static(); var b = r.Static();
        if (a.Known && a.Undef || b.Known && b.Undef) return Abs.UndefV;
        if (!a.Known || !b.Known) return Abs.Unknown;
        var v = Apply(op, Value.Int(a.I), Value.Int(b.I));
        return v.IsUndef ? Abs.UndefV : v.Kind == VKind.Int ? Abs.Int(v.I) : Abs.Unknown;
    }
}

internal sealed class NegExpr(Expr e, bool bitNot) : Expr
{
    public override Value Eval(ScanState s)
    {
        var v = e.Eval(s);
        return v.Kind switch
        {
            VKind.Int => Value.Int(bitNot ? ~v.I : unchecked(-v.I)),
            VKind.Float when !bitNot => Value.Float(-v.F),
            _ => Value.Undef,
        };
    }
    public override Abs Static() => e.Static() is { Known: true } a ? a.Undef ? a : Abs.Int(bitNot ? ~a.I : unchecked(-a.I)) : Abs.Unknown;
}

internal enum StrOp { Contains, IContains, StartsWith, IStartsWith, EndsWith, IEndsWith, IEquals }

internal sealed class StrOpExpr(StrOp op, Expr l, Expr r) : Expr
{
    public override Value Eval(ScanState s)
    {
        var a = l.Eval(s); var b = r.Eval(s);
        if (a.Kind != VKind.Str || b.Kind != VKind.Str) return Value.Undef;
        string x = a.S!, y = b.S!;
        // yara's case-insensitive operators fold ASCII only; OrdinalIgnoreCase on Latin-1 text is close enough there.
        return Value.Bool(op switch
        {
            StrOp.Contains => x.Contains(y, StringComparison.Ordinal),
            StrOp.IContains => AsciiLower(x).Contains(AsciiLower(y), StringComparison.Ordinal),
            StrOp.StartsWith => x.StartsWith(y, StringComparison.Ordinal),
            StrOp.IStartsWith => AsciiLower(x).StartsWith(AsciiLower(y), StringComparison.Ordinal),
            StrOp.EndsWith => x.EndsWith(y, StringComparison.Ordinal),
            StrOp.IEndsWith => AsciiLower(x).EndsWith(AsciiLower(y), StringComparison.Ordinal),
            _ => AsciiLower(x) == AsciiLower(y),
        });
    }

    internal static string AsciiLower(string s)
    {
        foreach (var c in s)
            if (c is >= 'A' and <= 'Z')
                return string.Create(s.Length, s, (span, src) =>
                {
                    for (int i = 0; i < src.Length; i++) span[i] = src[i] is >= 'A' and <= 'Z' ? (char)(src[i] + 32) : src[i];
                });
        return s;
    }
}

internal sealed class MatchesExpr(Expr l, ByteRegex re) : Expr
{
    public override Value Eval(ScanState s)
    {
        var a = l.Eval(s);
        if (a.Kind != VKind.Str) return Value.Undef;
        return Value.Bool(re.IsMatch(ByteView(a.S!)));
    }

    // Condition strings hold bytes as Latin-1 chars; regexes run on the byte view.
    internal static string ByteView(string latin1)
    {
        foreach (var c in latin1)
            if (c >= 0x80)
                return string.Create(latin1.Length, latin1, (span, src) =>
                {
                    for (int i = 0; i < src.Length; i++) span[i] = ByteRegex.CharOf((byte)src[i]);
                });
        return latin1;
    }
}

/// <summary>uint8/16/32 and int8/16/32, little or big endian.</summary>
internal sealed class ReadIntExpr(int size, bool signed, bool bigEndian, Expr offset) : Expr
{
    public override Value Eval(ScanState s)
    {
        var o = offset.Eval(s);
        // Compared without adding to the offset: uint8(0x7fffffffffffffff) must be undefined, not wrap past the check.
        if (o.Kind != VKind.Int || o.I < 0 || o.I > s.Length - size) return Value.Undef;
        var d = s.Data.AsSpan((int)o.I, size);
        long v = size switch
        {
            1 => signed ? (sbyte)d[0] : d[0],
            2 => bigEndian
                ? signed ? BinaryPrimitives.ReadInt16BigEndian(d) : BinaryPrimitives.ReadUInt16BigEndian(d)
                : signed ? BinaryPrimitives.ReadInt16LittleEndian(d) : BinaryPrimitives.ReadUInt16LittleEndian(d),
            _ => bigEndian
                ? signed ? BinaryPrimitives.ReadInt32BigEndian(d) : BinaryPrimitives.ReadUInt32BigEndian(d)
                : signed ? BinaryPrimitives.ReadInt32LittleEndian(d) : BinaryPrimitives.ReadUInt32LittleEndian(d),
        };
        return Value.Int(v);
    }
}
