namespace Exir.Yara;

// The shape of yara's modules (its begin_declarations ... end_declarations): what a rule may name is checked
// against these types when the rule compiles, and the values come from per-file objects built once per scan.

/// <summary>Declared type of a module member.</summary>
internal abstract class MType;

/// <summary>An integer, float or string field.</summary>
internal sealed class MScalar(VKind kind) : MType
{
    public readonly VKind Kind = kind;
    public static readonly MScalar Int = new(VKind.Int), Float = new(VKind.Float), Str = new(VKind.Str);
}

/// <summary>A constant (pe.MACHINE_AMD64, math.MEAN_BYTES ...).</summary>
internal sealed class MConst(Value v) : MType
{
    public readonly Value V = v;
}

/// <summary>A member yara documents that exir does not compute: rules using it are skipped and named, never evaluated.</summary>
internal sealed class MMissing : MType
{
    public static readonly MMissing Instance = new();
}

internal sealed class MArray(MType element) : MType
{
    public readonly MType Element = element;
}

internal sealed class MDict(MType element) : MType
{
    public readonly MType Element = element;
}

/// <summary>A structure: named members. Declared with a fluent builder.</summary>
internal sealed class MStructT : MType
{
    public readonly Dictionary<string, MType> Members = new(StringComparer.Ordinal);

    /// <summary>A module yara has and exir does not implement: every member of it is missing.</summary>
    public bool NotImplemented { get; init; }

    public MStructT Add(string name, MType t) { Members[name] = t; return this; }
    public MStructT Ints(params string[] names) { foreach (var n in names) Members[n] = MScalar.Int; return this; }
    public MStructT Strs(params string[] names) { foreach (var n in names) Members[n] = MScalar.Str; return this; }
    public MStructT Floats(params string[] names) { foreach (var n in names) Members[n] = MScalar.Float; return this; }
    public MStructT Const(string name, long v) { Members[name] = new MConst(Value.Int(v)); return this; }
    public MStructT Missing(params string[] names) { foreach (var n in names) Members[n] = MMissing.Instance; return this; }

    /// <summary>Adds an overload: sig has one letter per argument, i integer, f float (an integer is accepted),
    /// s string, r regular expression.</summary>
    public MStructT Fn(string name, string sig, ModFn fn)
    {
        if (!Members.TryGetValue(name, out var t) || t is not MFunc f) Members[name] = f = new MFunc();
        f.Overloads.Add((sig, fn));
        return this;
    }
}

/// <summary>An argument of a module function: a value, or a regular expression (pe.imports(/kernel32/i, /.*/)).</summary>
internal readonly record struct ModArg(Value V, ByteRegex? Re)
{
    public long I => V.I;
    public string S => V.S!;

    /// <summary>Regex arguments match strings the way <c>matches</c> does.</summary>
    public bool Matches(string? text) => text is not null && Re!.IsMatch(MatchesExpr.ByteView(text));
}

/// <summary>A module function. self is the structure the function belongs to (the module itself, or e.g. a signature).</summary>
internal delegate Value ModFn(ScanState s, MObj? self, ModArg[] args);

internal sealed class MFunc : MType
{
    public readonly List<(string Sig, ModFn Fn)> Overloads = [];
}

/// <summary>A structure built for one file. Scalars are stored as Value; missing members are undefined.</summary>
internal class MObj
{
    private readonly Dictionary<string, object> _f = new(StringComparer.Ordinal);

    public object? Get(string name) => _f.GetValueOrDefault(name) is Lazy<object?> lazy ? lazy.Value : _f.GetValueOrDefault(name);
    public IEnumerable<(string Name, object? Value)> Members => _f.Keys.Select(k => (k, Get(k)));

    /// <summary>A member computed on first use (costly ones: a whole-file digest, certificate parsing).</summary>
    public MObj SetLazy(string name, Func<object?> compute) { _f[name] = new Lazy<object?>(compute); return this; }
    public MObj Set(string name, long v) { _f[name] = Value.Int(v); return this; }
    public MObj Set(string name, long? v) { if (v is { } x) _f[name] = Value.Int(x); return this; }
    public MObj Set(string name, double v) { _f[name] = Value.Float(v); return this; }
    public MObj Set(string name, string? v) { if (v is not null) _f[name] = Value.Str(v); return this; }
    public MObj Set(string name, object? v) { if (v is not null) _f[name] = v; return this; }
    public long? Int(string name) => Get(name) is Value { Kind: VKind.Int } v ? v.I : null;
    public string? Str(string name) => Get(name) is Value { Kind: VKind.Str } v ? v.S : null;
}

/// <summary>A dictionary built for one file: keys in file order.</summary>
internal sealed class MDictObj
{
    public readonly List<(string Key, object Value)> Entries = [];
    private readonly Dictionary<string, object> _index = new(StringComparer.Ordinal);

    /// <summary>A repeated key keeps its first place and takes the last value, as yara's set_string does.</summary>
    public void Set(string key, object value)
    {
        if (_index.TryAdd(key, value)) { Entries.Add((key, value)); return; }
        _index[key] = value;
        int i = Entries.FindIndex(e => e.Key == key);
        Entries[i] = (key, value);
    }

    public object? Get(string key) => _index.GetValueOrDefault(key);
}

/// <summary>The per-scan objects of the data modules (parsed on first use, dropped at the next file).</summary>
internal sealed class ModuleCache
{
    public readonly Dictionary<string, object?> Roots = new(StringComparer.Ordinal);
}
