using System.Globalization;

namespace Exir.Yara;

/// <summary>The modules' constants, read from the embedded module-constants.tsv (module, name, value).</summary>
internal static class ModuleConstants
{
    private static readonly Lazy<List<(string Module, string Name, long Value)>> Table = new(Load);

    private static List<(string, string, long)> Load()
    {
        using var stream = typeof(ModuleConstants).Assembly.GetManifestResourceStream("yara/module-constants.tsv")
            ?? throw new InvalidOperationException("yara/module-constants.tsv is not embedded");
        using var reader = new StreamReader(stream);
        var list = new List<(string, string, long)>();
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var f = line.Split('\t');
            var v = f[2].StartsWith("0x", StringComparison.Ordinal)
                ? long.Parse(f[2].AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture)
                : long.Parse(f[2], CultureInfo.InvariantCulture);
            list.Add((f[0], f[1], v));
        }
        return list;
    }

    public static MStructT WithConstants(this MStructT t, string module)
    {
        foreach (var (m, name, v) in Table.Value)
            if (m == module) t.Const(name, v);
        return t;
    }
}
