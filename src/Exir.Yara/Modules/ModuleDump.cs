using System.Globalization;
using System.Text;

namespace Exir.Yara;

/// <summary>
/// A module's values for a file, one "path = value" line each, in the notation of <c>yara -D</c> (strings quoted,
/// bytes outside printable ASCII as \xHH): what a rule can read, for checking exir's modules against yara's.
/// </summary>
public static class YaraModuleDump
{
    /// <summary>Modules with per-file values (pe, elf, dotnet).</summary>
    public static IReadOnlyList<string> DataModules { get; } = ["pe", "elf", "dotnet"];

    /// <summary>The defined values of a module on the data; dictionary entries are written as name.key, like yara's dump.
    /// A parser exception is thrown, not hidden.</summary>
    public static List<string> Lines(string module, byte[] data)
    {
        var lines = new List<string>();
        if (!Modules.IsModule(module)) throw new ArgumentException($"unknown module {module}", nameof(module));
        foreach (var (name, t) in Modules.Declaration(module).Members)
            if (t is MConst c) lines.Add($"{module}.{name} = {Format(c.V)}");
        // Unguarded: a parser exception must surface here (a scan would hide it as undefined values).
        Walk(module, Modules.BuildOrThrow(module, data, data.Length), lines);
        return lines;
    }

    private static void Walk(string path, object? o, List<string> lines)
    {
        switch (o)
        {
            case Value v when !v.IsUndef: lines.Add($"{path} = {Format(v)}"); break;
            case List<object> list: for (int i = 0; i < list.Count; i++) Walk($"{path}[{i}]", list[i], lines); break;
            case MDictObj d: foreach (var (k, v) in d.Entries) Walk($"{path}.{k}", v, lines); break;
            case MObj m: foreach (var (k, v) in m.Members) Walk($"{path}.{k}", v, lines); break;
        }
    }

    /// <summary>A value as yara -D prints it.</summary>
    private static string Format(Value v) => v.Kind switch
    {
        VKind.Int => v.I.ToString(CultureInfo.InvariantCulture),
        VKind.Float => v.F.ToString("F6", CultureInfo.InvariantCulture),
        _ => Quote(v.S!),
    };

    private static string Quote(string latin1)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in latin1)
            if (c is >= ' ' and <= '~') sb.Append(c);
            else sb.Append("\\x").Append(((int)c & 0xFF).ToString("x2", CultureInfo.InvariantCulture));
        return sb.Append('"').ToString();
    }
}
