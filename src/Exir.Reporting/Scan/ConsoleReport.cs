using System.Text;
using Exir.Core;
using Exir.Core.Findings;
using Exir.Reporting.Outputs;
using Exir.Reporting.TimelineOutputs;
using Spectre.Console;

namespace Exir.Reporting.Scan;

/// <summary>The console view of a scan (--format table, the default).</summary>
public sealed class ScanConsoleSink(SinkTarget target) : StreamSink(target)
{
    public override void Complete(RunOutput output)
    {
        if (output.Scan is not { } r) return;
        // On a terminal Spectre sizes and colours the view; into a pipe or file it is plain text, 100 columns.
        IAnsiConsole console;
        StreamWriter? writer = null;
        if (IsConsole && !Console.IsOutputRedirected) console = AnsiConsole.Console;
        else
        {
            writer = new StreamWriter(Stream, new UTF8Encoding(false), leaveOpen: true);
            console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Out = new AnsiConsoleOutput(writer), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No,
            });
            console.Profile.Width = 100;
        }
        ConsoleReport.Write(console, r, output.OutDirectory);
        writer?.Dispose();
    }
}

/// <summary>
/// The console view: findings table, incidents, coverage, and the verdict in plain words at the end.
/// All evidence passes through <see cref="TextSafety.ForTerminal"/> and markup escaping.
/// </summary>
public static class ConsoleReport
{
    private const int MaxRows = 60;
    /// <summary>Incident stories printed; the rest are in report.html and summary.json (a flood can make thousands).</summary>
    private const int MaxIncidents = 20;

