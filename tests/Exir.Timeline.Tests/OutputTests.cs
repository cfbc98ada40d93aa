using Exir.Tests;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Exir.Core.Coverage;
using Exir.Reporting.Outputs;
using Exir.Reporting.TimelineOutputs;
using Exir.Timeline;
using static Exir.Timeline.Tests.Events;

namespace Exir.Timeline.Tests;

/// <summary>Timesketch import rules and the safety of every output against hostile evidence.</summary>
public class OutputTests
{
    internal static readonly Regex TimesketchDateTime = new(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}:\d{2}$");
    private const string Hostile = "=HYPERLINK(\"http://evil\")<script>alert(1)</script><img src=x onerror=alert(2)>\"',\r\n\tnext";

    internal static TimelineEvent HostileRow(int i) => new()
    {
        Timestamp = T0.AddTicks(1234567 + i), TimestampDesc = "Process created", Host = "EX01<b>", Source = "Security", Category = "process",
        EventId = 4688, User = "+cmd|' /C calc'!A0", Process = "@SUM(1+1)", CommandLine = Hostile, Message = Hostile, RecordId = 42 + i,
        File = "h/Security.evtx", Tags = ["webshell-child"], Fields = [new("evt_CommandLine", Hostile), new("logon_type", "-3")],
    };

    /// <summary>Checks one Timesketch JSONL line: required fields present and well-formed, every value flat.</summary>
    internal static void AssertTimesketchLine(string line)
    {
        using var doc = JsonDocument.Parse(line);
        var o = doc.RootElement;
        Assert.Equal(JsonValueKind.Object, o.ValueKind);
        Assert.False(string.IsNullOrEmpty(o.GetProperty("message").GetString()), "message must not be empty: " + line);
        Assert.False(string.IsNullOrEmpty(o.GetProperty("timestamp_desc").GetString()));
        var dt = o.GetProperty("datetime").GetString()!;
        Assert.Matches(TimesketchDateTime, dt);
        Assert.True(DateTimeOffset.TryParse(dt, CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed));
        Assert.Equal(TimeSpan.Zero, parsed.Offset);
        Assert.Equal((parsed.UtcTicks - DateTime.UnixEpoch.Ticks) / 10, o.GetProperty("timestamp").GetInt64());
        foreach (var p in o.EnumerateObject())
            Assert.True(p.Value.ValueKind is JsonValueKind.String or JsonValueKind.Number, $"field {p.Name} is not flat");
    }

    [Fact]
    public void Timesketch_jsonl_rows_have_the_required_fields_in_import_format()
    {
        var ms = new MemoryStream();
        using (var sink = new TimesketchJsonlSink(To(ms))) { sink.Row(HostileRow(0)); sink.Row(HostileRow(1)); }
        var lines = Encoding.UTF8.GetString(ms.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        foreach (var l in lines) AssertTimesketchLine(l);
        using var doc = JsonDocument.Parse(lines[0]);
        Assert.Equal("2021-03-02T10:00:00.123456+00:00", doc.RootElement.GetProperty("datetime").GetString());
        Assert.Equal(Hostile, doc.RootElement.GetProperty("command_line").GetString()); // evidence kept exactly
        Assert.Equal(42, doc.RootElement.GetProperty("record_id").GetInt64());
        Assert.Equal("webshell-child", doc.RootElement.GetProperty("exir_tags").GetString());
    }

    [Fact]
    public void Timesketch_csv_has_the_required_columns_and_every_row_parses_to_them()
    {
        var ms = new MemoryStream();
        using (var sink = new TimelineCsvSink(To(ms), timesketch: true)) { sink.Row(HostileRow(0)); sink.Row(HostileRow(1)); }
        var rows = ParseCsv(Encoding.UTF8.GetString(ms.ToArray()));
        var header = rows[0];
        Assert.Equal(["message", "datetime", "timestamp_desc"], header.Take(3));
        Assert.Equal(3, rows.Count);
        foreach (var r in rows.Skip(1))
        {
            Assert.Equal(header.Count, r.Count);
            Assert.Matches(TimesketchDateTime, r[header.IndexOf("datetime")]);
            Assert.Equal(Hostile, r[header.IndexOf("message")]); // import copy is exact
        }
    }

    [Fact]
    public void Plain_csv_neutralises_formulas_in_every_cell()
    {
        var ms = new MemoryStream();
        using (var sink = new TimelineCsvSink(To(ms), timesketch: false)) sink.Row(HostileRow(0));
        var rows = ParseCsv(Encoding.UTF8.GetString(ms.ToArray()));
        Assert.Equal(2, rows.Count);
        Assert.Equal(rows[0].Count, rows[1].Count);
        foreach (var cell in rows[1])
            Assert.False(cell.Length > 0 && cell[0] is '=' or '+' or '-' or '@' or '\t' or '\r', "formula not neutralised: " + cell);
        Assert.Contains(rows[1], c => c.StartsWith("'=HYPERLINK"));
        Assert.Contains("'+cmd|' /C calc'!A0", rows[1]);
        Assert.Contains("'@SUM(1+1)", rows[1]);
    }

    [Fact]
    public void Html_escapes_evidence_and_loads_nothing_from_outside()
    {
        var result = TimelineResultFor([HostileRow(0), HostileRow(1)]);
        var ms = new MemoryStream();
        using (var sink = new TimelineHtmlSink(To(ms))) { sink.Row(HostileRow(0)); sink.Row(HostileRow(1)); sink.Complete(new RunOutput { Verb = Verb.Timeline, Timeline = result }); }
        var html = Encoding.UTF8.GetString(ms.ToArray());
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotMatch(new Regex(@"<[^>]*\son\w+\s*=", RegexOptions.IgnoreCase), html);
        Assert.DoesNotMatch(new Regex(@"(src|href)\s*=\s*[""']?\s*(https?:|//)", RegexOptions.IgnoreCase), html);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html);
        Assert.Contains("EX01&lt;b&gt;", html);
        Assert.Contains("<svg", html); // the activity plot is inline
        Assert.Contains("Content-Security-Policy", html);
        var fragment = TimelineHtml.Fragment(result);
        Assert.StartsWith("<section class=\"exir-tl\">", fragment);
        Assert.DoesNotContain("<html", fragment);
    }

