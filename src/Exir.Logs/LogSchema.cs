namespace Exir.Logs;

/// <summary>
/// The field list of a log, from its "#Fields:" directive. Lookups are by name (case-insensitive), never
/// by position, so E2013's shorter HttpProxy lists and IIS sites with custom fields read the same way.
/// </summary>
public sealed class LogSchema
{
    private readonly Dictionary<string, int> _index = new(StringComparer.OrdinalIgnoreCase);
    private readonly IReadOnlyDictionary<string, string[]> _roles;

    public LogSchema(IReadOnlyList<string> names, LogFormatDescriptor format, bool isFallback = false)
    {
        Names = names;
        Format = format;
        IsFallback = isFallback;
        _roles = format.Roles;
        for (int i = 0; i < names.Count; i++) _index.TryAdd(names[i], i);
        RepeatedName = names.Where(n => n.Length > 0).GroupBy(n => n, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1)?.Key;
        TimestampIndex = First("DateTime", "TimeStamp", "Timestamp", "date-time");
        DateIndex = IndexOf("date");
        TimeIndex = IndexOf("time");
    }

    public IReadOnlyList<string> Names { get; }
    public LogFormatDescriptor Format { get; }
    public int Count => Names.Count;
    /// <summary>The first name given twice (case-insensitive), or null: a real log never does, so such a header is not trusted.</summary>
    public string? RepeatedName { get; }
    /// <summary>True when the file had no #Fields and a known default list of its format is used instead.</summary>
    public bool IsFallback { get; }
    /// <summary>Index of an ISO 8601 timestamp field (Exchange logs), or -1.</summary>
    public int TimestampIndex { get; }
    /// <summary>W3C "date" and "time" fields, or -1.</summary>
    public int DateIndex { get; }
    public int TimeIndex { get; }

    /// <summary>
    /// Index of a field by its own name or by a role name of the format (Stem, Query, Status, Method,
    /// UserAgent, User, ClientIp, ForwardedFor, Host, UrlHost), so one rule reads IIS and HttpProxy alike.
    /// </summary>
    public int IndexOf(string name)
    {
        if (_index.TryGetValue(name, out int i)) return i;
        if (_roles.TryGetValue(name, out var candidates))
            foreach (var c in candidates)
                if (_index.TryGetValue(c, out i)) return i;
        return -1;
    }

    public bool Has(string name) => IndexOf(name) >= 0;

    private int First(params string[] names)
    {
        foreach (var n in names) if (_index.TryGetValue(n, out int i)) return i;
        return -1;
    }
}
