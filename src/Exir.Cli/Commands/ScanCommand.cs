using System.CommandLine;
using Exir.Core.Evidence;
using Exir.Detection;
using Exir.Detection.LocalServer;
using Exir.Detection.Pipeline;
using Exir.Reporting;
using Exir.Timeline;
using Spectre.Console;

namespace Exir.Cli.Commands;

public static class ScanCommand
{
    public static Command Create()
    {
        var path = new Argument<string?>("PATH")
        {
            Description = "Evidence: a mounted system drive, an Exchange install folder, a triage collection, a .zip of any of these, or one file. " +
                          "Omit on a Windows Exchange server to scan the local server.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var output = new Option<string?>("--out", "-o") { Description = "Write findings.jsonl, findings.csv, summary.json and report.html into this folder (never inside the evidence)" };
        var format = new Option<string>("--format", "-f") { Description = "What to print on stdout: table (default, with the verdict), json, jsonl, csv", DefaultValueFactory = _ => "table" };
        var json = new Option<bool>("--json") { Description = "Same as --format json" };
        var since = new Option<string?>("--since") { Description = "Only findings at or after this UTC time (e.g. 2021-01-01 or 2021-03-02T10:00:00Z)" };
        var until = new Option<string?>("--until") { Description = "Only findings at or before this UTC time" };
        var deep = new Option<bool>("--deep") { Description = "Run the file rules over every file of the drive, not only web and staging folders" };
        var hashAll = new Option<bool>("--hash-all") { Description = "Record the SHA-256 of every file read (default: files with findings)" };
        var rules = new Option<string?>("--rules") { Description = "Use the detection data in this folder instead of the built-in rules" };
        var knowledge = new Option<string?>("--knowledge") { Description = "Use the build tables in this folder instead of the built-in knowledge" };
        var yara = new Option<string[]>("--yara") { Description = "Extra YARA rule file or folder (repeatable), e.g. signature-base/yara", AllowMultipleArgumentsPerToken = false };
        var baseline = new Option<string?>("--baseline") { Description = "Baseline from 'exir baseline create' of a clean server of the same build: report added and changed web files" };
        var host = new Option<string?>("--host") { Description = "Host name to record in findings (default: from the evidence)" };
        var maxFile = new Option<long>("--max-file-mb") { Description = "Bytes read per file by content rules, in MiB", DefaultValueFactory = _ => 256 };
        var threads = new Option<int>("--threads") { Description = "Worker threads (default: all cores)", DefaultValueFactory = _ => Environment.ProcessorCount };
        var noProgress = new Option<bool>("--no-progress") { Description = "No progress bar on stderr" };
        var timeline = new Option<bool>("--timeline") { Description = "With --out: also build the forensic timeline of the evidence (event logs, IIS and Exchange logs) and embed its activity plot and highlights in report.html" };

        var cmd = new Command("scan", "Hunt for signs of compromise (ProxyLogon, ProxyShell, ProxyNotShell, OWASSRF, web shells, LSASS dumps, staged archives) " +
                                      "over an Exchange server or a collection of its evidence. Evidence is opened read-only.\n" +
                                      "Exit codes: 0 nothing found, 1 findings, 2 could not run.")
        {
            path, output, format, json, since, until, deep, hashAll, rules, knowledge, yara, baseline, host, maxFile, threads, noProgress, timeline,
        };
        cmd.SetAction(parse =>
        {
            var fmt = parse.GetValue(json) ? "json" : (parse.GetValue(format) ?? "table").ToLowerInvariant();
            if (fmt is not ("table" or "json" or "jsonl" or "csv")) throw new UsageException($"unknown format '{fmt}' (table, json, jsonl, csv)");
            var options = new ScanOptions
            {
                Since = ParseTime(parse.GetValue(since), "--since"),
                Until = ParseTime(parse.GetValue(until), "--until", endOfDay: true),
                Deep = parse.GetValue(deep),
                HashAll = parse.GetValue(hashAll),
                RulesDirectory = parse.GetValue(rules),
                KnowledgeDirectory = parse.GetValue(knowledge),
                ExtraYara = parse.GetValue(yara) ?? [],
                BaselinePath = parse.GetValue(baseline),
                Host = parse.GetValue(host),
                MaxBytesPerFile = Math.Max(1, parse.GetValue(maxFile)) << 20,
                Parallelism = Math.Clamp(parse.GetValue(threads), 1, 256),
            };
            if (options.BaselinePath is { } b && !File.Exists(b)) throw new UsageException($"--baseline file not found: {b}");
            foreach (var y in options.ExtraYara)
                if (!File.Exists(y) && !Directory.Exists(y)) throw new UsageException($"--yara rule file or folder not found: {y}");
            if (options.Since > options.Until) throw new UsageException("--since is after --until");
            var outDir = parse.GetValue(output);
            if (parse.GetValue(timeline) && outDir is null) throw new UsageException("--timeline needs --out DIR (it is embedded in report.html)");
            return Run(parse.GetValue(path), options, fmt, outDir, parse.GetValue(noProgress), parse.GetValue(timeline),
                "exir " + string.Join(' ', parse.Tokens.Select(t => t.Value)));
        });
        return cmd;
    }

    private static int Run(string? path, ScanOptions options, string format, string? outDir, bool noProgress, bool withTimeline, string commandLine)
    {
        IEvidenceSource source;
        if (path is null)
        {
            if (!OperatingSystem.IsWindows())
                throw new UsageException("give the evidence PATH (a folder, a .zip or a file); scanning the local server needs Windows");
            source = LocalExchangeServer.Open(new WindowsServerFacts());
        }
        else source = EvidenceSource.Open(path);

        using (source)
        {
            if (outDir is not null && IsInside(Path.GetFullPath(outDir), source.Root))
                throw new UsageException($"--out {outDir} is inside the evidence; write results elsewhere (evidence is never changed)");
            var scanner = new Scanner(options);
            var progress = new ScanProgress();
            bool showProgress = !noProgress && !Console.IsErrorRedirected;
            using var cts = new CancellationTokenSource();
            Task? progressTask = null;
            if (showProgress)
            {
                ScanEngine.CountInBackground(source, progress, cts.Token);
                progressTask = ProgressDisplay.RunAsync(progress, cts.Token);
            }
            Exir.Core.Findings.ScanResult result;
            try
            {
                result = scanner.Scan(source, commandLine, progress);
            }
            finally
            {
                cts.Cancel();
                try { progressTask?.Wait(); } catch (AggregateException) { }
            }

            if (outDir is not null)
            {
                string? timelineHtml = null;
                if (withTimeline && path is not null)
                {
                    // A second pass over the same evidence; the timeline has its own readers and bounded sort.
                    var timelineResult = new TimelineBuilder(new TimelineOptions
                    {
                        Paths = [path], Since = options.Since, Until = options.Until, RulesDirectory = options.RulesDirectory,
                        Parallelism = options.Parallelism,
                    }).Run([]);
                    timelineHtml = TimelineHtml.Fragment(timelineResult);
                }
                var files = ReportBundle.Write(outDir, result, timelineHtml);
                Console.Error.WriteLine($"exir: wrote {string.Join(", ", files.Select(Path.GetFileName))} to {Path.GetFullPath(outDir)}");
            }
            var stdout = Console.OpenStandardOutput();
            switch (format)
            {
                case "json":
                    SummaryWriter.Write(stdout, result, includeFindings: true);
                    stdout.Flush();
                    Console.Error.WriteLine(ConsoleReport.VerdictLine(result));
                    break;
                case "jsonl":
                    JsonlWriter.Write(stdout, result.Findings);
                    Console.Error.WriteLine(ConsoleReport.VerdictLine(result));
                    break;
                case "csv":
                    using (var w = new StreamWriter(stdout, new System.Text.UTF8Encoding(false), leaveOpen: true)) CsvWriter.Write(w, result.Findings);
                    Console.Error.WriteLine(ConsoleReport.VerdictLine(result));
                    break;
                default:
                    ConsoleReport.Write(AnsiConsole.Console, result, outDir);
                    break;
            }
            return result.Findings.Count > 0 ? ExitCodes.Findings : ExitCodes.Clean;
        }
    }

    private static bool IsInside(string candidate, string root)
    {
        var r = Path.GetFullPath(root).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        return (candidate.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar).StartsWith(r, StringComparison.OrdinalIgnoreCase);
    }

    internal static DateTimeOffset? ParseTime(string? text, string option, bool endOfDay = false)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", out var day))
            return new DateTimeOffset(day.ToDateTime(endOfDay ? new TimeOnly(23, 59, 59, 999) : TimeOnly.MinValue), TimeSpan.Zero);
        if (DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture,
                System.Globalization.DateTimeStyles.AssumeUniversal | System.Globalization.DateTimeStyles.AdjustToUniversal, out var t))
            return t;
        throw new UsageException($"{option}: cannot read '{text}' as a UTC time (use 2021-03-02 or 2021-03-02T10:00:00Z)");
    }
}
