using System.CommandLine;
using Exir.Core.Evidence;
using Exir.Engine;
using Exir.Pipeline;
using Exir.Reporting.Outputs;
using Exir.Timeline;

namespace Exir.Cli.Commands;

/// <summary>
/// exir timeline PATH...: one sorted timeline of the event logs and IIS/Exchange logs of several hosts, with process
/// trees, the administrator access summary and log-tampering findings, for Timesketch, spreadsheets and a browser.
/// </summary>
public static class TimelineCommand
{
    public static Command Create()
    {
        var paths = new Argument<string[]>("PATH") { Description = "Evidence of one or more hosts: folders, .zip collections or single .evtx files", Arity = ArgumentArity.OneOrMore };
        var format = CommonOptions.Format(Verb.Timeline);
        var outDir = CommonOptions.Out("Write " + string.Join(", ", SinkRegistry.ForFolder(Verb.Timeline).Select(d => d.FileName)) + " into this folder (never inside the evidence)");
        var since = CommonOptions.Since();
        var until = CommonOptions.Until();
        var onlyHost = new Option<string[]>("--only-host") { Description = "Only these hosts (full or short name); repeatable or comma-separated", AllowMultipleArgumentsPerToken = true };
        var category = new Option<string[]>("--category") { Description = "Only rows of these categories (logon, process, powershell, exchange-cmdlet, service, task, account-change, log-tamper, web, finding, ...); repeatable", AllowMultipleArgumentsPerToken = true };
        var findings = new Option<string[]>("--findings") { Description = "findings.jsonl of exir scan to merge into the timeline; repeatable", AllowMultipleArgumentsPerToken = true };
        var rules = CommonOptions.Rules();
        var sigma = HuntCommand.Sigma();
        var threads = CommonOptions.Threads();
        var noProgress = CommonOptions.NoProgress();
        var caseTarget = CommonOptions.Case();
        var cmd = new Command("timeline", VerbHelp.Of(
            "Merge the Windows event logs and IIS/Exchange logs of several hosts into one timeline, with process trees, administrator access and log-tampering checks.",
            "0 no finding, 1 findings (hunts or tampering), 2 could not run",
            "exir timeline /cases/exch01 /cases/dc01 --out /tmp/timeline"))
        {
            paths, format, outDir, since, until, onlyHost, category, findings, rules, sigma, threads, noProgress, caseTarget,
        };
        cmd.SetAction(parse =>
        {
            var fmt = CommonOptions.FormatOf(parse, format, Verb.Timeline);
            var (s, u) = CommonOptions.Window(parse, since, until);
            var findingsFiles = parse.GetValue(findings) ?? [];
            foreach (var f in findingsFiles)
                if (!File.Exists(f)) throw new UsageException($"--findings file not found: {f}");
            var roots = parse.GetValue(paths) ?? [];
            // Checked before anything is written, so a typo leaves no empty output behind.
            foreach (var p in roots)
                if (!File.Exists(p) && !Directory.Exists(p)) throw new UsageException($"evidence path not found: {p}");
            var rulesDir = parse.GetValue(rules);
            if (rulesDir is not null && !Directory.Exists(rulesDir)) throw new UsageException($"--rules folder not found: {rulesDir}");
            var options = new TimelineOptions { Since = s, Until = u, Hosts = Split(parse.GetValue(onlyHost) ?? []), Categories = Split(parse.GetValue(category) ?? []) };
            var runOptions = new RunOptions
            {
                Since = s, Until = u, RulesDirectory = rulesDir, ExtraSigma = HuntCommand.SigmaPaths(parse, sigma), Parallelism = CommonOptions.ThreadCount(parse, threads),
            };
            using var caseOutput = CaseOutput.Open(CommonOptions.CaseTarget(parse, caseTarget, parse.GetValue(outDir)), roots, parse.GetValue(outDir));
            return Run(roots, findingsFiles, options, runOptions, fmt, parse.GetValue(outDir), parse.GetValue(noProgress), CommonOptions.CommandLine(parse), caseOutput);
        });
        return cmd;
    }

    public static int Run(IReadOnlyList<string> paths, IReadOnlyList<string> findingsFiles, TimelineOptions options, RunOptions runOptions,
        string format, string? outDir, bool noProgress, string commandLine, CaseOutput? caseOutput = null)
    {
        if (outDir is not null) OutputFolder.EnsureOutside(outDir, paths);
        using var evidence = EvidenceSet.Open(paths);
        using var run = new TimelineRun(runOptions, options);
        var progress = new PipelineProgress();
        TimelineResult result;
        using (var cts = new CancellationTokenSource())
        using (ProgressDisplay.Start(progress, "timeline", noProgress))
        {
            if (!noProgress && !Console.IsErrorRedirected) progress.CountInBackground(evidence.Sources, cts.Token);
            result = run.Run(evidence, findingsFiles, commandLine, progress);
            cts.Cancel();
        }
        using var outputs = OutputSession.Open(Verb.Timeline, format, Console.OpenStandardOutput(), outDir, withTimeline: true, m => Console.Error.WriteLine("exir: " + Exir.Core.TextSafety.ForTerminal(m)));
        caseOutput?.AddTo(outputs, "timeline", commandLine, result.Provenance?.ScanId);
        foreach (var row in run.Rows()) outputs.Row(row);
        outputs.Complete(new RunOutput { Verb = Verb.Timeline, Timeline = result, OutDirectory = outDir });
        var exit = result.Findings.Count > 0 ? ExitCodes.Findings : ExitCodes.Clean;
        return caseOutput?.Finish(exit) ?? exit;
    }

    private static List<string> Split(IReadOnlyList<string> values) =>
        values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
}
