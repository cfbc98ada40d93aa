using System.Globalization;
using System.Text;
using Exir.Core;
using Exir.Evtx;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Exir.Timeline;

/// <summary>
/// Turns Windows events into timeline rows following rules/timeline/events.yaml: which events are kept,
/// their category, Timesketch timestamp_desc, the human message and the normalised fields.
/// </summary>
public sealed class EventMapping
{
    /// <summary>Longest value kept in a flat field; script blocks can be megabytes.</summary>
    public const int MaxFieldChars = 32 * 1024;

    private readonly Dictionary<string, Dictionary<int, Entry>> _byId = new(StringComparer.OrdinalIgnoreCase);
    // "evt_" + data name, made once per distinct name instead of once per record.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string?> FieldNames = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Entry> _catchAll = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, string> _providerChannels = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _channels = new(StringComparer.OrdinalIgnoreCase);

    private sealed record Entry(string Category, string Desc, Template Message, IReadOnlyList<(string Name, Template T)> Outputs);

    public static EventMapping Load(DataFiles rules) => Parse(rules.ReadAllText("timeline/events.yaml"));

    public static EventMapping Parse(string yaml)
    {
        var doc = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance)
            .IgnoreUnmatchedProperties().Build().Deserialize<MapFile>(yaml) ?? new MapFile();
        var m = new EventMapping();
        foreach (var (p, c) in doc.ProviderChannels ?? []) m._providerChannels[p] = c;
        foreach (var d in doc.Events ?? [])
        {
            string? Str(string key) => d.TryGetValue(key, out var v) ? v as string : null;
            var channel = Str("channel");
            if (string.IsNullOrWhiteSpace(channel)) throw new FormatException("events.yaml: an entry has no channel");
            var ids = d.TryGetValue("ids", out var idv) && idv is List<object> idl
                ? idl.Select(x => int.Parse(Convert.ToString(x, CultureInfo.InvariantCulture)!, CultureInfo.InvariantCulture)).ToList()
                : [];
            // Every other key is an output field rendered from a template (user, process, logon_type, ...).
            var outputs = d.Where(kv => !EntryKeys.Contains(kv.Key) && kv.Value is string)
                .Select(kv => (kv.Key, Template.Parse((string)kv.Value))).ToList();
            var entry = new Entry(Str("category") ?? "other", Str("desc") ?? "Event", Template.Parse(Str("message") ?? "{*}"), outputs);
            m._channels.Add(channel);
            if (ids.Count == 0) m._catchAll[channel] = entry;
            else
            {
                if (!m._byId.TryGetValue(channel, out var byId)) m._byId[channel] = byId = new Dictionary<int, Entry>();
                foreach (var id in ids) byId[id] = entry;
            }
        }
        return m;
    }

    private static readonly HashSet<string> EntryKeys = ["channel", "ids", "category", "desc", "message"];

    /// <summary>The channel an event belongs to: its own, or (forwarded events) the one its provider writes to.</summary>
    public string ChannelOf(WinEvent e) =>
        e.Channel is { Length: > 0 } c && (_channels.Contains(c) || !_providerChannels.ContainsKey(e.Provider))
            ? c
            : _providerChannels.TryGetValue(e.Provider, out var pc) ? pc : e.Channel ?? e.Provider;

    /// <summary>The timeline row of an event, or null when the mapping does not keep this kind of event.</summary>
    public TimelineEvent? Map(WinEvent e, string hostFallback, string file)
    {
        var channel = Resolve(e, out var entry);
        if (entry is null) return null;
        var t = new TimelineEvent
        {
            Timestamp = DateTime.SpecifyKind(e.TimestampUtc, DateTimeKind.Utc),
            TimestampDesc = entry.Desc,
            Host = string.IsNullOrWhiteSpace(e.Computer) ? hostFallback : e.Computer!,
            Source = channel,
            Category = entry.Category,
            EventId = e.EventId,
            Provider = e.Provider,
            Message = Cap(entry.Message.Render(e) ?? $"{e.Provider} {e.EventId}"),
            RecordId = (long)Math.Min(e.RecordId, long.MaxValue),
            File = file,
        };
        foreach (var (name, tpl) in entry.Outputs)
        {
            var v = tpl.Render(e);
            if (v is null) continue;
            switch (name)
            {
                case "user": t.User = v; break;
                case "src_ip": t.SrcIp = v; break;
                case "src_host": t.SrcHost = v; break;
                case "process": t.Process = v; break;
                case "parent_process": t.ParentProcess = v; break;
                case "command_line": t.CommandLine = Cap(v); break;
                default: t.Fields.Add(new(name, Cap(v))); break;
            }
        }
        if (e.FromBadCrcChunk) t.Fields.Add(new("bad_crc_chunk", "true"));
        // The record's own named fields, flat, so nothing is lost for searches in Timesketch.
        foreach (var (k, v) in e.Data)
            if (k.Length > 0 && !string.IsNullOrEmpty(v) && FieldNames.GetOrAdd(k, FieldName) is { } name)
                t.Fields.Add(new(name, Cap(v)));
        return t;
    }

    private string Resolve(WinEvent e, out Entry? entry)
    {
        var channel = ChannelOf(e);
        if (_byId.TryGetValue(channel, out var byId) && byId.TryGetValue(e.EventId, out entry)) return channel;
        if (_catchAll.TryGetValue(channel, out entry)) return channel;
        entry = null;
        return channel;
    }

    /// <summary>A data name usable as a flat field ("Data[2]" becomes "Data_2"); null for names with other characters.</summary>
    private static string? FieldName(string k)
    {
        if (FieldNames.Count > 100_000) return null; // hostile logs with endless distinct names: stop growing
        var n = k.Replace('[', '_').Replace("]", "");
        foreach (var ch in n) if (!(char.IsAsciiLetterOrDigit(ch) || ch == '_' || ch == '-')) return null;
        return "evt_" + n;
    }

    internal static string Cap(string s) => s.Length <= MaxFieldChars ? s : s[..MaxFieldChars] + "…";

    private sealed class MapFile
    {
        public Dictionary<string, string>? ProviderChannels { get; set; }
        public List<Dictionary<string, object>>? Events { get; set; }
    }
}

