using System.CommandLine;
using Exir.Core.Evidence;
using Exir.Engine;
using Exir.Pipeline;
using Exir.Reporting.Outputs;

namespace Exir.Cli.Commands;

/// <summary>exir hunt PATH...: Sigma rules (the built-in pack and the user's) over event logs and web logs, several hosts at once.</summary>
public static class HuntCommand
{
    public const string ExitCodeText = "0 no rule fired, 1 hits, 2 could not run (no evidence, a --sigma path missing, no rule loaded)";

    public static Command Create()
    {
        var paths = new Argument<string[]>("PATH")
        {
            Description = "Evidence, one root per host: folders or .zip collections with EVTX files and IIS/Exchange logs, or single files",
            Arity = ArgumentArity.OneOrMore,
        };
        var sigma = Sigma();
        var noBuiltIn = new Option<bool>("--no-builtin") { Description = "Only the --sigma rules, not exir's own pack (rules/sigma/)" };
        var minLevel = new Option<string?>("--min-level") { Description = "Only rules of this level or above: informational, low, medium, high, critical" };
        var format = CommonOptions.Format(Verb.Hunt);
        var output = CommonOptions.Out("Write " + string.Join(", ", SinkRegistry.ForFolder(Verb.Hunt).Select(d => d.FileName)) + " into this folder (never inside the evidence)");
        var since = CommonOptions.Since();
        var until = CommonOptions.Until();
        var rules = CommonOptions.Rules();
        var threads = CommonOptions.Threads();
        var noProgress = CommonOptions.NoProgress();
        var caseTarget = CommonOptions.Case();
        var cmd = new Command("hunt", VerbHelp.Of(
            "Hunt event logs (EVTX) and IIS/Exchange logs with Sigma rules: exir's own pack for Exchange exploitation and post-exploitation, " +
            "plus your rules and the CERT's (--sigma, SigmaHQ format, correlations included). Hits are findings like scan's, with the rule's author and licence.",
            ExitCodeText,
            "exir hunt /cases/exch01 /cases/dc01 --sigma sigma/rules/windows --min-level high"))
        {
            paths, sigma, noBuiltIn, minLevel, format, output, since, until, rules, threads, noProgress, caseTarget,
        };
        cmd.SetAction(parse =>
        {
            var fmt = CommonOptions.FormatOf(parse, format, Verb.Hunt);
            var (s, u) = CommonOptions.Window(parse, since, until);
            var roots = parse.GetValue(paths) ?? [];
            var options = new RunOptions
            {
                Since = s, Until = u,
                RulesDirectory = parse.GetValue(rules),
                ExtraSigma = SigmaPaths(parse, sigma),
                SigmaMinLevel = parse.GetValue(minLevel),
                SigmaBuiltIn = !parse.GetValue(noBuiltIn),
                SigmaBuiltInWeb = true,
                Parallelism = CommonOptions.ThreadCount(parse, threads),
            };
            if (!options.SigmaBuiltIn && options.ExtraSigma.Count == 0) throw new UsageException("--no-builtin needs --sigma DIR|FILE (else there is no rule to run)");
            if (options.RulesDirectory is { } r && !Directory.Exists(r)) throw new UsageException($"--rules folder not found: {r}");
            using var caseOutput = CaseOutput.Open(CommonOptions.CaseTarget(parse, caseTarget, parse.GetValue(output)), roots, parse.GetValue(output));
            return Run(roots, options, fmt, parse.GetValue(output), parse.GetValue(noProgress), CommonOptions.CommandLine(parse), caseOutput);
        });
        return cmd;
    }

    /// <summary>--sigma DIR|FILE, repeatable: for hunt, scan and timeline alike.</summary>
    public static Option<string[]> Sigma() => new("--sigma")
    {
        Description = "Sigma rule file or folder (repeatable), e.g. sigma/rules/windows; added to exir's own pack",
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>The --sigma paths, each checked to exist.</summary>
    public static IReadOnlyList<string> SigmaPaths(ParseResult parse, Option<string[]> sigma)
    {
        var list = parse.GetValue(sigma) ?? [];
        foreach (var p in list)
            if (!File.Exists(p) && !Directory.Exists(p)) throw new UsageException($"--sigma rule file or folder not found: {p}");
        return list;
    }

    private static int Run(string[] paths, RunOptions options, string format, string? outDir, bool noProgress, string commandLine, CaseOutput? caseOutput)
    {
        using var evidence = EvidenceSet.Open(paths);
        if (outDir is not null) OutputFolder.EnsureOutside(outDir, evidence.Inputs.SelectMany(i => i.Source.Root.Split(';')));
        using var run = new ScanRun(options, sigmaOnly: true);
        var sigma = run.Sigma;
        var report = sigma.RuleSet.Report;
        Console.Error.WriteLine("exir: " + Exir.Core.TextSafety.ForTerminal(sigma.Summary()));
        if (report.Loaded + report.CorrelationsLoaded == 0)
        {
            foreach (var f in report.Failed.Take(20)) Console.Error.WriteLine("exir:   " + Exir.Core.TextSafety.ForTerminal(f.ToString()));
            Console.Error.WriteLine("exir: no Sigma rule loaded: nothing to hunt with");
            return ExitCodes.Error;
        }
        var progress = new PipelineProgress();
        Exir.Core.Findings.ScanResult result;
        using (var cts = new CancellationTokenSource())
        using (ProgressDisplay.Start(progress, "hunting", noProgress))
        {
            if (!noProgress && !Console.IsErrorRedirected) progress.CountInBackground(evidence.Sources, cts.Token);
            result = run.Scan(evidence, commandLine, progress);
            cts.Cancel();
        }
        var hunt = new HuntSummary(sigma.Summary(), report.Loaded, report.CorrelationsLoaded, report.LoadedShare,
            report.Failed.Select(f => f.ToString()).ToList(),
            report.SourceSkips.Select(k => $"{k.Rule.Title} ({k.Rule.Id}) for {(k.Source.Length > 0 ? k.Source : "every source")}: {k.Reason}").ToList());
        using var outputs = OutputSession.Open(Verb.Hunt, format, Console.OpenStandardOutput(), outDir, false, m => Console.Error.WriteLine("exir: " + Exir.Core.TextSafety.ForTerminal(m)));
        caseOutput?.AddTo(outputs, "hunt", commandLine, result.Provenance.ScanId);
        outputs.Complete(new RunOutput { Verb = Verb.Hunt, Scan = result, Hunt = hunt, OutDirectory = outDir });
        var exit = result.Findings.Count > 0 ? ExitCodes.Findings : ExitCodes.Clean;
        return caseOutput?.Finish(exit) ?? exit;
    }
}