    public static void Write(IAnsiConsole console, ScanResult r, string? outDirectory)
    {
        if (r.Findings.Count > 0)
        {
            // Grouped by rule: hundreds of SSRF lines are one row with a count; every line is in the --out files.
            var table = new Table().Border(TableBorder.Rounded).Title($"[bold]Findings ({r.TotalFindings:N0})[/]");
            var left = r.Overflow?.ByRule;
            bool many = r.Hosts.Count > 1;
            table.AddColumn("Sev");
            table.AddColumn("Finding");
            table.AddColumn(new TableColumn("N").RightAligned());
            table.AddColumn("First (UTC)");
            table.AddColumn("Example");
            foreach (var g in r.Findings.GroupBy(f => f.RuleId)
                         .OrderByDescending(g => g.Max(f => f.Severity)).ThenBy(g => g.Min(f => f.Timestamp ?? DateTimeOffset.MaxValue)).Take(MaxRows))
            {
                var first = g.OrderBy(f => f.Timestamp ?? DateTimeOffset.MaxValue).First();
                var clients = g.Select(f => f.ClientIp).Where(ip => !string.IsNullOrEmpty(ip)).Distinct().ToList();
                table.AddRow(
                    $"[{Color(g.Max(f => f.Severity))}]{S(g.Max(f => f.Severity).ToWire())}[/]",
                    S(first.Title) + $"\n[grey]{S(first.RuleId)}[/]",
                    (g.Count() + (left?.GetValueOrDefault(g.Key) ?? 0)).ToString("N0"),
                    FirstTime(g),
                    (many ? S(first.Host ?? "") + " " : "") + S(ShortArtifact(first.Artifact) + (first.Line is { } l ? $":{l}" : "")) +
                    (clients.Count > 0 ? $"\n[grey]from {S(string.Join(", ", clients.Take(3)))}{(clients.Count > 3 ? $" +{clients.Count - 3}" : "")}[/]" : ""));
            }
            console.Write(table);
            console.MarkupLine(outDirectory is null
                ? "[grey]Every finding with its evidence: --out DIR (report.html, findings.jsonl, findings.csv) or --format jsonl.[/]"
                : $"[grey]Every finding with its evidence is in {S(outDirectory)} (report.html, findings.jsonl, findings.csv).[/]");
        }

        if (r.Overflow is { } o)
            console.MarkupLine($"[yellow]{o.Count:N0} finding(s) past the first {o.KeptPerRule:N0} per rule are left out of the report and its incidents; " +
                               "every one is in findings.jsonl and findings.csv.[/]");
        if (r.Incidents.Count > MaxIncidents)
            console.MarkupLine($"[grey]{r.Incidents.Count:N0} incidents: the first {MaxIncidents} are shown; every one is in report.html and summary.json.[/]");
        foreach (var i in r.Incidents.Take(MaxIncidents))
        {
            var panel = new Panel(string.Join("\n", i.Story.Split('\n').Select(S)))
                .Header($"{S(i.Id)}: {S(i.Outcome.ToWire())}, {S(i.Severity.ToWire())}, " +
                        (r.Hosts.Count > 1 ? $"hosts {S(string.Join(", ", i.Hosts))}, " : "") +
                        $"clients {S(i.ClientIps.Count == 0 ? "-" : string.Join(", ", i.ClientIps))}")
                .Border(BoxBorder.Rounded);
            console.Write(panel);
        }

        foreach (var h in r.Hosts)
        {
            var who = r.Hosts.Count > 1 ? $" of {S(h.Name)}" : "";
            if (h.PatchStatus is not null)
            {
                console.MarkupLine($"[bold]Patch status{who}[/]");
                foreach (var line in PatchStatusText.Lines(h.PatchStatus)) console.MarkupLine("  " + S(line));
            }
            var c = h.Coverage;
            console.MarkupLine($"[bold]Coverage{who}[/]: {c.FilesSeen:N0} files seen, {c.FilesRead:N0} read, {c.BytesRead / 1048576.0:N1} MiB");
            foreach (var f in c.Families.Values.OrderBy(f => f.Family, StringComparer.Ordinal))
                console.MarkupLine($"  {S(f.Family)}: {f.Files} file(s), {f.Lines:N0} lines, {f.MalformedLines:N0} malformed, " +
                                   $"{S(f.First is { } a ? a.UtcDateTime.ToString("yyyy-MM-dd") : "?")} .. {S(f.Last is { } b ? b.UtcDateTime.ToString("yyyy-MM-dd") : "?")}");
            foreach (var (k, v) in c.ChecksNotRun) console.MarkupLine($"  [yellow]not run[/]: {S(k)}: {S(v)}");
            if (c.IssueCounts.Count > 0)
                console.MarkupLine("  input problems: " + S(string.Join(", ", c.IssueCounts.Select(kv => $"{kv.Key} {kv.Value:N0}"))));
        }

        if (r.NextSteps.Count > 0)
        {
            console.MarkupLine("[bold]What to do now[/]");
            int n = 0;
            foreach (var step in r.NextSteps) console.MarkupLine($"  {++n}. {S(step)}");
        }

        var color = r.Verdict.Kind switch { VerdictKind.Compromised => "red", VerdictKind.Attempted => "yellow", _ => "green" };
        console.Write(new Panel($"[bold]{S(r.Verdict.Headline)}[/]\n{S(r.Verdict.Reason)}\n[grey]Coverage: {S(r.Verdict.CoverageCaveat)}[/]")
            .Header($"[bold {color}] VERDICT: {S(r.Verdict.Label)} [/]")
            .BorderColor(color switch { "red" => Spectre.Console.Color.Red, "yellow" => Spectre.Console.Color.Yellow, _ => Spectre.Console.Color.Green })
            .Border(BoxBorder.Double));
    }

    /// <summary>The first event time of a group; a file's modification time is marked as such (it may be the copy's time).</summary>
    private static string FirstTime(IEnumerable<Finding> group)
    {
        var evt = group.Where(f => f.HasEventTime).Select(f => f.Timestamp!.Value).DefaultIfEmpty().Min();
        if (evt != default) return S(evt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss"));
        var file = group.Where(f => f.Timestamp is not null).Select(f => f.Timestamp!.Value).DefaultIfEmpty().Min();
        return file != default ? $"[grey]file modified {S(file.UtcDateTime.ToString("yyyy-MM-dd HH:mm"))}[/]" : "-";
    }

    /// <summary>One plain line for stderr when stdout carries machine-readable output.</summary>
    public static string VerdictLine(ScanResult r) =>
        TextSafety.ForTerminal($"VERDICT: {r.Verdict.Label}: {r.Verdict.Headline} {r.Verdict.Reason} Coverage: {r.Verdict.CoverageCaveat}");

    /// <summary>The file name and its folder: enough to recognise it in a narrow terminal.</summary>
    private static string ShortArtifact(string artifact)
    {
        var parts = artifact.Split('/');
        return parts.Length <= 2 ? artifact : ".../" + parts[^2] + "/" + parts[^1];
    }

    private static string S(string text) => Markup.Escape(TextSafety.ForTerminal(text));

    private static string Color(Severity s) => s switch
    {
        Severity.Critical => "bold red", Severity.High => "red", Severity.Medium => "yellow", Severity.Low => "blue", _ => "grey",
    };
}
