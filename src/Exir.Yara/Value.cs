namespace Exir.Yara;

internal enum VKind : byte { Undef, Int, Float, Str }

/// <summary>A condition value with yara's "undefined" state (e.g. reading past the end of the file).</summary>
internal readonly struct Value
{
    public readonly VKind Kind;
    public readonly long I;
    public readonly double F;
    public readonly string? S;

    private Value(VKind k, long i, double f, string? s) { Kind = k; I = i; F = f; S = s; }

    public static readonly Value Undef = default;
    public static readonly Value True = new(VKind.Int, 1, 0, null);
    public static readonly Value False = new(VKind.Int, 0, 0, null);
    public static Value Int(long i) => new(VKind.Int, i, 0, null);
    public static Value Float(double f) => new(VKind.Float, 0, f, null);
    public static Value Str(string s) => new(VKind.Str, 0, 0, s);
    public static Value Bool(bool b) => b ? True : False;

    public bool IsUndef => Kind == VKind.Undef;
    public bool IsNumber => Kind is VKind.Int or VKind.Float;
    public double AsDouble => Kind == VKind.Float ? F : I;

    /// <summary>Truth in a boolean context; undefined counts as false.</summary>
    public bool IsTrue => Kind switch
    {
        VKind.Int => I != 0,
        VKind.Float => F != 0,
        VKind.Str => S!.Length > 0,
        _ => false,
    };

    public static Value FromObject(object o) => o switch
    {
        string s => Str(s),
        bool b => Bool(b),
        long l => Int(l),
        int i => Int(i),
        double d => Float(d),
        float f => Float(f),
        _ => throw new ArgumentException($"unsupported external value type {o.GetType().Name} (use string, long, bool or double)"),
    };

    public override string ToString() => Kind switch
    {
        VKind.Int => I.ToString(),
        VKind.Float => F.ToString(System.Globalization.CultureInfo.InvariantCulture),
        VKind.Str => S!,
        _ => "undefined",
    };
}
