using System.Text;
using Exir.Logs;

namespace Exir.Detection.Logs;

/// <summary>
/// The current candidate line as rules see it: header fields by name or role, virtual fields
/// ("_line" the raw text, "Url" stem plus query, "_path" the artifact path), derived values and
/// regex captures. Values are materialised only for candidate lines, so the hot path stays allocation-free.
/// </summary>
public sealed class LogLineView
{
    private readonly Dictionary<string, string> _cache = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, string> _derived = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, string> _captures = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _notes = new(StringComparer.Ordinal);
    private LogReader _reader = null!;
    private string? _line;

    public string ArtifactPath { get; private set; } = "";

    internal void Reset(LogReader reader, string artifactPath)
    {
        _reader = reader;
        ArtifactPath = artifactPath;
        _cache.Clear();
        _derived.Clear();
        _captures.Clear();
        _notes.Clear();
        _line = null;
    }

    public LogReader Reader => _reader;
    public string RawLine => _line ??= _reader.Line.ToString();
    public IReadOnlyDictionary<string, string> Captures => _captures;
    public IReadOnlyDictionary<string, string> Derived => _derived;
    public IReadOnlyDictionary<string, string> Notes => _notes;

    public bool Has(string field) => field switch
    {
        "_line" or "_path" => true,
        "Url" => _reader.HasField("Stem"),
        _ => _derived.ContainsKey(field) || _reader.HasField(field),
    };

    /// <summary>The raw (untransformed) value; empty when the field is absent.</summary>
    public string Raw(string field)
    {
        if (_cache.TryGetValue(field, out var v)) return v;
        if (_derived.TryGetValue(field, out v)) return v;
        v = field switch
        {
            "_line" => RawLine,
            "_path" => ArtifactPath,
            "Url" => BuildUrl(),
            _ => _reader.Field(field).ToString(),
        };
        _cache[field] = v;
        return v;
    }

    public string Value(string field, IReadOnlyList<ValueTransform> transforms)
    {
        if (transforms.Count == 0) return Raw(field);
        var key = field + "|" + string.Join(',', transforms);
        if (_cache.TryGetValue(key, out var v)) return v;
        v = Raw(field);
        foreach (var t in transforms) v = Apply(v, t);
        _cache[key] = v;
        return v;
    }

    internal void SetDerived(string name, string value) => _derived[name] = value;
    internal void Capture(string name, string value) => _captures[name] = value;
    internal void Note(string name, string value) => _notes[name] = value;
    internal void ClearCaptures() => _captures.Clear();

    private string BuildUrl()
    {
        var stem = _reader.Field("Stem");
        var query = _reader.Field("Query");
        if (query.Length > 0 && query[0] == '?') query = query[1..];
        return query.IsEmpty ? stem.ToString() : string.Concat(stem, "?", query);
    }

    public static string Apply(string value, ValueTransform transform) => transform switch
    {
        ValueTransform.Percent => UrlDecoding.DecodeRepeatedly(value),
        ValueTransform.Plus => value.Replace('+', ' '),
        ValueTransform.WinPath => NormaliseWindowsPath(value),
        _ => value,
    };

    /// <summary>Resolves "." and ".." so a path cannot pass a folder test by climbing out of it.</summary>
    public static string NormaliseWindowsPath(string path)
    {
        var p = path.Replace('/', '\\');
        var parts = new List<string>();
        var sb = new StringBuilder();
        string prefix = "";
        if (p.StartsWith(@"\\", StringComparison.Ordinal)) { prefix = @"\\"; p = p[2..]; }
        foreach (var part in p.Split('\\'))
        {
            if (part.Length == 0 || part == ".") continue;
            if (part == "..") { if (parts.Count > 1 || (parts.Count == 1 && !parts[0].EndsWith(':'))) parts.RemoveAt(parts.Count - 1); continue; }
            parts.Add(part);
        }
        sb.Append(prefix).AppendJoin('\\', parts);
        return sb.ToString();
    }
}
