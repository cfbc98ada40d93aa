using System.Globalization;
using Exir.Evtx;
using Exir.Logs;

namespace Exir.Sigma.Internals;

/// <summary>
/// Every field name the compiled rules read, as a small integer: events are resolved into an array by id once,
/// so thousands of rules look fields up without hashing strings. Frozen once the rule set is built.
/// </summary>
internal sealed class FieldTable
{
    private readonly Dictionary<string, int> _ids = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> _names = [];
    private Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _spanLookup;

    public FieldTable()
    {
        _spanLookup = _ids.GetAlternateLookup<ReadOnlySpan<char>>();
        foreach (var n in SystemNames) Intern(n);
    }

    /// <summary>System fields of a Windows event, ids 0..n in this order.</summary>
    public static readonly string[] SystemNames = ["EventID", "Channel", "Provider_Name", "Computer", "Level", "EventRecordID", "ProcessID", "UserID"];
    public const int EventIdId = 0, ChannelId = 1, ProviderId = 2, ComputerId = 3, LevelId = 4, RecordId = 5, ProcessId = 6, UserId = 7;

    public int Count => _names.Count;
    public string Name(int id) => _names[id];

    public int Intern(string name)
    {
        if (_ids.TryGetValue(name, out int id)) return id;
        id = _names.Count;
        _names.Add(name);
        _ids[name] = id;
        return id;
    }

    public bool TryGet(ReadOnlySpan<char> name, out int id) => _spanLookup.TryGetValue(name, out id);
}

/// <summary>One event as the compiled rules read it: field values by id, and every value for keywords.</summary>
internal abstract class EventView
{
    /// <summary>The first value of a field, null when the event does not have it (allocates for a web line: evidence only).</summary>
    public abstract string? Get(int id);
    /// <summary>The first value of a field without allocating; false when the event does not have it. Valid until the next event.</summary>
    public abstract bool TryGet(int id, out ReadOnlySpan<char> value);
    /// <summary>A value for keyword search without allocating.</summary>
    public virtual ReadOnlySpan<char> ValueSpanAt(int i) => ValueAt(i);
    /// <summary>Further values of a field that occurs more than once (unnamed Data elements, split key=value lines).</summary>
    public virtual int ExtraCount => 0;
    public virtual (int Id, string Value) Extra(int i) => default;
    /// <summary>The values keyword selections search (the event's data values, or every field of a log line).</summary>
    public abstract int ValueCount { get; }
    public abstract string ValueAt(int i);
}

/// <summary>A Windows event resolved against a <see cref="FieldTable"/>; reused per thread.</summary>
internal sealed class WinEventView : EventView
{
    private static readonly string[] SmallInts = Enumerable.Range(0, 65536).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
    private string?[] _values = [];
    private readonly List<int> _set = [];
    private readonly List<(int, string)> _extras = [];
    private readonly List<string> _splitValues = [];
    public WinEvent Event { get; private set; } = null!;
    /// <summary>Scratch list of the engine: the rules the gates let through for this event.</summary>
    public List<CompiledVariant> Candidates { get; } = [];

    public static string Int(int v) => (uint)v < (uint)SmallInts.Length ? SmallInts[v] : v.ToString(CultureInfo.InvariantCulture);

    public void Load(WinEvent e, FieldTable table, bool splitKeyValues)
    {
        if (_values.Length < table.Count) _values = new string?[table.Count];
        foreach (var id in _set) _values[id] = null;
        _set.Clear();
        _extras.Clear();
        _splitValues.Clear();
        Event = e;
        Set(FieldTable.EventIdId, Int(e.EventId));
        if (e.Channel is not null) Set(FieldTable.ChannelId, e.Channel);
        Set(FieldTable.ProviderId, e.Provider);
        if (e.Computer is not null) Set(FieldTable.ComputerId, e.Computer);
        Set(FieldTable.LevelId, Int(e.Level));
        if (e.ProcessId is { } pid) Set(FieldTable.ProcessId, Int(pid));
        if (e.UserSid is not null) Set(FieldTable.UserId, e.UserSid);
        var data = e.Data;
        for (int i = 0; i < data.Count; i++) // by index: an interface enumerator would be allocated per event
        {
            var (key, value) = data[i];
            var name = BaseName(key);
            if (table.TryGet(name, out int id) || (name.Contains(' ') && TryWithoutSpaces(name, table, out id))) Add(id, value);
            if (splitKeyValues && value.Contains('=')) SplitKeyValues(value, table);
        }
    }

