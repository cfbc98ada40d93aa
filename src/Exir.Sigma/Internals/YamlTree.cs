using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Exir.Sigma.Internals;

/// <summary>An ordered YAML mapping with string keys (Sigma selections keep their order for evidence and errors).</summary>
internal sealed class YMap
{
    public List<KeyValuePair<string, object?>> Entries { get; } = [];

    public object? this[string key]
    {
        get
        {
            foreach (var (k, v) in Entries)
                if (string.Equals(k, key, StringComparison.Ordinal)) return v;
            return null;
        }
    }

    public bool Has(string key) => Entries.Any(e => e.Key == key);
    public string? Str(string key) => this[key] as string;
    public YMap? Map(string key) => this[key] as YMap;

    /// <summary>A scalar or a list of scalars as a list of strings (nulls dropped).</summary>
    public List<string> Strings(string key) => this[key] switch
    {
        string s => [s],
        List<object?> l => l.OfType<string>().ToList(),
        _ => [],
    };
}

/// <summary>
/// YAML documents as plain trees: <see cref="YMap"/>, <c>List&lt;object?&gt;</c> and scalars as strings.
/// A plain <c>null</c>, <c>~</c> or empty scalar is null (Sigma's null value); a quoted <c>''</c> stays the empty string.
/// </summary>
internal static class YamlTree
{
    public static List<object?> LoadAll(TextReader text)
    {
        var stream = new YamlStream();
        stream.Load(text);
        return stream.Documents.Select(d => Convert(d.RootNode)).ToList();
    }

    /// <summary>Deeper than any rule needs; a hostile file cannot exhaust the stack.</summary>
    public const int MaxDepth = 64;

    public static object? Convert(YamlNode node) => Convert(node, 0);

    private static object? Convert(YamlNode node, int depth)
    {
        if (depth > MaxDepth) throw new YamlException(node.Start, node.End, $"nested deeper than {MaxDepth} levels");
        return node switch
        {
            YamlScalarNode s => Scalar(s),
            YamlSequenceNode seq => seq.Children.Select(c => Convert(c, depth + 1)).ToList(),
            YamlMappingNode map => ToMap(map, depth),
            _ => null,
        };
    }

    private static YMap ToMap(YamlMappingNode node, int depth)
    {
        var map = new YMap();
        foreach (var (k, v) in node.Children)
        {
            var key = k is YamlScalarNode ks ? ks.Value ?? "" : throw new YamlException(k.Start, k.End, "a mapping key must be a scalar");
            map.Entries.Add(new(key, Convert(v, depth + 1)));
        }
        return map;
    }

    private static string? Scalar(YamlScalarNode s)
    {
        if (s.Style == ScalarStyle.Plain && (s.Value is null or "" or "~" or "null" or "Null" or "NULL")) return null;
        return s.Value ?? "";
    }
}
