using System.Text;
using Exir.Core;
using Exir.Logs;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Exir.Timeline;

/// <summary>IIS and Exchange log lines as timeline rows (rules/timeline/weblogs.yaml).</summary>
public sealed class LogMapping
{
    private sealed record Entry(string Category, string Desc, string Source, Template Message, Template? Host, Template? User, Template? SrcIp,
        IReadOnlyList<(string Name, Template T)> Fields);

    private readonly Dictionary<LogFormat, Entry> _entries = new();

    public static LogMapping Load(DataFiles rules) => Parse(rules.ReadAllText("timeline/weblogs.yaml"));

    public static LogMapping Parse(string yaml)
    {
        var doc = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance)
            .IgnoreUnmatchedProperties().Build().Deserialize<Doc>(yaml) ?? new Doc();
        var m = new LogMapping();
        foreach (var (name, d) in doc.Logs ?? [])
        {
            var format = LogFormats.ByName(name)?.Format ?? throw new FormatException($"weblogs.yaml: unknown log format '{name}' ({LogFormats.Names})");
            Template? T(string? t) => t is null ? null : Template.Parse(t);
            m._entries[format] = new Entry(d.Category ?? "web", d.Desc ?? "Log line", d.Source ?? name, Template.Parse(d.Message ?? "{*}"),
                T(d.Host), T(d.User), T(d.SrcIp), (d.Fields ?? []).Select(kv => (kv.Key, Template.Parse(kv.Value))).ToList());
        }
        return m;
    }

    public bool Handles(LogFormat format) => _entries.ContainsKey(format);

    /// <summary>The row of the reader's current line, or null when the line has no time.</summary>
    public TimelineEvent? Map(LogReader reader, string hostFallback, string file)
    {
        if (reader.Timestamp is not { } ts || !_entries.TryGetValue(reader.Format, out var entry)) return null;
        string? Lookup(string name)
        {
            if (name == "*") return WholeLine(reader);
            foreach (var alt in name.Split('|'))
            {
                if (!reader.HasField(alt)) continue;
                var v = reader.Field(alt);
                if (v.IsEmpty || v is "-") continue;
                return v.ToString();
            }
            return null;
        }
        var row = new TimelineEvent
        {
            Timestamp = ts.UtcDateTime, TimestampDesc = entry.Desc, Source = entry.Source, Category = entry.Category,
            Host = entry.Host?.Render(Lookup) ?? hostFallback,
            Message = EventMapping.Cap(entry.Message.Render(Lookup) ?? reader.Line.ToString()),
            User = entry.User?.Render(Lookup), SrcIp = entry.SrcIp?.Render(Lookup), RecordId = reader.LineNumber, File = file,
        };
        foreach (var (name, t) in entry.Fields)
            if (t.Render(Lookup) is { } v) row.Fields.Add(new(name, EventMapping.Cap(v)));
        return row;
    }

    private static string WholeLine(LogReader reader)
    {
        if (reader.Schema is not { } schema) return reader.Line.ToString();
        var sb = new StringBuilder();
        for (int i = 0; i < Math.Min(schema.Count, reader.FieldCount); i++)
        {
            var v = reader.Field(i);
            if (v.IsEmpty || v is "-") continue;
            if (sb.Length > 0) sb.Append("; ");
            sb.Append(schema.Names[i]).Append('=').Append(v);
            if (sb.Length > 4096) break;
        }
        return sb.ToString();
    }

    private sealed class Doc { public Dictionary<string, EntryDoc>? Logs { get; set; } }
    private sealed class EntryDoc
    {
        public string? Category { get; set; }
        public string? Desc { get; set; }
        public string? Source { get; set; }
        public string? Message { get; set; }
        public string? Host { get; set; }
        public string? User { get; set; }
        public string? SrcIp { get; set; }
        public Dictionary<string, string>? Fields { get; set; }
    }
}