    /// <summary>"Data[2]" and "Name[2]" (a repeated name) are further values of "Data" and "Name".</summary>
    internal static ReadOnlySpan<char> BaseName(string key)
    {
        if (key.Length > 3 && key[^1] == ']')
        {
            int open = key.LastIndexOf('[');
            if (open > 0) return key.AsSpan(0, open);
        }
        return key;
    }

    // Defender and others name data "Threat Name"; Sigma rules spell it ThreatName.
    private static bool TryWithoutSpaces(ReadOnlySpan<char> name, FieldTable table, out int id)
    {
        Span<char> buffer = name.Length <= 256 ? stackalloc char[name.Length] : new char[name.Length];
        int n = 0;
        foreach (var c in name) if (c != ' ') buffer[n++] = c;
        return table.TryGet(buffer[..n], out id);
    }

    // PowerShell classic (400/403/600/800) writes its details as "\tName=Value" lines inside one Data string.
    private void SplitKeyValues(string value, FieldTable table)
    {
        foreach (var range in value.AsSpan().Split('\n'))
        {
            var line = value.AsSpan()[range].Trim();
            int eq = line.IndexOf('=');
            if (eq <= 0) continue;
            var key = line[..eq].Trim();
            if (!table.TryGet(key, out int id)) continue;
            var v = line[(eq + 1)..].Trim().ToString();
            _splitValues.Add(v);
            Add(id, v);
        }
    }

    private void Set(int id, string v) { _values[id] = v; _set.Add(id); }

    private void Add(int id, string v)
    {
        if (_values[id] is null) Set(id, v);
        else _extras.Add((id, v));
    }

    public override string? Get(int id) => (uint)id < (uint)_values.Length ? _values[id] : null;

    public override bool TryGet(int id, out ReadOnlySpan<char> value)
    {
        var s = (uint)id < (uint)_values.Length ? _values[id] : null;
        value = s;
        return s is not null;
    }
    public override int ExtraCount => _extras.Count;
    public override (int Id, string Value) Extra(int i) => _extras[i];
    public override int ValueCount => Event.Data.Count;
    public override string ValueAt(int i) => Event.Data[i].Value;
}

/// <summary>
/// A web-log line (IIS W3C or Exchange HttpProxy) read through its schema: names resolve by header name or
/// by the format's role names (Stem, Query, UserAgent, ...), plus the synthetic Uri (stem?query) and
/// UriExtension. Values are materialised only when a rule asks for them.
/// </summary>
internal sealed class WebLineView : EventView
{
    public const string UriField = "Uri", UriExtensionField = "UriExtension";
    private const int Synthetic = -2, SyntheticExt = -3;
    private LogReader? _reader;
    private IReadOnlyList<string>? _fields;
    private LogSchema _schema = null!;
    private LogSchema? _resolvedFor;
    private int[] _column = [];
    private string?[] _cache = [];
    private int[] _generation = [];
    private string?[] _valueCache = [];
    private int[] _valueGeneration = [];
    private int _gen;
    private FieldTable _table = null!;

    public LogSchema Schema => _schema;

    public void Load(LogReader reader, FieldTable table)
    {
        _reader = reader; _fields = null;
        Prepare(reader.Schema!, table);
    }

    public void Load(LogSchema schema, IReadOnlyList<string> fields, FieldTable table)
    {
        _reader = null; _fields = fields;
        Prepare(schema, table);
    }

    private void Prepare(LogSchema schema, FieldTable table)
    {
        _table = table;
        _schema = schema;
        if (_cache.Length < table.Count) { _cache = new string?[table.Count]; _generation = new int[table.Count]; }
        if (!ReferenceEquals(_resolvedFor, schema) || _column.Length != table.Count)
        {
            _column = new int[table.Count];
            for (int id = 0; id < table.Count; id++)
            {
                var name = table.Name(id);
                _column[id] = name.Equals(UriField, StringComparison.OrdinalIgnoreCase) ? Synthetic
                    : name.Equals(UriExtensionField, StringComparison.OrdinalIgnoreCase) ? SyntheticExt
                    : schema.IndexOf(name);
            }
            _resolvedFor = schema;
        }
        int n = schema.Count;
        if (_valueCache.Length < n) { _valueCache = new string?[n]; _valueGeneration = new int[n]; }
        _gen++;
    }

