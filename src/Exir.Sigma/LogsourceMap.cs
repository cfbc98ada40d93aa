using System.Globalization;
using Exir.Core;
using Exir.Sigma.Internals;

namespace Exir.Sigma;

/// <summary>One place events come from: a Windows channel (with event ids, provider) or web-log formats.</summary>
public sealed class SigmaEventSource
{
    public required string Name { get; init; }
    public string? Channel { get; init; }
    /// <summary>The EventIDs read; empty means every event of the channel.</summary>
    public IReadOnlyList<int> EventIds { get; init; } = [];
    public string? Provider { get; init; }
    /// <summary>Web-log formats (exir names: iis, httpproxy); empty for Windows sources.</summary>
    public IReadOnlyList<string> LogFormats { get; init; } = [];
    public IReadOnlyDictionary<string, string> Fields { get; init; } = new Dictionary<string, string>();
    public bool Strict { get; init; }
    public bool SplitKeyValues { get; init; }
    public bool IsWeb => LogFormats.Count > 0;

    internal FieldMapping Mapping => _mapping ??= new FieldMapping(Name, Fields, Strict);
    private FieldMapping? _mapping;
}

/// <summary>
/// The logsource mapping (rules/sigma-config/logsources.yaml): which event sources a rule's
/// product/category/service reads, with field renames. Data the user can replace.
/// </summary>
public sealed class LogsourceMap
{
    private readonly List<(string? Product, string? Category, string? Service, List<SigmaEventSource> Sources)> _entries = [];

    /// <summary>Placeholder values for the expand modifier (rules/sigma-config/placeholders.yaml).</summary>
    public IReadOnlyDictionary<string, string[]> Placeholders { get; private set; } = new Dictionary<string, string[]>();

    /// <summary>The built-in mapping, or a rules folder's replacement of it.</summary>
    public static LogsourceMap Load(string? rulesDirectory = null)
    {
        var data = new DataFiles("rules", typeof(LogsourceMap).Assembly, rulesDirectory);
        var map = Parse(data.ReadAllText("sigma-config/logsources.yaml"));
        if (data.Exists("sigma-config/placeholders.yaml")) map.Placeholders = ParsePlaceholders(data.ReadAllText("sigma-config/placeholders.yaml"));
        return map;
    }

    public static LogsourceMap Parse(string yaml)
    {
        var map = new LogsourceMap();
        var doc = YamlTree.LoadAll(new StringReader(yaml)).FirstOrDefault() as YMap
                  ?? throw new FormatException("logsources: the file is not a YAML map");
        if (doc["logsources"] is not List<object?> entries) throw new FormatException("logsources: no 'logsources' list");
        foreach (var e in entries)
        {
            if (e is not YMap m) throw new FormatException("logsources: an entry is not a map");
            var sources = new List<SigmaEventSource>();
            if (m["sources"] is not List<object?> list) throw new FormatException("logsources: an entry without 'sources'");
            foreach (var s in list.OfType<YMap>())
            {
                var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                if (s.Map("fields") is { } f)
                    foreach (var (k, v) in f.Entries) fields[k] = v as string ?? throw new FormatException($"logsources: field {k} has no target");
                sources.Add(new SigmaEventSource
                {
                    Name = s.Str("name") ?? s.Str("channel") ?? "web log",
                    Channel = s.Str("channel"),
                    EventIds = s.Strings("event_ids").Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToList(),
                    Provider = s.Str("provider"),
                    LogFormats = s.Strings("log").Select(x => x.ToLowerInvariant()).ToList(),
                    Fields = fields,
                    Strict = s.Str("strict") is "true",
                    SplitKeyValues = s.Str("split_key_values") is "true",
                });
                if (sources[^1].Channel is null && !sources[^1].IsWeb) throw new FormatException($"logsources: source {sources[^1].Name} has neither channel nor log");
            }
            map._entries.Add((Lower(m.Str("product")), Lower(m.Str("category")), Lower(m.Str("service")), sources));
        }
        return map;
    }

    public static IReadOnlyDictionary<string, string[]> ParsePlaceholders(string yaml)
    {
        var result = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        if (YamlTree.LoadAll(new StringReader(yaml)).FirstOrDefault() is YMap doc && doc.Map("placeholders") is { } p)
            foreach (var (k, _) in p.Entries) result[k] = p.Strings(k).ToArray();
        return result;
    }

    private static string? Lower(string? s) => s?.Trim().ToLowerInvariant();

    /// <summary>The event sources of a rule's logsource (empty when nothing in the mapping reads it).</summary>
    public IReadOnlyList<SigmaEventSource> SourcesFor(SigmaLogsource ls)
    {
        var result = new List<SigmaEventSource>();
        foreach (var (product, category, service, sources) in _entries)
        {
            if (category != ls.Category || service != ls.Service) continue;
            if (product is not null && ls.Product is not null && product != ls.Product) continue;
            if (product is not null && ls.Product is null && ls.Category is null && ls.Service is null) continue;
            foreach (var s in sources) if (!result.Contains(s)) result.Add(s);
        }
        return result;
    }
}
