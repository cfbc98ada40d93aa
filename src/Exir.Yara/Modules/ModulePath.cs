namespace Exir.Yara;

/// <summary>One step from a module object to a member: .name, [index], ["key"], a loop's dictionary entry, or a call.</summary>
internal abstract class PathStep
{
    /// <summary>The object reached from cur, or null (undefined).</summary>
    public abstract object? Apply(ScanState s, object? cur);
}

internal sealed class MemberStep(string name) : PathStep
{
    public override object? Apply(ScanState s, object? cur) => (cur as MObj)?.Get(name);
}

internal sealed class IndexStep(Expr index) : PathStep
{
    public override object? Apply(ScanState s, object? cur)
    {
        if (cur is not List<object> list) return null;
        var i = index.Eval(s);
        return i.Kind == VKind.Int && i.I >= 0 && i.I < list.Count ? list[(int)i.I] : null;
    }
}

internal sealed class KeyStep(Expr key) : PathStep
{
    public override object? Apply(ScanState s, object? cur)
    {
        var k = key.Eval(s);
        return cur is MDictObj d && k.Kind == VKind.Str ? d.Get(k.S!) : null;
    }
}

/// <summary>The key (keyOnly) or the value of the i-th entry of a dictionary, i from a loop slot.</summary>
internal sealed class EntryStep(int slot, bool keyOnly) : PathStep
{
    public override object? Apply(ScanState s, object? cur)
    {
        var i = s.Vars[slot];
        if (cur is not MDictObj d || i.Kind != VKind.Int || i.I < 0 || i.I >= d.Entries.Count) return null;
        var e = d.Entries[(int)i.I];
        return keyOnly ? Value.Str(e.Key) : e.Value;
    }
}

internal sealed class CallStep(List<(string Sig, ModFn Fn)> overloads, Expr?[] args, ByteRegex?[] regexes) : PathStep
{
    public override object? Apply(ScanState s, object? cur)
    {
        var a = new ModArg[args.Length];
        for (int i = 0; i < a.Length; i++)
            a[i] = new ModArg(args[i]?.Eval(s) ?? default, regexes[i]);
        foreach (var (sig, fn) in overloads)
            if (Fits(sig, a)) return fn(s, cur as MObj, a);
        return null;
    }

    // Expression arguments are typed at run time (the compiler does not type them), so the first overload whose
    // letters fit the values wins; an undefined argument fits none and the call is undefined, as in yara.
    private static bool Fits(string sig, ModArg[] a)
    {
        for (int i = 0; i < a.Length; i++)
        {
            var ok = sig[i] switch
            {
                'r' => a[i].Re is not null,
                'i' => a[i].V.Kind == VKind.Int,
                'f' => a[i].V.IsNumber,
                's' => a[i].V.Kind == VKind.Str,
                _ => false,
            };
            if (!ok) return false;
        }
        return true;
    }
}

/// <summary>The value at the end of a module path (pe.sections[0].name, math.entropy(0, filesize)).</summary>
internal sealed class ModuleValueExpr(string module, PathStep[] steps) : Expr
{
    public override Value Eval(ScanState s) => ModulePaths.Walk(s, module, steps) is Value v ? v : Value.Undef;
}

/// <summary>Number of items of a module array or dictionary: the bound of a for loop over it.</summary>
internal sealed class ModuleLengthExpr(string module, PathStep[] steps) : Expr
{
    public override Value Eval(ScanState s) => ModulePaths.Walk(s, module, steps) switch
    {
        List<object> l => Value.Int(l.Count),
        MDictObj d => Value.Int(d.Entries.Count),
        _ => Value.Undef,
    };
}

/// <summary>A module path being bound while a rule compiles: checked against the declarations step by step.</summary>
internal sealed record ModuleRef(string Module, string Name, MType Type, PathStep[] Steps, string? PendingFunction = null)
{
    public static ModuleRef Root(string module) => new(module, module, Modules.Declaration(module), []);

    private ModuleRef With(string name, MType t, PathStep? step) => this with { Name = name, Type = t, Steps = step is null ? Steps : [.. Steps, step], PendingFunction = null };

    public ModuleRef Member(string member, int line)
    {
        var name = $"{Name}.{member}";
        if (Type is not MStructT st) throw new SyntaxException($"\"{Name}\" is not a structure", line);
        if (st.NotImplemented) throw new UnsupportedException($"module '{Module}' ('{name}')");
        if (!st.Members.TryGetValue(member, out var t)) throw new SyntaxException($"invalid field name \"{member}\" in \"{Name}\"", line);
        return t switch
        {
            MMissing => throw new UnsupportedException($"'{name}'"),
            MFunc => this with { Name = name, Type = t, PendingFunction = member },
            _ => With(name, t, new MemberStep(member)),
        };
    }

    public ModuleRef Index(Expr e, int line) => Type switch
    {
        MArray a => With(Name + "[]", a.Element, new IndexStep(e)),
        MDict d => With(Name + "[]", d.Element, new KeyStep(e)),
        _ => throw new SyntaxException($"\"{Name}\" is not an array or dictionary", line),
    };

    public ModuleRef Entry(int slot, bool keyOnly) => Type is MDict d
        ? With(Name + (keyOnly ? ".key" : "[]"), keyOnly ? MScalar.Str : d.Element, new EntryStep(slot, keyOnly))
        : throw new InvalidOperationException("not a dictionary");

    public ModuleRef Call(List<Expr?> args, List<ByteRegex?> regexes, int line)
    {
        if (Type is not MFunc f) throw new SyntaxException($"\"{Name}\" is not a function", line);
        var fits = f.Overloads.Where(o => o.Sig.Length == args.Count
            && o.Sig.Select((c, i) => c == 'r' == (regexes[i] is not null)).All(b => b)).ToList();
        if (fits.Count == 0) throw new SyntaxException($"wrong arguments for function \"{Name}\"", line);
        var outer = this with { PendingFunction = null };
        return outer.With(Name + "()", MScalar.Int, new CallStep(fits, [.. args], [.. regexes]));
    }

    /// <summary>The expression for a scalar, constant or call result.</summary>
    public Expr ToValue(int line) => Type switch
    {
        MConst c => new ConstExpr(c.V),
        MScalar => new ModuleValueExpr(Module, Steps),
        MFunc => throw new SyntaxException($"function \"{Name}\" needs its arguments", line),
        _ => throw new SyntaxException($"\"{Name}\" is a structure, array or dictionary, not a value", line),
    };
}

internal static class ModulePaths
{
    private static readonly MObj NoData = new();

    public static object? Walk(ScanState s, string module, PathStep[] steps)
    {
        object? cur = Root(s, module);
        foreach (var st in steps)
        {
            cur = st.Apply(s, cur);
            if (cur is null) return null;
        }
        return cur;
    }

    /// <summary>The module's object for the file being scanned, parsed on first use in this scan.</summary>
    public static object? Root(ScanState s, string module)
    {
        var cache = s.Modules ??= new ModuleCache();
        if (!cache.Roots.TryGetValue(module, out var root))
            cache.Roots[module] = root = Modules.Build(module, s.Data, s.Length) ?? NoData;
        return root;
    }
}
