using System.CommandLine;
using Exir.Remediation;

namespace Exir.Cli.Commands;

/// <summary>
/// exir quarantine FINDINGS.jsonl|PATH... --store DIR --live: moves web shells and malware into a
/// quarantine store (copy, flush, verify, then delete). exir quarantine list / restore ID.
/// </summary>
public static class QuarantineCommand
{
    /// <summary>Crash-test hook: at this step of a move the process writes the marker file and stops (tests kill it there).</summary>
    public const string TestHookVariable = "EXIR_QUARANTINE_TEST_HOOK";
    public const string TestMarkerVariable = "EXIR_QUARANTINE_TEST_MARKER";
    /// <summary>Race-test hook: when set, the process waits at the step until this file exists, then goes on (the test changes the files meanwhile).</summary>
    public const string TestResumeVariable = "EXIR_QUARANTINE_TEST_RESUME";

    public static Command Create()
    {
        var inputs = new Argument<string[]>("FINDINGS|PATH") { Description = "findings.jsonl files from 'exir scan' and/or paths of files to quarantine", Arity = ArgumentArity.ZeroOrMore };
        var store = StoreOption();
        var live = new Option<bool>("--live") { Description = "Confirm this is the live server, not an evidence collection: without it nothing is moved" };
        var root = new Option<string?>("--root") { Description = "Evidence root the findings' artifact paths are relative to (the PATH given to 'exir scan'); read from summary.json beside the findings file unless given" };
        var indicators = new Option<bool>("--include-indicators") { Description = "From findings files, also take files named only by indicator findings (default: only findings that say a shell or malware is present)" };
        var caseTarget = CommonOptions.Case();
        var cmd = new Command("quarantine", VerbHelp.Of(
            "Move web shells and malware into a quarantine store, neutralised and restorable byte for byte. Without --live nothing is moved: " +
            "the files that would be are listed (a dry run).",
            "0 nothing to quarantine, 1 files quarantined (or, without --live, to quarantine), 2 could not run or a file could not be moved",
            "exir quarantine /tmp/exch01-report/findings.jsonl --store D:\\quarantine --live"))
        {
            inputs, store, live, root, indicators, caseTarget,
        };
        cmd.Subcommands.Add(ListCommand());
        cmd.Subcommands.Add(RestoreCommand());
        cmd.SetAction(parse =>
        {
            // Opened first: a case that cannot be written stops the run before any file is moved. A dry run records nothing.
            using var caseOutput = parse.GetValue(live) ? CaseOutput.Open(CommonOptions.CaseTarget(parse, caseTarget, null)) : null;
            var storeDir = parse.GetValue(store)!;
            var exit = Run(parse.GetValue(inputs) ?? [], storeDir, parse.GetValue(live), parse.GetValue(root), parse.GetValue(indicators), Console.Out, Console.Error);
            return caseOutput is null ? exit : RecordInCase(caseOutput, storeDir, CommonOptions.CommandLine(parse), exit);
        });
        return cmd;
    }

    /// <summary>The store's manifest state into the case (the quarantining machine is the server the files came from).</summary>
    private static int RecordInCase(CaseOutput caseOutput, string storeDir, string commandLine, int exit)
    {
        if (!Directory.Exists(storeDir) || !File.Exists(Path.Combine(storeDir, QuarantineStore.ManifestName))) return exit;
        try
        {
            using var q = QuarantineStore.OpenReadOnly(storeDir);
            var entries = q.List();
            var now = DateTimeOffset.UtcNow;
            var run = new Exir.Case.CaseScan
            {
                ScanId = Exir.Core.Findings.StableIds.NewScanId(), Verb = "quarantine", ToolVersion = Exir.Engine.ExirVersion.Tool, Command = commandLine,
                Input = storeDir, InputKind = "quarantine store", StartedUtc = now, FinishedUtc = now, Machine = Environment.MachineName, User = Environment.UserName, RecordedUtc = now,
            };
            caseOutput.Store.WriteQuarantine(run, Environment.MachineName, entries);
            Console.Error.WriteLine($"exir: case {T(caseOutput.Store.Description)}: {entries.Count} quarantine record(s)");
            return exit;
        }
        catch (Exception e) when (e is IOException or QuarantineException or System.Data.Common.DbException)
        {
            Console.Error.WriteLine($"exir: the case {T(caseOutput.Store.Description)} could not be written: {T(e.Message)}");
            return ExitCodes.Error;
        }
    }

