using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Exir.Reporting;
using Exir.Timeline;

namespace Exir.Cli.Commands;

/// <summary>
/// exir timeline PATH...: one sorted timeline of the Windows event logs of several hosts, with process
/// trees, the administrator access summary and log-tampering findings, as Timesketch JSONL/CSV, plain CSV and HTML.
/// </summary>
public static class TimelineCommand
{
    public static readonly string[] Formats = ["jsonl", "timesketch", "csv", "html"];

    public static Command Create()
    {
        var paths = new Argument<string[]>("PATH") { Description = "Evidence of one or more hosts: folders, .zip collections or single .evtx files", Arity = ArgumentArity.OneOrMore };
        var outDir = new Option<string>("--out", "-o") { Description = "Output folder (created)", DefaultValueFactory = _ => "exir-timeline" };
        var format = new Option<string[]>("--format", "-f") { Description = "Outputs: jsonl (Timesketch JSONL), timesketch (Timesketch CSV), csv (spreadsheet-safe CSV), html; repeat or comma-separate; default all", AllowMultipleArgumentsPerToken = true };
        var since = new Option<string?>("--since") { Description = "Only events at or after this UTC time (ISO 8601, e.g. 2021-03-01 or 2021-03-01T12:00:00Z)" };
        var until = new Option<string?>("--until") { Description = "Only events at or before this UTC time" };
        var host = new Option<string[]>("--host") { Description = "Only these hosts (full or short name); repeatable", AllowMultipleArgumentsPerToken = true };
        var category = new Option<string[]>("--category") { Description = "Only rows of these categories (logon, process, powershell, exchange-cmdlet, service, task, account-change, log-tamper, finding, ...); repeatable", AllowMultipleArgumentsPerToken = true };
        var findings = new Option<string[]>("--findings") { Description = "findings.jsonl of exir scan to merge into the timeline; repeatable", AllowMultipleArgumentsPerToken = true };
        var rules = new Option<string?>("--rules") { Description = "Folder overriding the built-in rules/ data" };
        var cmd = new Command("timeline", "Merge the Windows event logs of several hosts into one timeline with process trees, administrator access and log-tampering checks")
        {
            paths, outDir, format, since, until, host, category, findings, rules,
        };
        cmd.SetAction(parse => Run(
            parse.GetValue(paths) ?? [], parse.GetValue(outDir) ?? "exir-timeline", parse.GetValue(format) ?? [],
            parse.GetValue(since), parse.GetValue(until), parse.GetValue(host) ?? [], parse.GetValue(category) ?? [],
            parse.GetValue(findings) ?? [], parse.GetValue(rules), Console.Out));
        return cmd;
    }

