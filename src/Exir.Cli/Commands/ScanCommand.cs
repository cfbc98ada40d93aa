using System.CommandLine;
using Exir.Core.Evidence;
using Exir.Detection.LocalServer;
using Exir.Engine;
using Exir.Pipeline;
using Exir.Reporting.Outputs;
using Exir.Reporting.Scan;
using Exir.Timeline;

namespace Exir.Cli.Commands;

/// <summary>exir scan PATH...: the compromise hunt over one or more servers' evidence, with a verdict per host.</summary>
public static class ScanCommand
{
    public static Command Create()
    {
        var paths = new Argument<string[]>("PATH")
        {
            Description = "Evidence, one root per server: a mounted system drive, an Exchange install folder, a triage collection, a .zip of any of these, " +
                          "or one file. Omit on a Windows Exchange server to scan the local server.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var format = CommonOptions.Format(Verb.Scan);
        var output = CommonOptions.Out("Write " + string.Join(", ", SinkRegistry.ForFolder(Verb.Scan).Select(d => d.FileName)) + " into this folder (never inside the evidence)");
        var since = CommonOptions.Since();
        var until = CommonOptions.Until();
        var deep = new Option<bool>("--deep") { Description = "Run the file rules over every file of the drive, not only web and staging folders" };
        var hashAll = new Option<bool>("--hash-all") { Description = "Record the SHA-256 of every file read (files with findings are always hashed)" };
        var rules = CommonOptions.Rules();
        var knowledge = CommonOptions.Knowledge();
        var yara = new Option<string[]>("--yara") { Description = "Extra YARA rule file or folder (repeatable), e.g. signature-base/yara", AllowMultipleArgumentsPerToken = false };
        var sigma = HuntCommand.Sigma();
        var baseline = new Option<string?>("--baseline") { Description = "Baseline from 'exir baseline create' of a clean server of the same build: report added and changed web files" };
        var host = new Option<string?>("--host") { Description = "Host name to record in findings (one PATH only; otherwise read from the evidence)" };
        var maxFile = new Option<long>("--max-file-mb") { Description = "Bytes read per file by content rules, in MiB", DefaultValueFactory = _ => 256 };
        var threads = CommonOptions.Threads();
        var noProgress = CommonOptions.NoProgress();
        var caseTarget = CommonOptions.Case();
        var timeline = new Option<bool>("--timeline") { Description = "Also build the forensic timeline in the same pass: with --out, " + TimelineFiles() + ", and its plot and highlights in report.html" };

        var cmd = new Command("scan", VerbHelp.Of(
            "Hunt for signs of compromise (ProxyLogon, ProxyShell, ProxyNotShell, OWASSRF, web shells, LSASS dumps, staged archives, log tampering) " +
            "over the evidence of one or more Exchange servers, with a verdict per server. Evidence is opened read-only.",
            "0 nothing found, 1 findings, 2 could not run",
            "exir scan /mnt/exch01 --out /tmp/exch01-report"))
        {
            paths, format, output, since, until, deep, hashAll, rules, knowledge, yara, sigma, baseline, host, maxFile, threads, noProgress, timeline, caseTarget,
        };
        cmd.SetAction(parse =>
        {
            var fmt = CommonOptions.FormatOf(parse, format, Verb.Scan);
            var (s, u) = CommonOptions.Window(parse, since, until);
            var roots = parse.GetValue(paths) ?? [];
            var options = new RunOptions
            {
                Since = s, Until = u,
                Deep = parse.GetValue(deep),
                HashAll = parse.GetValue(hashAll),
                RulesDirectory = parse.GetValue(rules),
                KnowledgeDirectory = parse.GetValue(knowledge),
                ExtraYara = parse.GetValue(yara) ?? [],
                ExtraSigma = HuntCommand.SigmaPaths(parse, sigma),
                BaselinePath = parse.GetValue(baseline),
                Host = parse.GetValue(host),
                MaxBytesPerFile = Math.Max(1, parse.GetValue(maxFile)) << 20,
                Parallelism = CommonOptions.ThreadCount(parse, threads),
            };
            if (parse.GetValue(timeline) && parse.GetValue(output) is null) throw new UsageException("--timeline needs --out DIR (the timeline's files go there, and into report.html)");
            if (options.Host is not null && roots.Length > 1) throw new UsageException("--host names the host of one PATH; with several, each host's name is read from its evidence");
            if (options.BaselinePath is { } b && !File.Exists(b)) throw new UsageException($"--baseline file not found: {b}");
            if (options.RulesDirectory is { } r && !Directory.Exists(r)) throw new UsageException($"--rules folder not found: {r}");
            if (options.KnowledgeDirectory is { } k && !Directory.Exists(k)) throw new UsageException($"--knowledge folder not found: {k}");
            foreach (var y in options.ExtraYara)
                if (!File.Exists(y) && !Directory.Exists(y)) throw new UsageException($"--yara rule file or folder not found: {y}");
            using var caseOutput = CaseOutput.Open(CommonOptions.CaseTarget(parse, caseTarget, parse.GetValue(output)), roots, parse.GetValue(output));
            return Run(roots, options, fmt, parse.GetValue(output), parse.GetValue(noProgress), parse.GetValue(timeline), CommonOptions.CommandLine(parse), caseOutput);
        });
        return cmd;
    }

    private static int Run(string[] paths, RunOptions options, string format, string? outDir, bool noProgress, bool withTimeline, string commandLine, CaseOutput? caseOutput = null)
    {
        using var evidence = OpenEvidence(paths);
        if (outDir is not null) OutputFolder.EnsureOutside(outDir, evidence.Inputs.SelectMany(i => i.Source.Root.Split(';')));
        using var run = new ScanRun(options, withTimeline ? new TimelineOptions { Since = options.Since, Until = options.Until } : null);
        var progress = new PipelineProgress();
        Exir.Core.Findings.ScanResult result;
        using (var cts = new CancellationTokenSource())
        using (ProgressDisplay.Start(progress, "scanning", noProgress))
        {
            if (!noProgress && !Console.IsErrorRedirected) progress.CountInBackground(evidence.Sources, cts.Token);
            result = run.Scan(evidence, commandLine, progress);
            cts.Cancel();
        }

        using var outputs = OutputSession.Open(Verb.Scan, format, Console.OpenStandardOutput(), outDir, run.Timeline is not null, m => Console.Error.WriteLine("exir: " + Exir.Core.TextSafety.ForTerminal(m)));
        caseOutput?.AddTo(outputs, "scan", commandLine, result.Provenance.ScanId);
        if (run.Timeline is not null)
            foreach (var row in run.Timeline.Rows()) outputs.Row(row);
        outputs.Complete(new RunOutput { Verb = Verb.Scan, Scan = result, Timeline = run.TimelineResult, OutDirectory = outDir });
        StartupTrace.Mark("scan: outputs written");
        // Machine-readable stdout: the verdict still reaches the person, on stderr.
        if (format != "table") Console.Error.WriteLine(ConsoleReport.VerdictLine(result));
        var exit = result.Findings.Count > 0 ? ExitCodes.Findings : ExitCodes.Clean;
        return caseOutput?.Finish(exit) ?? exit;
    }

    private static EvidenceSet OpenEvidence(string[] paths)
    {
        if (paths.Length > 0) return EvidenceSet.Open(paths);
        if (!OperatingSystem.IsWindows())
            throw new UsageException("give the evidence PATH (a folder, a .zip or a file); scanning the local server needs Windows");
        return EvidenceSet.Of(new EvidenceInput(LocalExchangeServer.Open(new WindowsServerFacts()), Environment.MachineName));
    }

    // Named from the output registry, so the help lists exactly the files the run writes.
    private static string TimelineFiles() => string.Join(", ", SinkRegistry.ForFolder(Verb.Scan, withTimeline: true)
        .Select(d => d.FileName!).Except(SinkRegistry.ForFolder(Verb.Scan).Select(d => d.FileName!)));
}
