using YamlDotNet.RepresentationModel;

namespace Exir.Proxy;

/// <summary>One problem in a proxy data file, with where it is.</summary>
public sealed record ProxyDataProblem(string File, int Line, int Column, string Message)
{
    public override string ToString() => $"{File}{(Line > 0 ? $":{Line}:{Column}" : "")}: {Message}";
}

/// <summary>A proxy data file that cannot be used; every problem found is listed, each with file and line.</summary>
public sealed class ProxyDataException(IReadOnlyList<ProxyDataProblem> problems)
    : Exception(string.Join(Environment.NewLine, problems))
{
    public IReadOnlyList<ProxyDataProblem> Problems { get; } = problems;
}

/// <summary>Small helpers to read YAML nodes and report problems at their position.</summary>
public sealed class YamlReader(string file)
{
    public string File { get; } = file;
    public List<ProxyDataProblem> Problems { get; } = [];

    public void Error(YamlNode node, string message) =>
        Problems.Add(new ProxyDataProblem(File, (int)node.Start.Line, (int)node.Start.Column, message));

    public YamlMappingNode? Root(string text)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(text)); }
        catch (YamlDotNet.Core.YamlException e)
        {
            Problems.Add(new ProxyDataProblem(File, (int)e.Start.Line, (int)e.Start.Column, "not valid YAML: " + (e.InnerException?.Message ?? e.Message)));
            return null;
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            Problems.Add(new ProxyDataProblem(File, 1, 1, "expected a mapping at the top"));
            return null;
        }
        return root;
    }

    /// <summary>The keys of a mapping, with an error for each key not in <paramref name="known"/>.</summary>
    public Dictionary<string, (YamlNode Key, YamlNode Value)> Keys(YamlMappingNode map, params string[] known)
    {
        var result = new Dictionary<string, (YamlNode, YamlNode)>(StringComparer.Ordinal);
        foreach (var (k, v) in map.Children)
        {
            var name = (k as YamlScalarNode)?.Value ?? "";
            if (!known.Contains(name)) { Error(k, $"unknown key '{name}' (expected one of {string.Join(", ", known)})"); continue; }
            result[name] = (k, v);
        }
        return result;
    }

    public string? Scalar(YamlNode node, string what)
    {
        if (node is YamlScalarNode s && s.Value is not null) return s.Value;
        Error(node, $"{what}: expected a single value");
        return null;
    }

    public List<(YamlNode Node, string Value)> Strings(YamlNode node, string what)
    {
        if (node is YamlScalarNode s && s.Value is { Length: > 0 } one) return [(s, one)];
        if (node is not YamlSequenceNode seq) { Error(node, $"{what}: expected a list"); return []; }
        var list = new List<(YamlNode, string)>();
        foreach (var item in seq)
            if (Scalar(item, what) is { } v) list.Add((item, v));
        return list;
    }

    public string? Required(Dictionary<string, (YamlNode Key, YamlNode Value)> keys, YamlNode owner, string key)
    {
        if (keys.TryGetValue(key, out var kv)) return Scalar(kv.Value, key);
        Error(owner, $"missing '{key}'");
        return null;
    }
}
