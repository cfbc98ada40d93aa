using System.Globalization;
using System.Text;
using System.Text.Json;
using Exir.Core;
using Exir.Core.Findings;
using Exir.Reporting.Outputs;
using Exir.Timeline;

namespace Exir.Reporting.TimelineOutputs;

internal static class Formats
{
    /// <summary>ISO 8601 with an explicit offset and microseconds, the form Timesketch's importer parses.</summary>
    public static string IsoDateTime(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'+00:00'", CultureInfo.InvariantCulture);

    /// <summary>Microseconds since the Unix epoch (Timesketch's optional "timestamp").</summary>
    public static long EpochMicros(DateTime utc) => (utc.Ticks - DateTime.UnixEpoch.Ticks) / 10;

    public static string Tags(TimelineEvent e) => string.Join(",", e.Tags);

    public static string Clean(string s) => TextSafety.ReplaceLoneSurrogates(s);
}

/// <summary>A sink over a stream it owns (a file of --out) or borrows (standard output: flushed, never closed).</summary>
public abstract class StreamSink(SinkTarget target) : IOutputSink
{
    protected Stream Stream { get; } = target.Stream;
    protected bool IsConsole { get; } = target.IsConsole;

    public virtual void Row(TimelineEvent row) { }
    public abstract void Complete(RunOutput output);

    public virtual void Dispose()
    {
        if (IsConsole) Stream.Flush();
        else Stream.Dispose();
    }
}

/// <summary>
/// Timesketch JSONL: one flat object per line with the required message, datetime and timestamp_desc,
/// then the normalised fields and the record's own fields. No nesting (Timesketch wants flat fields),
/// and no two keys that differ only in case (PowerShell's ConvertFrom-Json rejects them).
/// </summary>
public sealed class TimesketchJsonlSink : StreamSink
{
    private readonly Utf8JsonWriter _json;
    private static readonly byte[] NewLine = "\n"u8.ToArray();

    public TimesketchJsonlSink(SinkTarget target) : base(target) =>
        // Relaxed escaping keeps "+00:00" and non-ASCII text readable; the output is JSONL, never embedded in HTML.
        _json = new Utf8JsonWriter(Stream, new JsonWriterOptions { Indented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    public override void Row(TimelineEvent e) => Write(_json, e, Stream);

    internal static void Write(Utf8JsonWriter j, TimelineEvent e, Stream stream)
    {
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
            seen ??= new HashSet<string>(Reserved, StringComparer.OrdinalIgnoreCase);
            if (seen.Add(k)) j.WriteString(Formats.Clean(k), Formats.Clean(v));
        }
        j.WriteEndObject();
        j.Flush();
        j.Reset();
        stream.Write(NewLine);
    }

    public override void Complete(RunOutput output) => Stream.Flush();

    private static readonly string[] Reserved =
    [
        "message", "datetime", "timestamp_desc", "timestamp", "host", "source", "category", "event_id", "provider", "user",
        "src_ip", "src_host", "process", "parent_process", "command_line", "record_id", "file", "exir_tags",
    ];

    private static void Opt(Utf8JsonWriter j, string name, string? v) { if (v is not null) j.WriteString(name, Formats.Clean(v)); }

    public override void Dispose()
    {
        _json.Dispose();
        base.Dispose();
    }
}

/// <summary>The rows as CSV: Timesketch's columns with values as they are (for import), or the plain spreadsheet-safe layout.</summary>
public sealed class TimelineCsvSink : StreamSink
{
    private readonly StreamWriter _w;
    private readonly CsvTable _table;
    private readonly bool _timesketch;

    public static readonly string[] TimesketchColumns =
        ["message", "datetime", "timestamp_desc", "timestamp", "host", "source", "category", "event_id", "user", "src_ip", "src_host",
         "process", "parent_process", "command_line", "exir_tags", "record_id", "file", "provider", "fields"];
    public static readonly string[] PlainColumns =
        ["datetime", "host", "category", "event_id", "timestamp_desc", "user", "src_ip", "src_host", "process", "parent_process",
         "command_line", "message", "tags", "source", "record_id", "file"];

