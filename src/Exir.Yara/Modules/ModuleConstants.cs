using System.Globalization;

namespace Exir.Yara;

/// <summary>The modules' constants, read from the embedded module-constants.tsv (module, name, value), and other embedded tables.</summary>
internal static class ModuleConstants
{
    private static readonly Lazy<List<(string Module, string Name, long Value)>> Table = new(Load);

    private static List<(string, string, long)> Load()
        => ReadTsv("yara/module-constants.tsv").Select(f => (f[0], f[1], f[2].StartsWith("0x", StringComparison.Ordinal)
            ? long.Parse(f[2].AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture)
            : long.Parse(f[2], CultureInfo.InvariantCulture))).ToList();

    /// <summary>The rows of an embedded tab-separated table (blank lines and # comments left out).</summary>
    public static List<string[]> ReadTsv(string resource)
    {
        using var stream = typeof(ModuleConstants).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"{resource} is not embedded");
        using var reader = new StreamReader(stream);
        var rows = new List<string[]>();
        while (reader.ReadLine() is { } line)
            if (line.Length > 0 && line[0] != '#') rows.Add(line.Split('\t'));
        return rows;
    }

    public static MStructT WithConstants(this MStructT t, string module)
    {
        foreach (var (m, name, v) in Table.Value)
            if (m == module) t.Const(name, v);
        return t;
    }
}
