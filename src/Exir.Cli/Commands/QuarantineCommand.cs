using System.CommandLine;
using System.Text.Json;
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

    public static Command Create()
    {
        var inputs = new Argument<string[]>("FINDINGS|PATH") { Description = "findings.jsonl files from 'exir scan' and/or paths of files to quarantine", Arity = ArgumentArity.ZeroOrMore };
        var store = StoreOption();
        var live = new Option<bool>("--live") { Description = "Confirm this is the live server, not an evidence collection: without it nothing is moved" };
        var root = new Option<string?>("--root") { Description = "Evidence root the findings' artifact paths are relative to (the PATH given to 'exir scan'); default: current folder" };
        var indicators = new Option<bool>("--include-indicators") { Description = "From findings files, also take files named only by indicator findings (default: only findings that say a shell or malware is present)" };
        var cmd = new Command("quarantine", "Move web shells and malware into a quarantine store, neutralised and restorable byte for byte")
        {
            inputs, store, live, root, indicators,
        };
        cmd.Subcommands.Add(ListCommand());
        cmd.Subcommands.Add(RestoreCommand());
        cmd.SetAction(parse => Run(parse.GetValue(inputs) ?? [], parse.GetValue(store)!, parse.GetValue(live),
            parse.GetValue(root), parse.GetValue(indicators), Console.Out, Console.Error));
        return cmd;
    }

    private static Option<string> StoreOption() => new("--store")
    {
        Description = "Quarantine store folder (created when missing); keep it off the web roots",
        Required = true,
    };

    private static Command ListCommand()
    {
        var store = StoreOption();
        var cmd = new Command("list", "List the files in a quarantine store and their state") { store };
        cmd.SetAction(parse => List(parse.GetValue(store)!, Console.Out, Console.Error));
        return cmd;
    }

    private static Command RestoreCommand()
    {
        var id = new Argument<string>("ID") { Description = "Id of the quarantined item (see 'exir quarantine list')" };
        var store = StoreOption();
        var to = new Option<string?>("--to") { Description = "Restore to this path instead of the original one" };
        var cmd = new Command("restore", "Put a quarantined file back byte for byte, with its time stamps") { id, store, to };
        cmd.SetAction(parse => Restore(parse.GetValue(id)!, parse.GetValue(store)!, parse.GetValue(to), Console.Out, Console.Error));
        return cmd;
    }

    /// <summary>One file to move and the finding that named it.</summary>
    public sealed record Target(string Path, FindingReference? Finding);

    public static int Run(IReadOnlyList<string> inputs, string storeDir, bool live, string? root, bool includeIndicators, TextWriter stdout, TextWriter stderr)
    {
        if (inputs.Count == 0) throw new UsageException("quarantine: give findings.jsonl files or paths of files to quarantine");
        var targets = new List<Target>();
        int problems = 0;
        foreach (var input in inputs)
        {
            if (IsFindingsFile(input)) problems += ReadFindings(input, root ?? Directory.GetCurrentDirectory(), includeIndicators, targets, stderr);
            else targets.Add(new Target(Path.GetFullPath(input), null));
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
            foreach (var t in targets) stdout.WriteLine($"would quarantine {t.Path}" + (t.Finding is { } f ? $"  ({f.RuleId})" : ""));
            throw new UsageException("quarantine changes the files it is given; exir treats every input as evidence and refuses. " +
                                     "Run it on the live server with --live (never on a forensic copy or triage collection).");
        }

        using var store = QuarantineStore.Open(storeDir);
        InstallTestHook(store);
        foreach (var t in targets)
        {
            try
            {
                var e = store.Quarantine(t.Path, t.Finding);
                stdout.WriteLine($"{e.Id}\t{e.State}\t{e.Sha256}\t{e.OriginalPath}");
            }
            catch (Exception ex) when (ex is QuarantineException or IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"exir: {t.Path}: {ex.Message}");
                problems++;
            }
        }
        foreach (var w in store.Warnings) stderr.WriteLine($"exir: warning: {w}");
        stderr.WriteLine($"quarantine store: {store.Root} (README.txt explains manual recovery)");
        return problems > 0 ? ExitCodes.Error : ExitCodes.Clean;
    }

    public static int List(string storeDir, TextWriter stdout, TextWriter stderr)
    {
        using var store = OpenExisting(storeDir);
        store.Recover();
        var entries = store.List();
        stdout.WriteLine("id\tstate\tquarantined_utc\tby\tsize\tsha256\toriginal_path\trule");
        foreach (var e in entries)
            stdout.WriteLine($"{e.Id}\t{e.State}\t{e.QuarantinedUtc:yyyy-MM-ddTHH:mm:ssZ}\t{e.QuarantinedBy}@{e.Machine}\t{e.Size}\t{e.Sha256}\t{e.OriginalPath}\t{e.Finding?.RuleId ?? "-"}");
        foreach (var w in store.Warnings) stderr.WriteLine($"exir: warning: {w}");
        return ExitCodes.Clean;
    }

    public static int Restore(string id, string storeDir, string? to, TextWriter stdout, TextWriter stderr)
    {
        using var store = OpenExisting(storeDir);
        try
        {
            var e = store.Restore(id, to);
            stdout.WriteLine($"restored {e.Id} to {to ?? e.OriginalPath} ({e.Size} bytes, sha256 {e.Sha256})");
        }
        catch (QuarantineException ex)
        {
            stderr.WriteLine($"exir: {ex.Message}");
            return ExitCodes.Error;
        }
        foreach (var w in store.Warnings) stderr.WriteLine($"exir: warning: {w}");
        return ExitCodes.Clean;
    }

    private static QuarantineStore OpenExisting(string dir)
    {
        try { return QuarantineStore.Open(dir, create: false); }
        catch (QuarantineException e) { throw new UsageException(e.Message); }
    }

    private static bool IsFindingsFile(string path)
    {
        if (path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    /// <summary>Takes the whole-file findings (no line number) of a findings.jsonl; log-line findings name logs, not malware.</summary>
    private static int ReadFindings(string path, string root, bool includeIndicators, List<Target> targets, TextWriter stderr)
    {
        int problems = 0, n = 0;
        foreach (var line in File.ReadLines(path))
        {
            n++;
            if (line.Trim().Length == 0) continue;
            JsonElement f;
            try { f = JsonDocument.Parse(line).RootElement; }
            catch (JsonException)
            {
                stderr.WriteLine($"exir: {path}:{n}: not a JSON finding, skipped");
                problems++;
                continue;
            }
            string Str(string name) => f.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
            if (f.TryGetProperty("line", out var ln) && ln.ValueKind == JsonValueKind.Number) continue;
            var outcome = Str("outcome");
            if (outcome != "success" && !includeIndicators) continue;
            var artifact = Str("artifact");
            if (artifact.Length == 0) continue;
            if (artifact.Contains("!/", StringComparison.Ordinal))
            {
                stderr.WriteLine($"exir: {artifact}: inside an archive; quarantine takes files on the live file system");
                problems++;
                continue;
            }
            var full = Path.GetFullPath(Path.Combine(root, artifact.Replace('/', Path.DirectorySeparatorChar)));
            targets.Add(new Target(full, new FindingReference
            {
                RuleId = Str("rule_id"), Title = Str("title"), Severity = Str("severity"), Artifact = artifact, Evidence = Str("evidence"),
            }));
        }
        return problems;
    }

    private static void InstallTestHook(QuarantineStore store)
    {
        var step = Environment.GetEnvironmentVariable(TestHookVariable);
        if (string.IsNullOrEmpty(step)) return;
        var marker = Environment.GetEnvironmentVariable(TestMarkerVariable);
        store.StepHook = s =>
        {
            if (s != step) return;
            if (marker is not null) File.WriteAllText(marker, s);
            Thread.Sleep(Timeout.Infinite);
        };
    }
}