    /// <summary>Exit 1 when findings (hunts or tampering) were made, 0 otherwise; usage errors throw <see cref="UsageException"/>.</summary>
    public static int Run(IReadOnlyList<string> paths, string outDir, IReadOnlyList<string> formats, string? since, string? until,
        IReadOnlyList<string> hosts, IReadOnlyList<string> categories, IReadOnlyList<string> findingsFiles, string? rulesDir, TextWriter stdout)
    {
        var chosen = formats.SelectMany(f => f.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Select(f => f.ToLowerInvariant()).Distinct().ToList();
        if (chosen.Count == 0) chosen = [.. Formats];
        foreach (var f in chosen)
            if (!Formats.Contains(f)) throw new UsageException($"unknown --format '{f}' (use {string.Join(", ", Formats)})");
        foreach (var f in findingsFiles)
            if (!File.Exists(f)) throw new UsageException($"--findings file not found: {f}");
        // Checked before anything is written, so a typo leaves no empty output behind.
        foreach (var p in paths)
            if (!File.Exists(p) && !Directory.Exists(p)) throw new UsageException($"evidence path not found: {p}");
        var options = new TimelineOptions
        {
            Paths = paths,
            Since = ParseTime(since, "--since"),
            Until = ParseTime(until, "--until", endOfDay: true),
            Hosts = Split(hosts),
            Categories = Split(categories),
            FindingsFiles = findingsFiles,
            RulesDirectory = rulesDir,
        };
        if (options.Since > options.Until) throw new UsageException("--since is after --until");

        Directory.CreateDirectory(outDir);
        var sinks = new List<ITimelineSink>();
        var written = new List<string>();
        Stream Create(string name) { var p = Path.Combine(outDir, name); written.Add(p); return new FileStream(p, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16); }
        TimelineResult result;
        try
        {
            if (chosen.Contains("jsonl")) sinks.Add(new TimesketchJsonlSink(Create("timeline.jsonl")));
            if (chosen.Contains("timesketch")) sinks.Add(new CsvSink(Create("timeline.timesketch.csv"), timesketch: true));
            if (chosen.Contains("csv")) sinks.Add(new CsvSink(Create("timeline.csv"), timesketch: false));
            if (chosen.Contains("html")) sinks.Add(new HtmlSink(Create("timeline.html")));
            result = new TimelineBuilder(options).Run(sinks);
        }
        finally
        {
            foreach (var s in sinks) s.Dispose();
        }

        using (var f = Create("findings.jsonl")) JsonlWriter.Write(f, result.Findings);
        File.WriteAllText(Path.Combine(outDir, "process-trees.txt"), result.Processes.ToText(), new UTF8Encoding(false));
        written.Add(Path.Combine(outDir, "process-trees.txt"));
        using (var f = Create("summary.json")) WriteSummary(f, result);

        var st = result.Stats;
        stdout.WriteLine($"exir timeline: {st.RowsWritten:N0} rows from {st.EvtxFiles:N0} event log file(s) ({st.Records:N0} records) and {st.LogFiles:N0} IIS/Exchange log(s) ({st.LogLines:N0} lines), " +
                         $"{st.FindingRows:N0} scan finding(s) merged, in {st.Elapsed.TotalSeconds:F1} s" +
                         (st.SpillRuns > 0 ? $" ({st.SpillRuns} sort runs spilled to disk)" : ""));
        foreach (var s in result.Admin.Statements) stdout.WriteLine("  " + s.Text);
        stdout.WriteLine($"  {result.Findings.Count} finding(s), {result.Processes.Roots.Count} process tree(s) of interest, {result.Admin.Accounts.Count} account(s) in the access summary.");
        foreach (var note in result.Notes) stdout.WriteLine("  note: " + note);
        if (result.Coverage.IssueCounts.Count > 0)
            stdout.WriteLine("  input problems: " + string.Join(", ", result.Coverage.IssueCounts.Select(kv => $"{kv.Value} {kv.Key}")));
        foreach (var p in written) stdout.WriteLine("  wrote " + p);
        return result.Findings.Count > 0 ? ExitCodes.Findings : ExitCodes.Clean;
    }

    private static List<string> Split(IReadOnlyList<string> values) =>
        values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();

    internal static DateTimeOffset? ParseTime(string? text, string option, bool endOfDay = false)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
            return new DateTimeOffset(day.ToDateTime(endOfDay ? new TimeOnly(23, 59, 59, 999, 999) : TimeOnly.MinValue), TimeSpan.Zero);
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t))
            return t;
        throw new UsageException($"{option}: cannot read '{text}' as a UTC date or time (e.g. 2021-03-02 or 2021-03-02T14:00:00Z)");
    }

    private static void WriteSummary(Stream output, TimelineResult r)
    {
        using var w = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.WriteStartObject();
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
        w.WriteNumber("finding_rows", st.FindingRows); w.WriteNumber("sort_runs_spilled", st.SpillRuns); w.WriteNumber("seconds", Math.Round(st.Elapsed.TotalSeconds, 3));
        w.WriteEndObject();
        Strings(w, "notes", r.Notes);
        w.WriteEndObject();
    }

    private static void Strings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }
}