    public TimelineCsvSink(SinkTarget target, bool timesketch) : base(target)
    {
        _timesketch = timesketch;
        _w = new StreamWriter(Stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
        _table = new CsvTable(_w, timesketch ? TimesketchColumns : PlainColumns, timesketch ? CsvCells.AsIs : CsvCells.SpreadsheetSafe);
    }

    public override void Row(TimelineEvent e)
    {
        var id = e.EventId?.ToString(CultureInfo.InvariantCulture) ?? "";
        var rec = e.RecordId?.ToString(CultureInfo.InvariantCulture) ?? "";
        if (_timesketch)
            _table.Row(Formats.Clean(e.Message), Formats.IsoDateTime(e.Timestamp), e.TimestampDesc, Formats.EpochMicros(e.Timestamp).ToString(CultureInfo.InvariantCulture),
                e.Host, e.Source, e.Category, id, e.User, e.SrcIp, e.SrcHost, e.Process, e.ParentProcess, e.CommandLine, Formats.Tags(e), rec, e.File, e.Provider,
                string.Join("; ", e.Fields.Select(kv => kv.Key + "=" + kv.Value)));
        else
            _table.Row(Formats.IsoDateTime(e.Timestamp), e.Host, e.Category, id, e.TimestampDesc, e.User, e.SrcIp, e.SrcHost, e.Process, e.ParentProcess,
                e.CommandLine, Formats.Clean(e.Message), Formats.Tags(e), e.Source, rec, e.File);
    }

    public override void Complete(RunOutput output) { }

    public override void Dispose()
    {
        _table.Dispose();
        _w.Dispose();
        base.Dispose();
    }
}

/// <summary>The timeline page: keeps only the highlighted rows (bounded) while streaming, writes at the end.</summary>
public sealed class TimelineHtmlSink(SinkTarget target) : StreamSink(target)
{
    private readonly HighlightedRows _rows = new();

    public override void Row(TimelineEvent e) => _rows.Add(e);

    public override void Complete(RunOutput output)
    {
        if (output.Timeline is not { } result) return;
        _rows.CopyTo(result);
        using var w = new StreamWriter(Stream, new UTF8Encoding(false), leaveOpen: true);
        w.Write(TimelineHtml.Page(result));
    }
}

/// <summary>The tagged rows an HTML view shows, bounded, in time order.</summary>
public sealed class HighlightedRows
{
    private readonly List<TimelineEvent> _rows = [];

    public void Add(TimelineEvent e)
    {
        if (e.Tags.Count > 0 && _rows.Count < TimelineHtml.MaxRowsShown) _rows.Add(e);
    }