    private static Option<string> StoreOption() => new("--store")
    {
        Description = "Quarantine store folder (created when missing); keep it off the web roots",
        Required = true,
    };

    private static Command ListCommand()
    {
        var store = StoreOption();
        var live = new Option<bool>("--live") { Description = "Also finish or roll back moves an interrupted run left (this deletes originals whose verified copy is in the store); without it the store is only read" };
        var cmd = new Command("list", VerbHelp.Of("List the files in a quarantine store and their state.", "0 listed, 2 could not read the store",
            "exir quarantine list --store D:\\quarantine")) { store, live };
        cmd.SetAction(parse => List(parse.GetValue(store)!, Console.Out, Console.Error, parse.GetValue(live)));
        return cmd;
    }

    private static Command RestoreCommand()
    {
        var id = new Argument<string>("ID") { Description = "Id of the quarantined item (see 'exir quarantine list')" };
        var store = StoreOption();
        var to = new Option<string?>("--to") { Description = "Restore to this path instead of the original one" };
        var cmd = new Command("restore", VerbHelp.Of("Put a quarantined file back byte for byte, with its time stamps.", "0 restored, 2 could not",
            "exir quarantine restore 20210303-0001 --store D:\\quarantine")) { id, store, to };
        cmd.SetAction(parse => Restore(parse.GetValue(id)!, parse.GetValue(store)!, parse.GetValue(to), Console.Out, Console.Error));
        return cmd;
    }

    public static int Run(IReadOnlyList<string> inputs, string storeDir, bool live, string? root, bool includeIndicators, TextWriter stdout, TextWriter stderr)
    {
        if (inputs.Count == 0) throw new UsageException("quarantine: give findings.jsonl files or paths of files to quarantine");
        var targets = new List<QuarantineTarget>();
        int problems = 0;
        foreach (var input in inputs)
        {
            if (input.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase))
            {
                if (!File.Exists(input)) throw new UsageException($"findings file not found: {input}");
                targets.AddRange(QuarantinePlan.FromFindings(input, root, includeIndicators, m => { stderr.WriteLine("exir: " + T(m)); problems++; }));
            }
            else targets.Add(new QuarantineTarget(QuarantinePlan.RealPath(input), null));
        }
        // One move per file; the manifest keeps the most severe finding that named it.
        targets = targets
            .OrderByDescending(t => Exir.Core.Findings.SeverityNames.TryParseSeverity(t.Finding?.Severity, out var sv) ? (int)sv : -1)
            .DistinctBy(t => t.Path, OperatingSystem.IsWindows() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal)
            .ToList();
        if (targets.Count == 0)
        {
            stderr.WriteLine("exir: nothing to quarantine");
            return problems > 0 ? ExitCodes.Error : ExitCodes.Clean;
        }
        if (!live)
        {
            foreach (var t in targets)
            {
                // The dry run predicts the live run: a file that is gone (already quarantined, deleted) or a link would fail there too.
                if (new FileInfo(t.Path).LinkTarget is { } link) { stderr.WriteLine($"exir: {T(t.Path)}: a link to {T(link)}; refused (quarantine the target itself)"); problems++; continue; }
                if (!File.Exists(t.Path)) { stderr.WriteLine($"exir: {T(t.Path)}: file not found (already quarantined or removed?)"); problems++; continue; }
                stdout.WriteLine($"would quarantine {T(t.Path)}" + (t.Finding is { } f ? $"  ({T(f.RuleId)})" : ""));
            }
            stderr.WriteLine("exir: dry run, nothing moved. Quarantine changes the files it is given, so exir moves them only on the live server " +
                             "with --live (never on a forensic copy or triage collection).");
            return problems > 0 ? ExitCodes.Error : ExitCodes.Findings;
        }