    [Fact]
    public void Activity_plot_stacks_events_per_hour_by_category()
    {
        var h = new ActivityHistogram();
        h.Add(T0, "logon"); h.Add(T0.AddMinutes(10), "logon"); h.Add(T0.AddMinutes(20), "process"); h.Add(T0.AddHours(3), "process");
        var svg = TimelineHtml.ActivitySvg(h);
        Assert.Equal(2, Regex.Matches(svg, "<g>").Count); // one bar per hour with events (10:00 and 13:00)
        Assert.Contains("2021-03-02 10:00Z (hour): 2 logon, 1 process", svg);
        Assert.Contains(">logon</text>", svg);
    }

    internal static TimelineResult TimelineResultFor(IEnumerable<TimelineEvent> rows)
    {
        var trees = new ProcessTreeBuilder();
        var admin = new AdminSummaryBuilder();
        var activity = new ActivityHistogram();
        foreach (var r in rows) { trees.Add(r); admin.Add(r); activity.Add(r.Timestamp, r.Category); }
        var forest = trees.Build(ProcessTreeRules.Load(Rules));
        return new TimelineResult
        {
            Admin = admin.Build(forest, ScopeTexts.Load(Rules)), Processes = forest, Findings = [], Activity = activity,
            Coverage = new CoverageReport(), Stats = new TimelineStats(),
        };
    }

    internal static List<List<string>> ParseCsv(string text) => CsvText.Parse(text);

    /// <summary>A sink target over a memory stream the test reads afterwards (a console target is flushed, not closed).</summary>
    internal static SinkTarget To(Stream s) => new(s, IsConsole: true);
}

public class BrokenTextTests
{
    [Fact]
    public void Lone_surrogates_in_evidence_pass_every_output_and_the_spill()
    {
        var row = OutputTests.HostileRow(0);
        row.Message = "bad \uD800 text \uDC00 end";
        row.CommandLine = "x\uDBFF";
        row.Fields.Add(new("evt_Weird", "\uDFFFz"));
        var json = new MemoryStream();
        using (var s = new TimesketchJsonlSink(OutputTests.To(json))) s.Row(row);
        var line = System.Text.Encoding.UTF8.GetString(json.ToArray()).Trim();
        OutputTests.AssertTimesketchLine(line);
        Assert.Contains("bad \uFFFD text \uFFFD end", line);
        using (var s = new TimelineCsvSink(OutputTests.To(new MemoryStream()), timesketch: true)) s.Row(row);
        using (var s = new TimelineCsvSink(OutputTests.To(new MemoryStream()), timesketch: false)) s.Row(row);
        using var sorter = new ExternalSorter(maxBuffered: 1, tempDirectory: Exir.Tests.TestPaths.NewTempDir());
        sorter.Add(row);
        sorter.Add(OutputTests.HostileRow(1));
        Assert.Equal(2, sorter.Merge().Count());
    }
}