    public void CopyTo(TimelineResult result)
    {
        if (_rows.Count == 0) return;
        result.Highlighted.Clear();
        result.Highlighted.AddRange(_rows);
    }
}

/// <summary>process-trees.txt: the process trees of interest as indented text.</summary>
public sealed class ProcessTreesSink(SinkTarget target) : StreamSink(target)
{
    public override void Complete(RunOutput output)
    {
        if (output.Timeline is not { } r) return;
        using var w = new StreamWriter(Stream, new UTF8Encoding(false), leaveOpen: true);
        // Command lines are the intruder's text: each tree line keeps its shape, control characters are shown as escapes.
        w.Write(TextSafety.ForTerminal(r.Processes.ToText(), keepNewlines: true));
    }
}

/// <summary>summary.json of a timeline: scope statements, the administrator access summary, statistics, notes, coverage and provenance.</summary>
public sealed class TimelineSummarySink(SinkTarget target) : StreamSink(target)
{
    public override void Complete(RunOutput output)
    {
        if (output.Timeline is not { } r) return;
        using var w = new Utf8JsonWriter(Stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.WriteStartObject();
        if (r.Provenance is { } p) Scan.SummaryJson.WriteProvenance(w, p);
        w.WriteStartArray("scope");
        foreach (var s in r.Admin.Statements) { w.WriteStartObject(); w.WriteString("id", s.Id); w.WriteString("text", s.Text); w.WriteEndObject(); }
        w.WriteEndArray();
        w.WriteStartArray("accounts");
        foreach (var a in r.Admin.Accounts)
        {
            w.WriteStartObject();
            w.WriteString("account", a.Account);
            Strings(w, "names", a.Names);
            w.WriteBoolean("privileged", a.Privileged);
            w.WriteBoolean("in_webshell_tree", a.InWebShellTree);
            w.WriteBoolean("created", a.Created);
            w.WriteBoolean("added_to_privileged_group", a.AddedToPrivilegedGroup);
            w.WriteStartObject("logons_by_type"); foreach (var (k, v) in a.LogonsByType) w.WriteNumber(k, v); w.WriteEndObject();
            w.WriteStartObject("privileged_logons_by_type"); foreach (var (k, v) in a.PrivilegedLogonsByType) w.WriteNumber(k, v); w.WriteEndObject();
            w.WriteNumber("special_privileges", a.SpecialPrivileges);
            w.WriteNumber("failed_logons", a.FailedLogons);
            w.WriteNumber("explicit_credential_uses", a.ExplicitCredentialUses);
            Strings(w, "hosts", a.Hosts);
            Strings(w, "source_ips", a.SourceIps);
            Strings(w, "source_hosts", a.SourceHosts);
            Strings(w, "cmdlets", a.Cmdlets);
            w.WriteNumber("web_requests", a.WebRequests);
            Strings(w, "web_source_ips", a.WebSourceIps);
            Strings(w, "changes", a.Changes);
            if (a.First is { } f) w.WriteString("first_seen", f.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
            if (a.Last is { } l) w.WriteString("last_seen", l.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
            if (a.FirstEvidence is { } fe) w.WriteString("first_evidence", fe);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        var st = r.Stats;
        w.WriteStartObject("stats");
        w.WriteNumber("evtx_files", st.EvtxFiles); w.WriteNumber("records", st.Records); w.WriteNumber("rows", st.RowsWritten);
        w.WriteNumber("log_files", st.LogFiles); w.WriteNumber("log_lines", st.LogLines);
        w.WriteNumber("unmapped_records", st.Unmapped); w.WriteNumber("filtered_records", st.Filtered); w.WriteNumber("bad_crc_records", st.BadCrcRecords);
        w.WriteNumber("finding_rows", st.FindingRows); w.WriteNumber("findings", r.Findings.Count); w.WriteNumber("sort_runs_spilled", st.SpillRuns);
        w.WriteNumber("seconds", Math.Round(st.Elapsed.TotalSeconds, 3));
        w.WriteEndObject();
        Strings(w, "notes", r.Notes);
        Scan.SummaryJson.WriteCoverage(w, r.Coverage, null);
        w.WriteEndObject();
    }

    private static void Strings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }
}

/// <summary>The console view of a timeline: what it holds, the scope statements, the notes.</summary>
public sealed class TimelineConsoleSink(SinkTarget target) : StreamSink(target)
{
    public override void Complete(RunOutput output)
    {
        if (output.Timeline is not { } result) return;
        using var w = new StreamWriter(Stream, new UTF8Encoding(false), leaveOpen: true);
        var st = result.Stats;
        w.WriteLine(TextSafety.ForTerminal(
            $"exir timeline: {st.RowsWritten:N0} rows from {st.EvtxFiles:N0} event log file(s) ({st.Records:N0} records) and {st.LogFiles:N0} IIS/Exchange log(s) ({st.LogLines:N0} lines), " +
            $"{st.FindingRows:N0} scan finding(s) merged, in {st.Elapsed.TotalSeconds:F1} s" + (st.SpillRuns > 0 ? $" ({st.SpillRuns} sort runs spilled to disk)" : "")));
        foreach (var s in result.Admin.Statements) w.WriteLine("  " + TextSafety.ForTerminal(s.Text));
        w.WriteLine($"  {result.Findings.Count} finding(s), {result.Processes.Roots.Count} process tree(s) of interest, {result.Admin.Accounts.Count} account(s) in the access summary.");
        foreach (var f in result.Findings.GroupBy(f => f.RuleId).OrderByDescending(g => g.Max(f => f.Severity)).Take(20))
            w.WriteLine(TextSafety.ForTerminal($"    {g(f)}"));
        foreach (var note in result.Notes) w.WriteLine("  note: " + TextSafety.ForTerminal(note));
        if (result.Coverage.IssueCounts.Count > 0)
            w.WriteLine("  input problems: " + string.Join(", ", result.Coverage.IssueCounts.Select(kv => $"{kv.Value} {kv.Key}")));
        if (output.OutDirectory is null) w.WriteLine("  (--out DIR writes the Timesketch JSONL and CSV, the HTML view, the findings and the summary)");

        static string g(IGrouping<string, Finding> f) => $"{f.Max(x => x.Severity).ToWire(),-8} {f.Count(),5}  {f.First().Title} ({f.Key})";
    }
}