        QuarantineStore store;
        try { store = QuarantineStore.Open(storeDir); }
        catch (QuarantineException e) { stderr.WriteLine($"exir: {T(e.Message)}"); return ExitCodes.Error; }
        using var _ = store;
        InstallTestHook(store);
        int moved = 0;
        foreach (var t in targets)
        {
            try
            {
                var e = store.Quarantine(t.Path, t.Finding);
                stdout.WriteLine($"{T(e.Id)}\t{e.State}\t{T(e.Sha256)}\t{T(e.OriginalPath)}");
                // Stored but not removed: the original is still on the server (it changed, or a link was swapped in).
                if (e.State == QuarantineState.Removed) moved++;
                else
                {
                    stderr.WriteLine($"exir: {T(t.Path)}: {T(e.Note)}");
                    store.Warnings.RemoveAll(w => e.Note is not null && w.EndsWith(e.Note, StringComparison.Ordinal));
                    problems++;
                }
            }
            catch (Exception ex) when (ex is QuarantineException or IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"exir: {T(t.Path)}: {T(ex.Message)}");
                problems++;
            }
        }
        foreach (var w in store.Warnings.Distinct()) stderr.WriteLine($"exir: warning: {T(w)}");
        stderr.WriteLine($"exir: quarantine store: {T(store.Root)} (README.txt explains manual recovery)");
        return problems > 0 ? ExitCodes.Error : moved > 0 ? ExitCodes.Findings : ExitCodes.Clean;
    }

    /// <summary>Lists a store. Read-only unless <paramref name="live"/>: only then are interrupted moves finished (recovery changes files).</summary>
    public static int List(string storeDir, TextWriter stdout, TextWriter stderr, bool live = false)
    {
        QuarantineStore store;
        try { store = live ? QuarantineStore.Open(storeDir, create: false) : QuarantineStore.OpenReadOnly(storeDir); }
        catch (QuarantineException e) { throw new UsageException(e.Message); }
        using var _ = store;
        if (live) store.Recover();
        var entries = store.List();
        stdout.WriteLine("id\tstate\tquarantined_utc\tby\tsize\tsha256\toriginal_path\trule");
        foreach (var e in entries)
            stdout.WriteLine($"{T(e.Id)}\t{e.State}\t{e.QuarantinedUtc:yyyy-MM-ddTHH:mm:ssZ}\t{T(e.QuarantinedBy)}@{T(e.Machine)}\t{e.Size}\t{T(e.Sha256)}\t{T(e.OriginalPath)}\t{T(e.Finding?.RuleId ?? "-")}");
        foreach (var w in store.Warnings.Distinct()) stderr.WriteLine($"exir: warning: {T(w)}");
        int unfinished = entries.Count(e => e.State is QuarantineState.Pending or QuarantineState.Stored);
        if (!live && unfinished > 0)
            stderr.WriteLine($"exir: {unfinished} item(s) pending or stored (a move was interrupted, or the original was left in place); " +
                             "on the live server, 'exir quarantine list --live' finishes what can be finished");
        return ExitCodes.Clean;
    }

    public static int Restore(string id, string storeDir, string? to, TextWriter stdout, TextWriter stderr)
    {
        using var store = OpenExisting(storeDir);
        InstallTestHook(store);
        try
        {
            var e = store.Restore(id, to);
            stdout.WriteLine($"restored {T(e.Id)} to {T(to ?? e.OriginalPath)} ({e.Size} bytes, sha256 {T(e.Sha256)})");
        }
        catch (Exception ex) when (ex is QuarantineException or IOException or UnauthorizedAccessException)
        {
            foreach (var w in store.Warnings.Distinct()) stderr.WriteLine($"exir: warning: {T(w)}");
            stderr.WriteLine($"exir: {T(ex.Message)}");
            return ExitCodes.Error;
        }
        foreach (var w in store.Warnings.Distinct()) stderr.WriteLine($"exir: warning: {T(w)}");
        return ExitCodes.Clean;
    }

    // Paths, manifest fields and messages are evidence or store text: one line each (tabs escaped too, so the
    // tab-separated lines keep their columns), no raw control character on the terminal.
    private static string T(string? s) => Exir.Core.TextSafety.ForTerminal(s);

    private static QuarantineStore OpenExisting(string dir)
    {
        try { return QuarantineStore.Open(dir, create: false); }
        catch (QuarantineException e) { throw new UsageException(e.Message); }
    }

    private static void InstallTestHook(QuarantineStore store)
    {
        var step = Environment.GetEnvironmentVariable(TestHookVariable);
        if (string.IsNullOrEmpty(step)) return;
        var marker = Environment.GetEnvironmentVariable(TestMarkerVariable);
        var resume = Environment.GetEnvironmentVariable(TestResumeVariable);
        store.StepHook = s =>
        {
            if (s != step) return;
            if (marker is not null) File.WriteAllText(marker, s);
            if (string.IsNullOrEmpty(resume)) Thread.Sleep(Timeout.Infinite);
            // Bounded: a test that died must not leave exir waiting for ever.
            for (var clock = System.Diagnostics.Stopwatch.StartNew(); !File.Exists(resume) && clock.Elapsed < TimeSpan.FromMinutes(2);) Thread.Sleep(20);
        };
    }
}