/// <summary>
/// "{Field}" text template over a <see cref="WinEvent"/>: "{A|B}" first present, "{#0}" by position,
/// "{*}" all data. Renders null when every referenced field is empty, so absent users stay absent.
/// </summary>
public sealed class Template
{
    private readonly List<(string? Literal, string? Field)> _parts = [];

    public static Template Parse(string text)
    {
        var t = new Template();
        int i = 0;
        while (i < text.Length)
        {
            int open = text.IndexOf('{', i);
            if (open < 0) { t._parts.Add((text[i..], null)); break; }
            int close = text.IndexOf('}', open + 1);
            if (close < 0) { t._parts.Add((text[i..], null)); break; }
            if (open > i) t._parts.Add((text[i..open], null));
            t._parts.Add((null, text[(open + 1)..close].Trim()));
            i = close + 1;
        }
        return t;
    }

    public string? Render(WinEvent e) => Render(name => name == "*" ? AllData(e) : e.Field(name));

    /// <summary>Renders with any field source (log lines); "*" and "A|B" are the lookup's to resolve.</summary>
    public string? Render(Func<string, string?> lookup)
    {
        var sb = new StringBuilder();
        bool anyField = false, anyValue = false;
        foreach (var (lit, field) in _parts)
        {
            if (lit is not null) { sb.Append(lit); continue; }
            anyField = true;
            var v = lookup(field!);
            if (v is null || v.Length == 0 || v == "-") continue;
            anyValue = true;
            sb.Append(v);
        }
        if (anyField && !anyValue) return null;
        var s = sb.ToString().Trim();
        // "\user" or "DOMAIN\" when one half is missing: keep the half that is there.
        s = s.Trim('\\').Trim().TrimEnd(':').TrimEnd();
        return s.Length == 0 ? null : s;
    }

    private static string AllData(WinEvent e)
    {
        var sb = new StringBuilder();
        foreach (var (k, v) in e.Data)
        {
            if (string.IsNullOrEmpty(v)) continue;
            if (sb.Length > 0) sb.Append("; ");
            if (k.Length > 0) sb.Append(k).Append('=');
            sb.Append(v);
            if (sb.Length > 4096) break;
        }
        return sb.ToString();
    }
}

internal static class Inv
{
    public static string S(long v) => v.ToString(CultureInfo.InvariantCulture);
}
