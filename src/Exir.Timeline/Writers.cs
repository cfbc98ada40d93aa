using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Exir.Timeline;

/// <summary>Consumes the merged, sorted timeline one row at a time.</summary>
public interface ITimelineSink : IDisposable
{
    void Write(TimelineEvent e);
    /// <summary>Called once after the last row, with the analyses (for outputs that show them).</summary>
    void Complete(TimelineResult result) { }
}

internal static class Formats
{
    /// <summary>ISO 8601 with an explicit offset and microseconds, the form Timesketch's importer parses.</summary>
    public static string IsoDateTime(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'+00:00'", CultureInfo.InvariantCulture);

    /// <summary>Microseconds since the Unix epoch (Timesketch's optional "timestamp").</summary>
    public static long EpochMicros(DateTime utc) => (utc.Ticks - DateTime.UnixEpoch.Ticks) / 10;

    public static string Tags(TimelineEvent e) => string.Join(",", e.Tags);

    /// <summary>Replaces lone UTF-16 surrogates (damaged or hostile evidence) with U+FFFD, which JSON cannot carry.</summary>
    public static string Clean(string s)
    {
        int i = s.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF');
        if (i < 0) return s;
        var chars = s.ToCharArray();
        for (; i < chars.Length; i++)
        {
            if (char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1])) { i++; continue; }
            if (char.IsSurrogate(chars[i])) chars[i] = '\uFFFD';
        }
        return new string(chars);
    }
}

/// <summary>
/// Timesketch JSONL: one flat object per line with the required message, datetime and timestamp_desc,
/// then the normalised fields and the record's own fields. No nesting (Timesketch wants flat fields).
/// </summary>
public sealed class TimesketchJsonlSink : ITimelineSink
{
    private readonly Stream _stream;
    private readonly Utf8JsonWriter _json;
    private static readonly byte[] NewLine = "\n"u8.ToArray();

    public TimesketchJsonlSink(Stream stream)
    {
        _stream = stream;
        // Relaxed escaping keeps "+00:00" and non-ASCII text readable; the output is JSONL, never embedded in HTML.
        _json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    public void Write(TimelineEvent e)
    {
        var j = _json;
        j.WriteStartObject();
        j.WriteString("message", Formats.Clean(e.Message));
        j.WriteString("datetime", Formats.IsoDateTime(e.Timestamp));
        j.WriteString("timestamp_desc", Formats.Clean(e.TimestampDesc));
        j.WriteNumber("timestamp", Formats.EpochMicros(e.Timestamp));
        j.WriteString("host", Formats.Clean(e.Host));
        j.WriteString("source", Formats.Clean(e.Source));
        j.WriteString("category", Formats.Clean(e.Category));
        if (e.EventId is { } id) j.WriteNumber("event_id", id);
        Opt(j, "provider", e.Provider);
        Opt(j, "user", e.User);
        Opt(j, "src_ip", e.SrcIp);
        Opt(j, "src_host", e.SrcHost);
        Opt(j, "process", e.Process);
        Opt(j, "parent_process", e.ParentProcess);
        Opt(j, "command_line", e.CommandLine);
        if (e.RecordId is { } r) j.WriteNumber("record_id", r);
        j.WriteString("file", Formats.Clean(e.File));
        if (e.Tags.Count > 0) j.WriteString("exir_tags", Formats.Clean(Formats.Tags(e)));
        HashSet<string>? seen = null;
        foreach (var (k, v) in e.Fields)
        {
            seen ??= new HashSet<string>(StringComparer.Ordinal);
            if (seen.Add(k) && !Reserved.Contains(k)) j.WriteString(Formats.Clean(k), Formats.Clean(v));
        }
        j.WriteEndObject();
        j.Flush();
        j.Reset();
        _stream.Write(NewLine);
    }

    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal)
    {
        "message", "datetime", "timestamp_desc", "timestamp", "host", "source", "category", "event_id", "provider", "user",
        "src_ip", "src_host", "process", "parent_process", "command_line", "record_id", "file", "exir_tags",
    };

    private static void Opt(Utf8JsonWriter j, string name, string? v) { if (v is not null) j.WriteString(name, Formats.Clean(v)); }

    public void Dispose() { _json.Dispose(); _stream.Dispose(); }
}

/// <summary>RFC 4180 CSV. Spreadsheet mode neutralises formulas: a cell starting with = + - @ tab or CR gets a leading quote.</summary>
public sealed class CsvSink : ITimelineSink
{
    private readonly TextWriter _w;
    private readonly bool _timesketch;

    public static readonly string[] TimesketchColumns =
        ["message", "datetime", "timestamp_desc", "timestamp", "host", "source", "category", "event_id", "user", "src_ip", "src_host",
         "process", "parent_process", "command_line", "exir_tags", "record_id", "file", "provider", "fields"];
    public static readonly string[] PlainColumns =
        ["datetime", "host", "category", "event_id", "timestamp_desc", "user", "src_ip", "src_host", "process", "parent_process",
         "command_line", "message", "tags", "source", "record_id", "file"];

    /// <param name="timesketch">Timesketch column set, values as they are (for import); else the plain, spreadsheet-safe layout.</param>
    public CsvSink(Stream stream, bool timesketch)
    {
        _w = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16);
        _timesketch = timesketch;
        WriteRow(timesketch ? TimesketchColumns : PlainColumns);
    }

    public void Write(TimelineEvent e)
    {
        var id = e.EventId?.ToString(CultureInfo.InvariantCulture) ?? "";
        var rec = e.RecordId?.ToString(CultureInfo.InvariantCulture) ?? "";
        if (_timesketch)
        {
            WriteRow([e.Message, Formats.IsoDateTime(e.Timestamp), e.TimestampDesc, Formats.EpochMicros(e.Timestamp).ToString(CultureInfo.InvariantCulture),
                e.Host, e.Source, e.Category, id, e.User, e.SrcIp, e.SrcHost, e.Process, e.ParentProcess, e.CommandLine, Formats.Tags(e), rec, e.File, e.Provider,
                string.Join("; ", e.Fields.Select(kv => kv.Key + "=" + kv.Value))]);
        }
        else
        {
            WriteRow([Formats.IsoDateTime(e.Timestamp), e.Host, e.Category, id, e.TimestampDesc, e.User, e.SrcIp, e.SrcHost, e.Process, e.ParentProcess,
                e.CommandLine, e.Message, Formats.Tags(e), e.Source, rec, e.File]);
        }
    }

    private void WriteRow(string?[] cells)
    {
        for (int i = 0; i < cells.Length; i++)
        {
            if (i > 0) _w.Write(',');
            var c = cells[i] ?? "";
            if (!_timesketch) c = Neutralise(c);
            _w.Write('"');
            _w.Write(c.Replace("\"", "\"\""));
            _w.Write('"');
        }
        _w.Write("\r\n");
    }

    /// <summary>Evidence is attacker text: stop spreadsheets from evaluating it as a formula.</summary>
    public static string Neutralise(string cell) => Exir.Core.TextSafety.ForCsvCell(cell);

    public void Dispose() => _w.Dispose();
}
