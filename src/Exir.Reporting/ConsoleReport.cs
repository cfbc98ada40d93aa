using Exir.Core.Findings;
using Spectre.Console;

namespace Exir.Reporting;

/// <summary>
/// The console view: findings table, incidents, coverage, and the verdict in plain words at the end.
/// All evidence passes through <see cref="TextSafety.ForTerminal"/> and markup escaping.
/// </summary>
public static class ConsoleReport
{
    private const int MaxRows = 60;

    public static void Write(IAnsiConsole console, ScanResult r, string? outDirectory)
    {
        if (r.Findings.Count > 0)
        {
            var table = new Table().Border(TableBorder.Rounded).Title("[bold]Findings[/]");
            table.AddColumn("Time (UTC)");
            table.AddColumn("Sev");
            table.AddColumn("Finding");
            table.AddColumn("Where");
            table.AddColumn("Client");
            table.AddColumn("Inc");
            foreach (var f in r.Findings.OrderByDescending(f => f.Severity).ThenBy(f => f.Timestamp ?? DateTimeOffset.MaxValue).Take(MaxRows))
            {
                table.AddRow(
                    S(f.Timestamp is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss") : "-"),
                    $"[{Color(f.Severity)}]{S(f.Severity.ToWire())}[/]",
                    S(f.Title) + (f.Cves.Count > 0 ? $"\n[grey]{S(string.Join(", ", f.Cves))}[/]" : ""),
                    S(TextSafety.Truncate(f.Artifact, 80)) + (f.Line is { } l ? $":{l}" : ""),
                    S(f.ClientIp ?? ""),
                    S(f.Incident ?? ""));
            }
            console.Write(table);
            if (r.Findings.Count > MaxRows)
                console.MarkupLine($"[grey]{r.Findings.Count - MaxRows} more finding(s) not shown{(outDirectory is null ? "; use --out DIR or --format jsonl for all" : $"; all in {S(outDirectory)}")}.[/]");
        }

        foreach (var i in r.Incidents)
        {
            var panel = new Panel(S(i.Story))
                .Header($"{S(i.Id)}: {S(i.Outcome.ToWire())}, {S(i.Severity.ToWire())}, clients {S(i.ClientIps.Count == 0 ? "-" : string.Join(", ", i.ClientIps))}")
                .Border(BoxBorder.Rounded);
            console.Write(panel);
        }

        if (r.PatchStatus.Count > 0)
        {
            console.MarkupLine("[bold]Patch status[/]");
            foreach (var line in r.PatchStatus) console.MarkupLine("  " + S(line));
        }

        var c = r.Coverage;
        console.MarkupLine($"[bold]Coverage[/]: {c.FilesSeen:N0} files seen, {c.FilesRead:N0} read, {c.BytesRead / 1048576.0:N1} MiB");
        foreach (var f in c.Families.Values.OrderBy(f => f.Family, StringComparer.Ordinal))
            console.MarkupLine($"  {S(f.Family)}: {f.Files} file(s), {f.Lines:N0} lines, {f.MalformedLines:N0} malformed, " +
                               $"{S(f.First is { } a ? a.UtcDateTime.ToString("yyyy-MM-dd") : "?")} .. {S(f.Last is { } b ? b.UtcDateTime.ToString("yyyy-MM-dd") : "?")}");
        foreach (var (k, v) in c.ChecksNotRun) console.MarkupLine($"  [yellow]not run[/]: {S(k)}: {S(v)}");
        if (c.IssueCounts.Count > 0)
            console.MarkupLine("  input problems: " + S(string.Join(", ", c.IssueCounts.Select(kv => $"{kv.Key} {kv.Value:N0}"))));

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

    /// <summary>One plain line for stderr when stdout carries machine-readable output.</summary>
    public static string VerdictLine(ScanResult r) =>
        TextSafety.ForTerminal($"VERDICT: {r.Verdict.Label}: {r.Verdict.Headline} {r.Verdict.Reason} Coverage: {r.Verdict.CoverageCaveat}");

    private static string S(string text) => Markup.Escape(TextSafety.ForTerminal(text));

    private static string Color(Severity s) => s switch
    {
        Severity.Critical => "bold red", Severity.High => "red", Severity.Medium => "yellow", Severity.Low => "blue", _ => "grey",
    };
}
