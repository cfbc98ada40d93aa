namespace Exir.Yara;

/// <summary>
/// yara's modules that exir implements: their declarations (checked when a rule compiles) and their per-file
/// objects (built on first use in a scan). A name yara documents but exir does not compute is declared missing,
/// so the rule is skipped and named instead of being evaluated wrongly.
/// </summary>
internal static class Modules
{
    private static readonly Dictionary<string, (MStructT Decl, Func<Bytes, int, MObj?>? Build)> All = new(StringComparer.Ordinal)
    {
        ["math"] = (MathModule.Declaration, null),
        ["hash"] = (HashModule.Declaration, null),
        ["string"] = (StringModule.Declaration, null),
        ["pe"] = (PeModule.Declaration, PeModule.Build),
        ["elf"] = (ElfModule.Declaration, ElfModule.Build),
        ["dotnet"] = (DotnetModule.Declaration, DotnetModule.Build),
        // time.now(): the current Unix time (UTC), as yara's time module.
        ["time"] = (new MStructT().Fn("now", "", (_, _, _) => Value.Int(DateTimeOffset.UtcNow.ToUnixTimeSeconds())), null),
        // yara's other modules: rules using them compile to "skipped, unsupported: module 'magic'", never to false.
        ["magic"] = (new MStructT { NotImplemented = true }, null),
        ["cuckoo"] = (new MStructT { NotImplemented = true }, null),
        ["console"] = (new MStructT { NotImplemented = true }, null),
        ["macho"] = (new MStructT { NotImplemented = true }, null),
        ["dex"] = (new MStructT { NotImplemented = true }, null),
    };

    public static bool IsModule(string name) => All.ContainsKey(name);

    public static MStructT Declaration(string module) => All[module].Decl;

    /// <summary>A module field by its dotted name ("pe.entry_point"), for engine features that read one (entrypoint); null if there is none.</summary>
    public static Func<ScanState, Value[], Value>? Resolve(string name, int argc)
    {
        var parts = name.Split('.');
        if (argc != -1 || !IsModule(parts[0])) return null;
        try
        {
            var r = ModuleRef.Root(parts[0]);
            foreach (var member in parts[1..]) r = r.Member(member, 0);
            var e = r.ToValue(0);
            return (s, _) => e.Eval(s);
        }
        catch (Exception e) when (e is SyntaxException or UnsupportedException) { return null; }
    }

    /// <summary>The module's object for the current file; null when the module has no data (math, hash, string).</summary>
    public static MObj? Build(string module, Bytes data, int length)
    {
        var build = All[module].Build;
        if (build is null) return null;
        // Parsers are bounded and never meant to throw; if one still does on a hostile file, the module's values
        // are undefined for that file (as yara's are on data it cannot parse) and the other rules run on.
        try { return build(data, length); }
        catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException) { return null; }
    }

    /// <summary>Like <see cref="Build"/> but lets a parser's exception through: the hostile-input tests look for them.</summary>
    public static MObj? BuildOrThrow(string module, Bytes data, int length) => All[module].Build?.Invoke(data, length);
}
