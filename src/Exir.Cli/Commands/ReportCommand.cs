using System.CommandLine;
using Exir.Case;
using Exir.Case.Store;
using Exir.Engine;
using Exir.Reporting.CaseReport;
using Exir.Reporting.Outputs;

namespace Exir.Cli.Commands;

/// <summary>
/// exir report: the case (every host, scan, finding, checklist and deadline) as a page for management and authorities
/// in English or German, or its indicators as STIX 2.1, or its findings and timeline as ECS NDJSON.
/// </summary>
public static class ReportCommand
{
    private const string Codes = "0 report written, the case holds no finding and no missed duty; 1 report written, the case holds findings or a missed duty; 2 could not (no case, unwritable output, broken playbook or texts)";

    public static Command Create()
    {
        var target = new Option<string>("--case")
        {
            Description = "The case: a file (SQLite; usually exir-case.db) or postgresql://user@host:port/db",
            DefaultValueFactory = _ => CaseStores.DefaultFileName,
        };
        var lang = new Option<string?>("--lang") { Description = "Language of the report: en or de (default: the case's language setting, else en)" };
        var format = new Option<string>("--format", "-f")
        {
            Description = "What to write: " + string.Join(", ", SinkRegistry.FormatNames(Verb.Report)),
            DefaultValueFactory = _ => "html",
        };
        var output = new Option<string?>("--out", "-o")
        {
            Description = "A file (report.html, indicators.stix.json, case.ecs.ndjson, case.timesketch.jsonl: the --format is taken from the name), or a folder that gets them all; stdout when not given",
        };
        var rules = CommonOptions.Rules();
        var knowledge = CommonOptions.Knowledge();
        var cmd = new Command("report", VerbHelp.Of(
            "The case report: a verdict per server in plain words, what to do now, findings with evidence, incidents across servers, " +
            "a timeline with an activity plot, administrator access, patch status, coverage and its limits, the checklist with the " +
            "GDPR 72-hour deadline and the other duties, and an appendix of versions and evidence hashes. One self-contained HTML " +
            "page (no scripts, no external resources) that prints cleanly to PDF; --format stix, ecs or timesketch for the exports.",
            Codes,
            "exir report --case exir-case.db --lang de --out report.html"))
        { target, lang, format, output, rules, knowledge };
        cmd.SetAction(parse =>
        {
            var outPath = parse.GetValue(output);
            var sink = SinkFor(outPath, parse.GetValue(format) ?? "html", parse.GetResult(format) is { Implicit: false });
            if (parse.GetValue(rules) is { } r && !Directory.Exists(r)) throw new UsageException($"--rules folder not found: {r}");
            var playbook = CaseChecklist.LoadPlaybook(parse.GetValue(knowledge));
            var caseTarget = parse.GetValue(target)!;
            if (!CaseStores.IsPostgresUrl(caseTarget) && !File.Exists(caseTarget))
                throw new UsageException($"no case at {caseTarget} (scan with --case {caseTarget}, or 'exir case import DIR --case {caseTarget}')");
            using var store = CaseStores.Open(caseTarget);
            // The page shows a bounded sample per rule; the exports carry more (the finding files of each scan carry all).
            var snap = store.Read(sink?.Name is "stix" or "ecs" or "timesketch" || (outPath is not null && sink is null)
                ? new CaseReadOptions { MaxFindingsPerRule = 5000, MaxTimelineRows = 100_000 }
                : new CaseReadOptions());
            var language = CaseChecklist.Language(playbook, parse.GetValue(lang), snap.Settings);
            var checklist = CaseChecklist.Build(playbook, snap, language);
            var run = new RunOutput
            {
                Verb = Verb.Report,
                Case = new CaseReportInput(snap, checklist, language, new ReportOptions { ToolVersion = ExirVersion.Tool, RulesDirectory = parse.GetValue(rules), NowUtc = checklist.NowUtc }),
            };
            void Log(string m) => Console.Error.WriteLine("exir: " + Exir.Core.TextSafety.ForTerminal(m));
            if (outPath is not null && sink is not null)
            {
                var dir = Path.GetDirectoryName(Path.GetFullPath(outPath))!;
                Directory.CreateDirectory(dir);
                using (var s = sink.Create(new SinkTarget(new FileStream(outPath, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16), IsConsole: false)))
                    s.Complete(run);
                Log($"wrote {Path.GetFullPath(outPath)} ({language}, {snap.Hosts.Count} host(s), {snap.TotalFindings} finding(s))");
            }
            else
            {
                using var outputs = OutputSession.Open(Verb.Report, outPath is null ? sink!.Name : null, outPath is null ? Console.OpenStandardOutput() : null, outPath, withTimeline: false, Log);
                outputs.Complete(run);
            }
            return snap.TotalFindings > 0 || checklist.Items.Any(i => i.Missed) ? ExitCodes.Findings : ExitCodes.Clean;
        });
        return cmd;
    }

    /// <summary>The sink to write: from --out's file name when it names one, else --format; null for --out FOLDER (all of them).</summary>
    private static SinkDescriptor? SinkFor(string? outPath, string format, bool formatGiven)
    {
        var byFormat = SinkRegistry.ForStdout(Verb.Report, format.Trim())
                       ?? throw new UsageException($"unknown --format '{format}' (use {string.Join(", ", SinkRegistry.FormatNames(Verb.Report))})");
        if (outPath is null) return byFormat;
        if (Directory.Exists(outPath) || outPath.EndsWith('/') || outPath.EndsWith('\\')) return null;
        var ext = Path.GetExtension(outPath).ToLowerInvariant();
        if (ext.Length == 0) return null; // no extension: a folder to make
        var byName = SinkRegistry.ForFolder(Verb.Report).FirstOrDefault(d => Path.GetExtension(d.FileName!) == (ext == ".htm" ? ".html" : ext))
                     ?? throw new UsageException($"--out {outPath}: name a .html, .json (STIX), .ndjson (ECS) or .jsonl (Timesketch) file, or a folder");
        if (formatGiven && byName.Name != byFormat.Name)
            throw new UsageException($"--out {outPath} names a {byName.Name} file but --format is {byFormat.Name}");
        return byName;
    }
}