    private ReadOnlySpan<char> Column(int index)
    {
        if (_reader is not null) return _reader.Field(index);
        if (index < 0 || index >= _fields!.Count) return default;
        var v = _fields[index];
        return _schema.Format.DashMeansEmpty && v == "-" ? default : v;
    }

    private string? ColumnString(int index)
    {
        if (index < 0 || index >= _schema.Count) return null;
        if (_valueGeneration[index] == _gen) return _valueCache[index];
        var s = Column(index).ToString();
        _valueCache[index] = s; _valueGeneration[index] = _gen;
        return s;
    }

    private char[] _uriBuffer = new char[512];

    public override bool TryGet(int id, out ReadOnlySpan<char> value)
    {
        value = default;
        if ((uint)id >= (uint)_column.Length) return false;
        if (_generation[id] == _gen) { value = _cache[id]; return _cache[id] is not null; }
        int col = _column[id];
        switch (col)
        {
            case Synthetic:
            {
                int si = _schema.IndexOf("Stem"), qi = _schema.IndexOf("Query");
                if (!Has(si) && !Has(qi)) return false;
                var stem = Column(si);
                var query = Column(qi);
                if (query.IsEmpty) { value = stem; return true; }
                int len = stem.Length + 1 + query.Length;
                if (_uriBuffer.Length < len) _uriBuffer = new char[Math.Max(len, _uriBuffer.Length * 2)];
                stem.CopyTo(_uriBuffer);
                _uriBuffer[stem.Length] = '?';
                query.CopyTo(_uriBuffer.AsSpan(stem.Length + 1));
                value = _uriBuffer.AsSpan(0, len);
                return true;
            }
            case SyntheticExt:
            {
                int si = _schema.IndexOf("Stem");
                if (!Has(si)) return false;
                var stem = Column(si);
                int slash = stem.LastIndexOf('/'), dot = stem.LastIndexOf('.');
                value = dot > slash ? stem[(dot + 1)..] : default;
                return true;
            }
            default:
                if (!Has(col)) return false;
                value = _valueGeneration[col] == _gen ? _valueCache[col] : Column(col);
                return true;
        }
    }

    private bool Has(int col) => col >= 0 && col < _schema.Count;

    public override ReadOnlySpan<char> ValueSpanAt(int i) => _valueGeneration[i] == _gen ? _valueCache[i] : Column(i);

    public override string? Get(int id)
    {
        if ((uint)id >= (uint)_column.Length) return null;
        if (_generation[id] == _gen) return _cache[id];
        int col = _column[id];
        string? v = col switch
        {
            Synthetic => Uri(),
            SyntheticExt => Extension(),
            _ => ColumnString(col),
        };
        _cache[id] = v; _generation[id] = _gen;
        return v;
    }

    private string? Uri()
    {
        var stem = ColumnString(_schema.IndexOf("Stem"));
        var query = ColumnString(_schema.IndexOf("Query"));
        if (stem is null && query is null) return null;
        return string.IsNullOrEmpty(query) ? stem ?? "" : (stem ?? "") + "?" + query;
    }

    private string? Extension()
    {
        var stem = ColumnString(_schema.IndexOf("Stem"));
        if (stem is null) return null;
        int slash = stem.LastIndexOf('/'), dot = stem.LastIndexOf('.');
        return dot > slash ? stem[(dot + 1)..] : "";
    }

    public override int ValueCount => _schema.Count;
    public override string ValueAt(int i) => ColumnString(i) ?? "";

    /// <summary>The line's fields by header name (for evidence).</summary>
    public List<KeyValuePair<string, string>> AllFields()
    {
        var list = new List<KeyValuePair<string, string>>(_schema.Count);
        for (int i = 0; i < _schema.Count; i++)
            if (ColumnString(i) is { Length: > 0 } v) list.Add(new(_schema.Names[i], v));
        return list;
    }
}
