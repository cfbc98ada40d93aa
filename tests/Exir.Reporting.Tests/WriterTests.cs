using Exir.Core;
using System.Text;
using System.Text.Json;
using Exir.Core.Findings;
using Exir.Reporting.Outputs;
using Exir.Reporting.Scan;

namespace Exir.Reporting.Tests;

public class WriterTests
{
    [Fact]
    public void JsonlCarriesTheFindingContractFieldNames()
    {
        var r = ReportFixtures.Hostile();
        using var ms = new MemoryStream();
        FindingJson.WriteLines(ms, r.Findings);
        var lines = Encoding.UTF8.GetString(ms.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        using var doc = JsonDocument.Parse(lines[0]);
        var o = doc.RootElement;
        foreach (var name in new[] { "rule_id", "title", "severity", "cves", "attack", "host", "artifact", "line", "timestamp", "client_ip", "evidence", "details", "incident" })
            Assert.True(o.TryGetProperty(name, out _), name);
        Assert.Equal("critical", o.GetProperty("severity").GetString());
        Assert.Equal(42, o.GetProperty("line").GetInt64());
        Assert.Equal("2021-03-03T05:42:01.123Z", o.GetProperty("timestamp").GetString());
        Assert.Equal("CVE-2021-26855", o.GetProperty("cves")[0].GetString());
        Assert.Equal(ReportFixtures.ScriptUserAgent, o.GetProperty("details").GetProperty("user_agent").GetString());
        using var second = JsonDocument.Parse(lines[1]);
        Assert.Equal(JsonValueKind.Null, second.RootElement.GetProperty("line").ValueKind);
        Assert.Equal(JsonValueKind.Null, second.RootElement.GetProperty("timestamp").ValueKind);
    }

    [Fact]
    public void CsvNeutralisesFormulasAndQuotes()
    {
        var r = ReportFixtures.Hostile();
        var ms = new MemoryStream();
        using (var sink = new FindingsCsvSink(new SinkTarget(ms, IsConsole: true))) sink.Complete(new RunOutput { Verb = Verb.Scan, Scan = r });
        var rows = ParseCsv(Encoding.UTF8.GetString(ms.ToArray()));
        Assert.Equal(FindingsCsvSink.Columns, rows[0]);
        Assert.Equal(3, rows.Count);
        var title = rows[2][Array.IndexOf(FindingsCsvSink.Columns, "title")];
        Assert.Equal("'" + ReportFixtures.Formula, title);
        var artifact = rows[2][Array.IndexOf(FindingsCsvSink.Columns, "artifact")];
        Assert.StartsWith("'-cmd", artifact);
        foreach (var row in rows.Skip(1))
            foreach (var cell in row)
                Assert.False(cell.Length > 0 && "=+-@\t\r".Contains(cell[0]), $"dangerous cell: {cell}");
    }

    [Fact]
    public void TerminalTextHasNoEscapeOrControlCharacters()
    {
        var safe = TextSafety.ForTerminal(ReportFixtures.TerminalEscape + "\u202Efdp.exe");
        Assert.DoesNotContain('\u001b', safe);
        Assert.DoesNotContain('\u0007', safe);
        Assert.DoesNotContain('\u202E', safe);
        // Shown, not stripped: the analyst sees what the sequence carried, the terminal obeys none of it.
        Assert.Equal(@"\x1b]0;owned\x07\x1b[2J\x1b[31mred\u202efdp.exe", safe);
    }

    [Fact]
    public void ConsoleReportStripsEscapesAndEndsWithVerdict()
    {
        var r = ReportFixtures.Hostile();
        var sw = new StringWriter();
        var console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings
        {
            Ansi = Spectre.Console.AnsiSupport.No, ColorSystem = Spectre.Console.ColorSystemSupport.NoColors,
            Out = new Spectre.Console.AnsiConsoleOutput(sw),
        });
        ConsoleReport.Write(console, r, null);
        var text = sw.ToString();
        Assert.DoesNotContain('\u001b', text);
        Assert.Contains("VERDICT: COMPROMISED", text);
        Assert.True(text.LastIndexOf("VERDICT", StringComparison.Ordinal) > text.LastIndexOf("Coverage", text.IndexOf("VERDICT", StringComparison.Ordinal), StringComparison.Ordinal) - 1);
    }

    [Fact]
    public void SummaryRecordsProvenanceVerdictAndCoverage()
    {
        var r = ReportFixtures.Hostile();
        using var ms = new MemoryStream();
        SummaryJson.Write(ms, r);
        using var doc = JsonDocument.Parse(ms.ToArray());
        var root = doc.RootElement;
        Assert.Equal("0.1.0", root.GetProperty("provenance").GetProperty("tool_version").GetString());
        Assert.Equal("3 files, sha256:abc", root.GetProperty("provenance").GetProperty("rules_version").GetString());
        Assert.Equal("COMPROMISED", root.GetProperty("verdict").GetProperty("label").GetString());
        var fam = root.GetProperty("coverage").GetProperty("log_families")[0];
        Assert.Equal("HttpProxy/Ecp", fam.GetProperty("family").GetString());
        Assert.Equal("2021-02-21T05:42:01.123Z", fam.GetProperty("first").GetString());
        Assert.False(fam.GetProperty("reaches_attack_window").GetBoolean());
        Assert.Equal("no Application log", root.GetProperty("coverage").GetProperty("checks_not_run").GetProperty("CVE-2021-26857").GetString());
        Assert.Equal(new string('a', 64), root.GetProperty("coverage").GetProperty("file_hashes_sha256").GetProperty("logs/a.log").GetString());
        Assert.Equal(1, root.GetProperty("counts").GetProperty("by_severity").GetProperty("critical").GetInt32());
    }

    internal static List<string[]> ParseCsv(string text) => Exir.Tests.CsvText.Parse(text).Select(r => r.ToArray()).ToList();
}
